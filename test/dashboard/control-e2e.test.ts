/**
 * Talking back to a device from the dashboard: a real MQTT device (that never subscribes, as Kaa's
 * Python client) answers every 11/CEP command and applies every 7/CMP configuration pushed to it;
 * headless Chromium sends a command from the endpoint page and sees its result, edits and saves a
 * configuration and sees it applied (and a concurrent change refused with 412), then sends a batch
 * command and sets a configuration from the Endpoint List and follows the batch's progress.
 */
import assert from 'node:assert/strict';
import { after, before, test } from '../helpers/test.js';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { DashboardHarness, shootBothWidths } from './harness.js';
import { unnamedControls } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

const APP = 'demo_application';
const VERSION = 'demo_application_v1';

let harness: DashboardHarness;
const devices: MqttClient[] = [];

before(async () => {
  harness = await DashboardHarness.start();
});

after(async () => {
  for (const device of devices) await device.endAsync(true).catch(() => {});
  await harness?.close();
});

interface Seen {
  commands: Array<{ type: string; id: number; payload: unknown }>;
  configs: Array<{ name: string; configId: string; config: unknown }>;
}

/**
 * A device on `token` that answers what the server pushes: each command with status 200 and its
 * payload echoed, each configuration with "applied". It never subscribes: pushes reach it because
 * its first request showed the server its token on this session.
 */
async function connectDevice(token: string, version = VERSION): Promise<{ client: MqttClient; seen: Seen }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${harness.tether.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  const seen: Seen = { commands: [], configs: [] };
  devices.push(client);
  const base = `kp1/${version}`;
  client.on('message', (topic, payload) => {
    const command = /^kp1\/[^/]+\/cex\/[^/]+\/command\/([^/]+)\/status$/.exec(topic);
    if (command) {
      const type = command[1]!;
      const list = JSON.parse(payload.toString()) as Array<{ id: number; payload: unknown }>;
      for (const c of list) seen.commands.push({ type, ...c });
      const results = list.map((c) => ({ id: c.id, statusCode: 200, payload: { echo: c.payload } }));
      void client.publishAsync(`${base}/cex/${token}/result/${type}`, JSON.stringify(results), { qos: 1 });
      return;
    }
    const config = /^kp1\/[^/]+\/cmx\/[^/]+\/config\/json(?:\/([^/]+))?\/status$/.exec(topic);
    if (config) {
      const name = config[1] ?? '';
      const body = JSON.parse(payload.toString()) as { configId?: string; config?: unknown };
      if (!body.configId) return;
      seen.configs.push({ name, configId: body.configId, config: body.config });
      void client.publishAsync(`${base}/cmx/${token}/applied/json${name ? `/${name}` : ''}`, JSON.stringify({ configId: body.configId }), { qos: 1 });
    }
  });
  // 10/EPMP metadata, QoS 1: after the PUBACK the server knows this session speaks for the endpoint.
  await client.publishAsync(`${base}/epmx/${token}/update/keys`, JSON.stringify({ model: 'Echo device' }), { qos: 1 });
  return { client, seen };
}

const endpointUrl = (id: string) => `${harness.base}/endpoints/${encodeURIComponent(id)}?app=${APP}`;
const statusOf = (page: Page, configId: string) => page.getByTestId('configuration-statuses').locator(`tr[data-config-id="${configId}"] .status`);

const shoot = (page: Page, name: string) => shootBothWidths(page, name);

