/**
 * The operator's story from Kaa's tutorial *How to connect a device* (docs/dashboard.md), in a real
 * headless Chromium against a real `tether start` (ports 0, SQLite in a temp dir) and a real MQTT device.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from '../helpers/test.js';
import mqtt, { type MqttClient } from 'mqtt';
import type { Locator, Page } from 'playwright-core';
import { DashboardHarness, PASSWORD } from './harness.js';
import { screenshotDir, unnamedControls } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

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

const openPage = () => harness.openPage();

/**
 * Presses Enter on a button once it is enabled: the token actions stay disabled until the previous
 * action's reload is over, a moment after the new status shows, and a key pressed on a disabled
 * button does nothing (CI once timed out waiting for a dialog that Enter never opened).
 */
async function pressWhenEnabled(button: Locator, what: string): Promise<void> {
  await waitFor(`${what} to be enabled`, () => button.isEnabled(), 10_000);
  await button.press('Enter');
}

async function signIn(page: Page): Promise<void> {
  await harness.signIn(page);
  await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
}

async function connectDevice(): Promise<MqttClient> {
  const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${harness.tether.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  devices.push(device);
  return device;
}

/** 10/EPMP update/keys with a request ID; resolves with the reply's sub-topic and payload. */
async function reportMetadata(device: MqttClient, token: string, metadata: object, requestId: number): Promise<{ result: string; payload: string }> {
  const topic = `kp1/${VERSION}/epmx/${token}/update/keys/${requestId}`;
  const reply = new Promise<{ result: string; payload: string }>((resolve) => {
    const onMessage = (t: string, payload: Buffer) => {
      if (!t.startsWith(`${topic}/`)) return;
      device.off('message', onMessage);
      resolve({ result: t.slice(topic.length + 1), payload: payload.toString('utf8') });
    };
    device.on('message', onMessage);
  });
  await device.subscribeAsync([`${topic}/status`, `${topic}/error`]);
  await device.publishAsync(topic, JSON.stringify(metadata), { qos: 1 });
  return reply;
}

const cell = (page: Page, endpointId: string, header: string) => page.locator(`tr[data-endpoint-id="${endpointId}"] td[data-label="${header}"]`);

// The browser tests take { timeout: 120_000 }, longer than the 30 s default: headless Chromium through
// several pages of a whole Tether takes tens of seconds on a shared machine.
test('an operator adds an endpoint, a device connects with its token and reports, the list shows it live', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  const shots = screenshotDir();

  // Sign in; a new user sees how to connect a device, with this server's real MQTT port.
  await signIn(page);
  await page.getByRole('heading', { name: 'No endpoints yet' }).waitFor();
  assert.match((await page.locator('.empty-state pre').textContent()) ?? '', new RegExp(`--host 127\\.0\\.0\\.1 --port ${harness.tether.mqttPort}$`));
  await page.screenshot({ path: path.join(shots, 'empty-state-1280.png'), fullPage: true });

  // Playbook 1: add the meterDescription field to the creation form.
  await page.getByRole('button', { name: 'Edit creation form' }).click();
  const formDialog = page.getByRole('dialog', { name: 'Edit creation form' });
  await formDialog.getByRole('button', { name: 'Add field' }).click();
  await formDialog.getByLabel('Label of field 1').fill('Meter description');
  await formDialog.getByLabel('Metadata key of field 1').fill('meterDescription');
  await formDialog.getByLabel('Field 1 is required').check();
  await formDialog.getByRole('button', { name: 'Save form' }).click();
  await formDialog.waitFor({ state: 'detached' });

  // Playbook 2: create the endpoint record; the token is shown once with the command lines.
  await page.getByRole('button', { name: 'Add endpoint' }).first().click();
  const addDialog = page.getByRole('dialog', { name: 'Add endpoint' });
  await addDialog.getByLabel(/Meter description/).fill('Kitchen meter, floor 2');
  await addDialog.getByRole('button', { name: 'Create endpoint' }).click();
  const created = page.getByRole('dialog', { name: 'Endpoint created' });
  const token = await created.getByLabel('Endpoint token', { exact: true }).inputValue();
  const endpointId = (await created.getByTestId('created-endpoint-id').textContent()) ?? '';
  assert.ok(token.length >= 16, `token ${token} looks generated`);
  assert.equal(await created.getByTestId('cli-command').textContent(), `npx tether device --token${token.startsWith('-') ? '=' : ' '}${token} --host 127.0.0.1 --port ${harness.tether.mqttPort}`);
  assert.match((await created.getByTestId('mosquitto-command').textContent()) ?? '', new RegExp(`-p ${harness.tether.mqttPort} -t kp1/${VERSION}/epmx/${token}/update/keys `));
  await page.screenshot({ path: path.join(shots, 'token-created-1280.png') });
  await created.getByRole('button', { name: 'Done' }).click();
  await waitFor('the new row', async () => (await cell(page, endpointId, 'Connection').textContent())?.includes('Offline') === true, 10_000);
  const stored = await harness.tether.services.registry.getEndpoint(endpointId, true);
  assert.deepEqual(stored.metadata, { meterDescription: 'Kitchen meter, floor 2' });

  // Everything below must happen without a reload: this marker would vanish with one.
  await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));

  // Playbook 3: the device connects with the token and reports model and mac.
  const device = await connectDevice();
  const reply = await reportMetadata(device, token, { model: 'MySmartMeter A300', mac: '00-14-22-01-23-45' }, 1);
  assert.equal(reply.result, 'status');
  await waitFor('the row to show the device online', async () => (await cell(page, endpointId, 'Connection').textContent())?.includes('Online') === true, 10_000);

  // Playbook 4: configure the model and mac columns.
  await page.getByRole('button', { name: 'Configure columns' }).click();
  const columns = page.getByRole('dialog', { name: 'Configure columns' });
  await columns.getByRole('button', { name: 'Add column' }).click();
  await columns.getByLabel('Metadata key of column 1').fill('mac');
  await columns.getByLabel('Header of column 1').fill('MAC address');
  await columns.getByRole('button', { name: 'Add column' }).click();
  await columns.getByLabel('Metadata key of column 2').fill('model');
  await columns.getByLabel('Header of column 2').fill('Model');
  // Reorder: model first.
  await columns.getByRole('button', { name: 'Move column model up' }).click();
  await columns.getByRole('button', { name: 'Save columns' }).click();
  await columns.waitFor({ state: 'detached' });
  await waitFor(
    'model and mac in the row',
    async () =>
    (await cell(page, endpointId, 'Model').textContent()) === 'MySmartMeter A300' && (await cell(page, endpointId, 'MAC address').textContent()) === '00-14-22-01-23-45',
    10_000,
  );

  // A new report reaches the row live (Server-Sent Events), still without reload.
  assert.equal((await reportMetadata(device, token, { model: 'MySmartMeter A310' }, 2)).result, 'status');
  await waitFor('the row to show the new model', async () => (await cell(page, endpointId, 'Model').textContent()) === 'MySmartMeter A310', 10_000);
  // An endpoint created elsewhere (REST) appears too.
  const other = await harness.tether.services.registry.createEndpoint({ appVersionName: VERSION, metadata: { model: 'Other meter' } });
  await waitFor('the endpoint created over REST', async () => (await cell(page, other.endpoint.endpointId, 'Model').textContent()) === 'Other meter', 10_000);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument), true);

  // Search across shown values, and the connection filter, are server-side.
  await page.getByRole('searchbox', { name: 'Search' }).fill('A310');
  await waitFor('search to narrow the list', async () => (await page.locator('tbody tr[data-endpoint-id]').count()) === 1, 10_000);
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await waitFor('search to clear', async () => (await page.locator('tbody tr[data-endpoint-id]').count()) === 2, 10_000);
  await page.getByRole('combobox', { name: 'Connection' }).selectOption('online');
  await waitFor('the online filter', async () => (await page.locator('tbody tr[data-endpoint-id]').count()) === 1, 10_000);
  await page.getByRole('combobox', { name: 'Connection' }).selectOption('');
  await waitFor('the filter to clear', async () => (await page.locator('tbody tr[data-endpoint-id]').count()) === 2, 10_000);

  // Reload: the column layout was saved on the server.
  await page.reload();
  await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
  await waitFor('the row after reload', async () => (await cell(page, endpointId, 'Model').textContent()) === 'MySmartMeter A310', 10_000);
  const headers = await page.locator('thead th button.sort').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label')));
  assert.deepEqual(headers, ['Sort by Endpoint ID', 'Sort by Registered', 'Sort by Connection', 'Sort by Software version', 'Sort by Model', 'Sort by MAC address']);
  await page.screenshot({ path: path.join(shots, 'endpoint-list-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, 'endpoint-list-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // The endpoint page: metadata, connection, tokens.
  await page.locator(`tr[data-endpoint-id="${endpointId}"]`).click();
  await page.getByTestId('endpoint-id').filter({ hasText: endpointId }).waitFor();
  const metadataTable = page.getByTestId('metadata-table');
  await waitFor('the metadata table', async () => (await metadataTable.locator('tr[data-key="meterDescription"] td.value').textContent()) === 'Kitchen meter, floor 2', 10_000);
  assert.equal(await metadataTable.locator('tr[data-key="mac"] td.value').textContent(), '00-14-22-01-23-45');
  const tokenRow = page.getByTestId('tokens-table').locator('tbody tr').first();
  await waitFor('the token to be active', async () => (await tokenRow.locator('.status').textContent()) === 'ACTIVE', 10_000);
  await page.screenshot({ path: path.join(shots, 'endpoint-page-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, 'endpoint-page-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // Suspend the token: the device is disconnected and refused from then on.
  const kicked = new Promise<void>((resolve) => device.once('close', () => resolve()));
  await tokenRow.getByRole('button', { name: /^Suspend token ending/ }).click();
  await waitFor('the token to show suspended', async () => (await tokenRow.locator('.status').textContent()) === 'SUSPENDED', 10_000);
  await kicked;
  // Refused: the token's response topics cannot be subscribed, and a report (acknowledged only
  // after Tether handled it) changes nothing; if the subscription is allowed, the reply is a 403.
  const again = await connectDevice();
  const topic = `kp1/${VERSION}/epmx/${token}/update/keys/3`;
  const subscribed = await again.subscribeAsync([`${topic}/status`, `${topic}/error`]).then(
    () => true,
    () => false,
  );
  const replies: Array<{ topic: string; payload: string }> = [];
  again.on('message', (t, payload) => replies.push({ topic: t, payload: payload.toString('utf8') }));
  await again.publishAsync(topic, JSON.stringify({ model: 'should not land' }), { qos: 1 }).catch(() => {});
  if (subscribed) {
    await waitFor('the error reply', () => replies.length > 0, 10_000);
    assert.equal(replies[0]!.topic, `${topic}/error`);
    assert.equal((JSON.parse(replies[0]!.payload) as { statusCode: number }).statusCode, 403);
  }
  assert.equal((await harness.tether.services.registry.getMetadata(endpointId, 'operator')).model, 'MySmartMeter A310');
  assert.ok(replies.every((r) => !r.topic.endsWith('/status')), 'no success reply for a suspended token');
  await waitFor('the endpoint page to show offline', async () => (await page.getByTestId('connection-history').textContent())?.includes('Offline') === true, 10_000);

  assert.deepEqual(problems, []);
});

test('an operator manages an endpoint by keyboard: metadata, tokens, errors beside the action, delete', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  // Its own application, so the other story's form and columns do not matter here.
  await harness.tether.services.applications.createApplication({ name: 'keyboard_app' });
  await harness.tether.services.applications.createVersion({ applicationName: 'keyboard_app', name: 'keyboard_app_v1', extensions: ['epmx'] });
  const { endpoint } = await harness.tether.services.registry.createEndpoint({ appVersionName: 'keyboard_app_v1', endpointToken: 'kbd-token-1', metadata: { model: 'Keyboard meter' } });
  const id = endpoint.endpointId;

  // Sign in without the mouse: the password field has focus, Enter submits.
  await page.goto(`${harness.base}/endpoints/${id}?app=keyboard_app`);
  await waitFor(
    'focus in the password field',
    () =>
    page.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } | null } }).document.activeElement?.getAttribute('name') === 'password'),
    10_000,
  );
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByTestId('endpoint-id').filter({ hasText: id }).waitFor();
  assert.deepEqual(await unnamedControls(page), []);

  // Metadata: add a JSON value, edit it, delete it.
  await page.getByLabel('New key').focus();
  await page.keyboard.type('floor');
  await page.keyboard.press('Tab');
  await page.keyboard.type('2');
  await page.getByRole('combobox', { name: 'Type', exact: true }).selectOption('json');
  await page.getByRole('button', { name: 'Add key' }).press('Enter');
  const floor = page.getByTestId('metadata-table').locator('tr[data-key="floor"] td.value');
  await waitFor('the new key', async () => (await floor.textContent()) === '2', 10_000);
  assert.equal((await harness.tether.services.registry.getMetadata(id, 'operator')).floor, 2);
  await page.getByRole('button', { name: 'Edit floor' }).press('Enter');
  await page.getByLabel('New value of floor').fill('3');
  await page.keyboard.press('Enter');
  await waitFor('the edited key', async () => (await floor.textContent()) === '3', 10_000);
  await page.getByRole('button', { name: 'Delete floor' }).press('Enter');
  await waitFor('the key to go', async () => (await floor.count()) === 0, 10_000);

  // An API error appears next to the action that failed: a token already in use.
  await page.getByRole('button', { name: 'Issue new token' }).press('Enter');
  const issue = page.getByRole('dialog', { name: 'Issue new token' });
  await issue.getByLabel(/Custom token/).fill('kbd-token-1');
  await issue.getByRole('button', { name: 'Issue token' }).press('Enter');
  assert.match((await issue.getByRole('alert').textContent()) ?? '', /already used in this application.*TOKEN_CONFLICT/);
  await issue.getByLabel(/Custom token/).fill('');
  await issue.getByRole('button', { name: 'Issue token' }).press('Enter');
  const issued = page.getByRole('dialog', { name: 'New token issued' });
  const second = await issued.getByLabel('Endpoint token', { exact: true }).inputValue();
  assert.ok(second.length >= 16);
  await page.keyboard.press('Escape');
  await issued.waitFor({ state: 'detached' });

  // Token lifecycle: suspend and reactivate the first token, revoke the second after confirming.
  const rows = page.getByTestId('tokens-table').locator('tbody tr');
  await waitFor('two tokens', async () => (await rows.count()) === 2, 10_000);
  const first = rows.filter({ hasText: '…en-1' });
  await first.getByRole('button', { name: 'Suspend token ending en-1' }).press('Enter');
  await waitFor('suspended', async () => (await first.locator('.status').textContent()) === 'SUSPENDED', 10_000);
  await pressWhenEnabled(first.getByRole('button', { name: 'Reactivate token ending en-1' }), 'Reactivate');
  await waitFor('reactivated', async () => (await first.locator('.status').textContent()) === 'ACTIVE', 10_000);
  const other = rows.filter({ hasNotText: '…en-1' });
  await pressWhenEnabled(other.getByRole('button', { name: /^Revoke token ending/ }), 'Revoke');
  await page.getByRole('dialog', { name: 'Revoke this token?' }).getByRole('button', { name: 'Revoke token' }).press('Enter');
  await waitFor('revoked', async () => (await other.locator('.status').textContent()) === 'REVOKED', 10_000);
  assert.equal(await other.getByRole('button').count(), 0, 'a revoked token offers no actions');

  // Delete after confirmation, back to the list.
  await page.getByRole('button', { name: 'Delete endpoint…' }).press('Enter');
  const confirm = page.getByRole('dialog', { name: 'Delete this endpoint?' });
  assert.deepEqual(await unnamedControls(page), []);
  await confirm.getByRole('button', { name: 'Delete endpoint' }).press('Enter');
  await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
  await assert.rejects(harness.tether.services.registry.getEndpoint(id, false), { code: 'ENDPOINT_NOT_FOUND' });

  // The Add endpoint form shows the API's error in the dialog too, and Escape closes it.
  await page.getByRole('button', { name: 'Add endpoint' }).first().press('Enter');
  const add = page.getByRole('dialog', { name: 'Add endpoint' });
  assert.deepEqual(await unnamedControls(page), []);
  await add.getByLabel(/Custom token/).fill('bad/token');
  await add.getByRole('button', { name: 'Create endpoint' }).press('Enter');
  assert.match((await add.getByRole('alert').textContent()) ?? '', /TOKEN_INVALID|malformed/);
  await page.keyboard.press('Escape');
  await add.waitFor({ state: 'detached' });

  // The browser itself logs the two refused requests this test provoked; nothing else may appear.
  const provoked = /^console: Failed to load resource: the server responded with a status of (409|400)/;
  assert.equal(problems.filter((p) => provoked.test(p)).length, 2);
  assert.deepEqual(problems.filter((p) => !provoked.test(p)), []);
});
