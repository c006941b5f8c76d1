/**
 * Software updates from the dashboard: headless Chromium creates a version, uploads its package
 * (with the progress bar), starts a rollout to simulated devices (the `tether device --ota` code,
 * in-process: real MQTT, real HTTP downloads) and watches it reach the end live; one device fails
 * on purpose and its reason shows. Screenshots at 1280 and 390 px (docs/dashboard.md, Software).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { after, before, test } from '../helpers/test.js';
import { waitFor } from '../helpers/wait.js';
import { runOtaDevice, type OtaEvent } from '../../src/cli/commands/device-ota.js';
import { DashboardHarness, shootBothWidths } from './harness.js';

const APP = 'demo_application';
const VERSION = 'demo_application_v1';

let harness: DashboardHarness;
const clients: MqttClient[] = [];
const stop = new AbortController();
let workDir = '';

before(async () => {
  harness = await DashboardHarness.start();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-ota-e2e-'));
});

after(async () => {
  stop.abort();
  for (const client of clients) await client.endAsync(true).catch(() => {});
  await harness?.close();
  fs.rmSync(workDir, { recursive: true, force: true });
});

/** A simulated OTA device running 1.0.0; `failRate` 1 fails every update after the download. */
async function device(token: string, failRate: number): Promise<OtaEvent[]> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${harness.tether.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  clients.push(client);
  const events: OtaEvent[] = [];
  void runOtaDevice(client, { token, appVersion: VERSION, qos: 0, currentVersion: '1.0.0', failRate, downloadAttempts: 3 }, (e) => events.push(e), stop.signal);
  await waitFor('the device asking for an update', () => events.some((e) => e.kind === 'up-to-date'), 10_000);
  return events;
}

const shoot = (page: Page, name: string) => shootBothWidths(page, name);