test('the endpoint page sends a command and sees its result; a saved configuration is applied by the device', async () => {
  const { configurations } = harness.tether.control;
  // A version default, which the device gets on connecting and the page shows as effective.
  const versionDefault = await configurations.put({ endpointId: '', appVersionName: VERSION, name: '' }, { interval: 60, unit: 's' });
  const { endpoint, token } = await harness.tether.services.registry.createEndpoint({ appVersionName: VERSION, metadata: { model: 'Echo device' } });
  const id = endpoint.endpointId;
  const { seen } = await connectDevice(token);
  await waitFor('the version default to reach the device', () => seen.configs.some((c) => c.configId === versionDefault.configId), 10_000);

  const { page, problems } = await harness.openPage();
  await harness.signIn(page, { url: endpointUrl(id) });
  await page.getByTestId('endpoint-id').filter({ hasText: id }).waitFor();

  // --- a command, answered within the wait -------------------------------------------------------
  const commands = page.getByTestId('commands-section');
  await commands.getByLabel('Command type').fill('reboot');
  await commands.getByLabel('Payload (JSON)').fill('{"delay": 3}');
  await commands.getByLabel(/Wait for the result/).fill('10');
  await commands.getByRole('button', { name: 'Send command' }).click();
  const result = page.getByTestId('command-result');
  await waitFor('the command result', async () => /executed/.test((await result.textContent()) ?? ''), 10_000);
  assert.equal(await page.getByTestId('command-status-code').textContent(), '200');
  assert.deepEqual(JSON.parse((await page.getByTestId('command-response').textContent()) ?? ''), { echo: { delay: 3 } });
  assert.deepEqual(seen.commands.map((c) => [c.type, c.payload]), [['reboot', { delay: 3 }]]);
  const row = page.getByTestId('commands-table').locator(`tr[data-command-id="${seen.commands[0]!.id}"]`);
  await waitFor('the command listed as executed', async () => (await row.locator('.status').textContent()) === 'EXECUTED', 10_000);
  assert.match((await row.textContent()) ?? '', /\{"echo":\{"delay":3\}\}/);

  // A text payload, and no wait: 202 pending, then the device's result arrives live.
  await commands.getByLabel('Command type').fill('say');
  await commands.getByLabel('Payload is text').check();
  await commands.getByLabel('Payload (text)').fill('hello');
  await commands.getByLabel(/Wait for the result/).fill('0');
  await commands.getByRole('button', { name: 'Send command' }).click();
  await waitFor('the say command to reach the device', () => seen.commands.some((c) => c.type === 'say'), 10_000);
  const say = seen.commands.find((c) => c.type === 'say')!;
  assert.equal(say.payload, 'hello');
  await waitFor('the pending command to finish live', async () => (await page.getByTestId('commands-table').locator(`tr[data-command-id="${say.id}"] .status`).textContent()) === 'EXECUTED', 10_000);
  await waitFor('the result panel to follow it', async () => /executed/.test((await result.textContent()) ?? ''), 10_000);

  // --- configuration: the version default is effective; edit, save, applied ------------------------
  const section = page.getByTestId('configuration-section');
  await section.getByTestId('configuration-effective').waitFor();
  assert.deepEqual(JSON.parse((await section.getByTestId('configuration-effective').locator('pre').textContent()) ?? ''), { interval: 60, unit: 's' });
  await waitFor('the default applied in the history', async () => (await statusOf(page, versionDefault.configId).textContent()) === 'APPLIED', 10_000);
  const editor = section.getByLabel(/configuration of its own \(JSON\)/);
  assert.deepEqual(JSON.parse(await editor.inputValue()), { interval: 60, unit: 's' });

  // Broken JSON says where, and cannot be saved.
  await editor.fill('{"interval": 10,}');
  assert.match((await section.getByRole('alert').first().textContent()) ?? '', /Not valid JSON/);
  assert.equal(await section.getByRole('button', { name: 'Save configuration' }).isDisabled(), true);

  await editor.fill('{"interval": 10, "unit": "s"}');
  await section.getByRole('button', { name: 'Save configuration' }).click();
  await waitFor('saved', async () => /Saved/.test((await section.getByRole('status').first().textContent()) ?? ''), 10_000);
  const own = await configurations.get({ endpointId: id, appVersionName: VERSION, name: '' });
  assert.deepEqual(own.config, { interval: 10, unit: 's' });
  await waitFor('the device to get the new configuration', () => seen.configs.some((c) => c.configId === own.configId), 10_000);
  await waitFor('the new configuration APPLIED', async () => (await statusOf(page, own.configId).textContent()) === 'APPLIED', 10_000);
  await section.getByTestId('configuration-effective').waitFor({ state: 'detached' });
  await shoot(page, 'control-endpoint');

  // Someone else changes it meanwhile: the page's save is refused (412) and offers a reload.
  const theirs = await configurations.put({ endpointId: id, appVersionName: VERSION, name: '' }, { interval: 30, unit: 's' });
  const ownEditor = section.getByLabel('Default configuration (JSON)');
  await ownEditor.fill('{"interval": 5, "unit": "s"}');
  await section.getByRole('button', { name: 'Save configuration' }).click();
  await section.getByTestId('configuration-conflict').waitFor();
  assert.deepEqual((await configurations.get({ endpointId: id, appVersionName: VERSION, name: '' })).config, { interval: 30, unit: 's' });
  await section.getByRole('button', { name: 'Reload configuration' }).click();
  await waitFor('their configuration in the editor', async () => JSON.stringify(JSON.parse(await ownEditor.inputValue())) === JSON.stringify({ interval: 30, unit: 's' }), 10_000);
  await waitFor('theirs APPLIED too', async () => (await statusOf(page, theirs.configId).textContent()) === 'APPLIED', 10_000);

  // A named configuration, added on the page.
  await section.getByLabel('New named configuration').fill('network');
  await section.getByRole('button', { name: 'Add', exact: true }).click();
  await section.getByRole('button', { name: 'network', exact: true }).waitFor();
  await section.getByLabel(/New network configuration of its own/).fill('{"ssid": "lab"}');
  await section.getByRole('button', { name: 'Save configuration' }).click();
  const network = await (async () => {
    let found;
    await waitFor('the named configuration stored', async () => (found = await configurations.get({ endpointId: id, appVersionName: VERSION, name: 'network' }).catch(() => undefined)) !== undefined, 10_000);
    return found!;
  })();
  await waitFor('the named configuration APPLIED', async () => (await statusOf(page, network.configId).textContent()) === 'APPLIED', 10_000);
  assert.ok(seen.configs.some((c) => c.name === 'network' && c.configId === network.configId));

  // Remove it: nothing of its own and no default by that name.
  await section.getByRole('button', { name: 'Remove…' }).click();
  await page.getByRole('dialog', { name: 'Remove this configuration?' }).getByRole('button', { name: 'Remove configuration' }).click();
  await waitFor('removed', async () => /neither its own nor a version default/.test((await section.getByTestId('configuration-summary').textContent()) ?? ''), 10_000);
  await assert.rejects(configurations.get({ endpointId: id, appVersionName: VERSION, name: 'network' }), { code: 'CONFIGURATION_NOT_FOUND' });

  // The browser logs the one refused request this test provoked (the 412); nothing else may appear.
  const provoked = /^console: Failed to load resource: the server responded with a status of 412/;
  assert.equal(problems.filter((p) => provoked.test(p)).length, 1);
  assert.deepEqual(problems.filter((p) => !provoked.test(p)), []);
  await page.context().close();
});

test('the Endpoint List sends a batch command and sets a configuration; the batch progress follows the device', async () => {
  // An application of its own, so that the other test's endpoints do not count here.
  const app = 'fleet_app';
  const version = 'fleet_app_v1';
  await harness.tether.services.applications.createApplication({ name: app });
  await harness.tether.services.applications.createVersion({ applicationName: app, name: version, extensions: ['epmx', 'cmx', 'cex'] });
  const { endpoint, token } = await harness.tether.services.registry.createEndpoint({ appVersionName: version, metadata: { model: 'Fleet device' } });
  const id = endpoint.endpointId;
  await connectDevice(token, version);

  const { page, problems } = await harness.openPage();
  await harness.signIn(page, { url: `${harness.base}/?app=${app}` });
  await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();

  // Selected by hand: by-endpoints.
  await page.getByRole('checkbox', { name: `Select ${id}` }).check();
  await page.getByRole('button', { name: 'Send command…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send a command to the selected endpoints' });
  assert.deepEqual(await unnamedControls(page), []);
  await dialog.getByLabel('Command type').fill('ping');
  await dialog.getByLabel('Payload (JSON)').fill('{"n": 1}');
  await dialog.getByRole('button', { name: 'Send to 1 endpoint' }).click();
  const progress = page.getByTestId('batch-progress');
  await waitFor('the batch executed', async () => (await progress.getByTestId('batch-executed').textContent()) === 'Executed: 1', 10_000);
  assert.equal(await progress.getByTestId('batch-pending').textContent(), 'Pending: 0');
  assert.match((await progress.textContent()) ?? '', /finished/);
  await progress.getByRole('button', { name: 'Dismiss' }).click();

  // Set configuration…: a named one for the selected endpoint.
  await page.getByRole('checkbox', { name: `Select ${id}` }).check();
  await page.getByRole('button', { name: 'Set configuration…' }).click();
  const configDialog = page.getByRole('dialog', { name: 'Set a configuration on the selected endpoints' });
  await configDialog.getByLabel(/Configuration name/).fill('firmware');
  await configDialog.getByLabel('Configuration (JSON)').fill('{"channel": "beta"}');
  await configDialog.getByRole('button', { name: 'Set on 1 endpoint' }).click();
  await waitFor('the batch configuration result', async () => /Set the "firmware" configuration of 1 endpoint/.test((await page.getByTestId('bulk-result').textContent()) ?? ''), 10_000);
  const firmware = await harness.tether.control.configurations.get({ endpointId: id, appVersionName: version, name: 'firmware' });
  assert.deepEqual(firmware.config, { channel: 'beta' });
  await waitFor('the device to apply it', async () => (await harness.tether.control.configurations.statuses({ endpointId: id, configId: firmware.configId, offset: 0, limit: 1 })).content[0]?.status === 'APPLIED', 10_000);

  // All matching (more than a page): by-query, one task; the offline endpoints stay pending.
  for (let i = 0; i < 10; i++) await harness.tether.services.registry.createEndpoint({ appVersionName: version, metadata: { model: `Offline ${i}` } });
  // The list reloads itself after the new endpoints' live events; then a page of 10.
  await waitFor('all 11 endpoints on one page', async () => /^1–11 of 11$/.test((await page.locator('.pager [role="status"]').textContent()) ?? ''), 10_000);
  await page.getByLabel('Rows per page').selectOption('10');
  await waitFor('a first page of 10 out of 11 endpoints', async () => /^1–10 of 11$/.test((await page.locator('.pager [role="status"]').textContent()) ?? ''), 10_000);
  await page.getByRole('checkbox', { name: 'Select all endpoints on this page' }).check();
  await page.getByRole('button', { name: 'Select all 11 matching endpoints' }).click();
  await waitFor('11 selected', async () => (await page.getByTestId('bulk-count').textContent()) === '11 endpoints selected', 10_000);
  await page.getByRole('button', { name: 'Send command…' }).click();
  assert.match((await dialog.textContent()) ?? '', /Every endpoint the list's search and filters match/);
  await dialog.getByLabel('Command type').fill('ping');
  await dialog.getByLabel('Time to live (seconds)').fill('600');
  await dialog.getByRole('button', { name: 'Send to 11 endpoints' }).click();
  await waitFor('the device answered, the others pending', async () => (await progress.getByTestId('batch-executed').textContent()) === 'Executed: 1' && (await progress.getByTestId('batch-pending').textContent()) === 'Pending: 10', 10_000);
  assert.match((await progress.textContent()) ?? '', /to 11 endpoints: in progress/);
  await shoot(page, 'control-batch');

  assert.deepEqual(problems, []);
});