test('upload a package, create a version, roll it out to simulated devices and watch it finish; a failing device shows its reason', { timeout: 180_000 }, async () => {
  const { registry } = harness.tether.services;
  const fleet = await Promise.all([0, 1, 2].map((i) => registry.createEndpoint({ appVersionName: VERSION, metadata: { model: 'OTA device', n: i } })));
  const [good1, good2, bad] = fleet as [(typeof fleet)[0], (typeof fleet)[0], (typeof fleet)[0]];
  const goodEvents = await Promise.all([device(good1.token, 0), device(good2.token, 0)]);
  const badEvents = await device(bad.token, 1);

  const { page, problems } = await harness.openPage();
  await harness.signIn(page, { url: `${harness.base}/software?app=${APP}` });
  await page.getByRole('heading', { name: `Software of ${APP}` }).waitFor();
  await page.getByText('No versions yet').waitFor();

  // --- a version ---------------------------------------------------------------------------------
  await page.getByRole('button', { name: 'New version' }).click();
  const dialog = page.getByRole('dialog', { name: 'New software version' });
  await dialog.getByLabel('Version (semver)').fill('1.1');
  await dialog.getByLabel(/Upgradable from/).fill('1.0.x');
  await dialog.getByLabel(/Specification/).fill('{"notes": "fixes the sensor drift"}');
  await dialog.getByRole('button', { name: 'Create version' }).click();
  assert.match((await dialog.getByRole('alert').textContent()) ?? '', /"1\.1" is not a semantic version/);
  await dialog.getByLabel('Version (semver)').fill('1.1.0');
  await dialog.getByRole('button', { name: 'Create version' }).click();
  const row = page.getByTestId('software-table').locator('tr[data-version="1.1.0"]');
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /suspended/);

  // --- its package, with the progress bar -------------------------------------------------------
  const bytes = randomBytes(3 * 1024 * 1024);
  const file = path.join(workDir, 'firmware-1.1.0.bin');
  fs.writeFileSync(file, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await row.getByRole('button', { name: 'Upload the package of 1.1.0' }).click();
  const upload = page.getByRole('dialog', { name: 'Upload the package of 1.1.0' });
  await upload.getByLabel('Package file').setInputFiles(file);
  await upload.getByRole('button', { name: 'Upload' }).click();
  await upload.getByTestId('upload-done').waitFor();
  assert.equal(await upload.getByTestId('upload-progress').getAttribute('value'), '100');
  assert.equal((await upload.getByTestId('upload-sha256').textContent())?.trim(), sha256);
  await upload.getByRole('button', { name: 'Done' }).click();
  await waitFor('the package in the list', async () => /firmware-1\.1\.0\.bin/.test((await row.getByTestId('package-cell').textContent()) ?? ''), 10_000);
  assert.match((await row.textContent()) ?? '', new RegExp(sha256.slice(0, 12)));
  await shoot(page, 'software');

  // --- the rollout -------------------------------------------------------------------------------
  await row.getByRole('button', { name: 'Roll out 1.1.0' }).click();
  const start = page.getByRole('dialog', { name: 'Start a rollout' });
  await waitFor('the versions in the dialog', async () => (await start.getByLabel('Software version').inputValue()) === '1.1.0', 10_000);
  await start.getByLabel('These endpoint IDs').check();
  await start.getByRole('textbox', { name: 'Endpoint IDs' }).fill(fleet.map((f) => f.endpoint.endpointId).join('\n'));
  await start.getByLabel(/Limit the rate/).check();
  await start.getByLabel('Devices per minute').fill('600');
  await start.getByLabel(/Failure share above/).fill('50');
  await start.getByLabel(/Once at least n attempted/).fill('3');
  await start.getByLabel(/Report timeout/).fill('120');
  await start.getByRole('button', { name: 'Start rollout' }).click();
  await page.waitForURL(/\/rollouts\/[^/?]+\?app=demo_application$/);
  await page.getByTestId('rollout-summary').waitFor();

  await waitFor('the rollout to complete', async () => (await page.getByTestId('rollout-state').textContent()) === 'completed', 60_000);
  assert.equal(await page.getByTestId('count-applied').textContent(), '2');
  assert.equal(await page.getByTestId('count-failed').textContent(), '1');
  const failure = page.getByTestId('rollout-failures').locator(`tr[data-endpoint-id="${bad.endpoint.endpointId}"]`);
  await failure.waitFor();
  assert.equal(await failure.getByTestId('device-reason').textContent(), 'simulated failure (--fail-rate)');
  await waitFor('the chart at 2 applied', async () => (await page.getByTestId('rollout-chart').getAttribute('data-applied')) === '2', 10_000);
  // What the chart drew, not only its props: its applied and failed lines end at 2 and 1.
  await waitFor('the chart to draw 2 applied, 1 failed', async () => await page.getByTestId('rollout-chart').getAttribute('data-drawn-last'), { until: (v) => v === '2,1', timeoutMs: 10_000 });
  await shoot(page, 'rollout');

  // The devices downloaded the package and checked it; the failing one too, then failed on purpose.
  for (const events of goodEvents) {
    assert.ok(events.some((e) => e.kind === 'downloading'), 'the package was downloaded');
    assert.ok(events.some((e) => e.kind === 'applied' && e.version === '1.1.0' && e.downloaded));
  }
  assert.ok(badEvents.some((e) => e.kind === 'failed' && e.reason === 'simulated failure (--fail-rate)'));

  // --- the endpoint page: what it runs and its reports ------------------------------------------
  await page.goto(`${harness.base}/endpoints/${encodeURIComponent(good1.endpoint.endpointId)}?app=${APP}`);
  const section = page.getByTestId('endpoint-software');
  await waitFor('the version on the endpoint page', async () => (await section.getByTestId('software-version').textContent()) === '1.1.0', 10_000);
  const history = section.getByTestId('software-history');
  assert.equal(await history.locator('tbody tr').count(), 2, 'reports 1.0.0, then 1.1.0');
  await page.goto(`${harness.base}/endpoints/${encodeURIComponent(bad.endpoint.endpointId)}?app=${APP}`);
  await waitFor('the failure on the endpoint page', async () => /simulated failure/.test((await page.getByTestId('software-last-failure').textContent().catch(() => '')) ?? ''), 10_000);
  assert.equal(await page.getByTestId('software-version').textContent(), '1.0.0');
  await page.getByTestId('endpoint-software').scrollIntoViewIfNeeded();
  await shoot(page, 'endpoint-software');

  // --- the Endpoint List's column -----------------------------------------------------------------
  await page.goto(`${harness.base}/?app=${APP}`);
  const listRow = page.locator(`tr[data-endpoint-id="${good2.endpoint.endpointId}"]`);
  await waitFor('the software version column', async () => (await listRow.locator('td[data-label="Software version"]').textContent()) === '1.1.0', 10_000);
  // Sorted by the server in semver order: the device that failed its update (still 1.0.0) first.
  await page.getByRole('button', { name: 'Sort by Software version' }).click();
  const cells = page.locator('table.endpoints tbody td[data-label="Software version"]');
  await waitFor('the list sorted by version', async () => (await cells.allTextContents()).join(',') === '1.0.0,1.1.0,1.1.0', 10_000);
  assert.equal(await page.locator('table.endpoints tbody tr').first().getAttribute('data-endpoint-id'), bad.endpoint.endpointId);

  assert.deepEqual(problems, []);
});

test('a rollout to what the Endpoint List shows, at 1 a minute: pause, resume and cancel from the rollout page', { timeout: 120_000 }, async () => {
  const { page, problems } = await harness.openPage();
  await harness.signIn(page, { url: `${harness.base}/?app=${APP}` });
  await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
  const created = await page.request.post(`${harness.base}/otao/api/v1/applications/${APP}/software`, { data: { version: '2.0.0', upgradableFrom: ['*'], specification: {} } });
  assert.equal(created.status(), 201, await created.text());

  await page.getByRole('button', { name: /^Roll out software to all 3…$/ }).click();
  const start = page.getByRole('dialog', { name: 'Start a rollout' });
  await waitFor('the versions in the dialog', async () => (await start.getByLabel('Software version').locator('option').count()) === 2, 10_000);
  await start.getByLabel('Software version').selectOption('2.0.0');
  assert.equal(await start.getByRole('radio', { name: /The endpoints the list shows: every endpoint of the application \(3 endpoints now/ }).isChecked(), true);
  await start.getByLabel(/Limit the rate/).check();
  await start.getByLabel('Devices per minute').fill('1');
  await shoot(page, 'rollout-start');
  await start.getByRole('button', { name: 'Start rollout' }).click();
  await page.getByTestId('rollout-summary').waitFor();
  await waitFor('running', async () => (await page.getByTestId('rollout-state').textContent()) === 'running', 10_000);

  await page.getByRole('button', { name: 'Pause' }).click();
  await waitFor('paused', async () => (await page.getByTestId('rollout-state').textContent()) === 'paused', 10_000);
  await page.getByRole('button', { name: 'Resume' }).click();
  await waitFor('running again', async () => (await page.getByTestId('rollout-state').textContent()) === 'running', 10_000);
  await page.getByRole('button', { name: 'Cancel rollout…' }).click();
  await page.getByRole('dialog', { name: 'Cancel this rollout?' }).getByRole('button', { name: 'Cancel rollout' }).click();
  await waitFor('cancelled', async () => (await page.getByTestId('rollout-state').textContent()) === 'cancelled', 10_000);
  assert.equal(await page.getByRole('button', { name: 'Resume' }).count(), 0, 'an ended rollout has no controls');

  // The Software view lists both rollouts, newest first.
  await page.getByRole('link', { name: `← Software of ${APP}` }).click();
  const rows = page.getByTestId('rollouts-table').locator('tbody tr');
  await waitFor('two rollouts', async () => (await rows.count()) === 2, 10_000);
  assert.match((await rows.first().textContent()) ?? '', /2\.0\.0\s*cancelled/);
  assert.deepEqual(problems, []);
});
