/**
 * Issue 18, the dashboard's part: what a new user met in the first hour, each as the user did it,
 * in headless Chromium against a real `tether start` and a real device over MQTT.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { after, before, test } from '../helpers/test.js';
import { waitFor } from '../helpers/wait.js';
import { DashboardHarness, PHONE } from './harness.js';
import { assertNoOverflow, packageRoot, screenshotDir } from './helpers.js';

const APP = 'demo_application';
const VERSION = 'demo_application_v1';

let harness: DashboardHarness;
let device: MqttClient | undefined;

before(async () => {
  harness = await DashboardHarness.start();
});

after(async () => {
  await device?.endAsync(true).catch(() => {});
  await harness?.close();
});

const endpointPage = (id: string) => `${harness.base}/endpoints/${encodeURIComponent(id)}?app=${APP}`;

/** The data-collection tutorial's samples, one per second, the last at `end`. */
function run(count: number, end: number, fuelFrom: number) {
  return Array.from({ length: count }, (_, i) => ({ timestamp: end - (count - 1 - i) * 1000, temperature: 90 + i, fuelLevel: fuelFrom - i * 0.5 }));
}

async function publish(token: string, samples: unknown[]): Promise<void> {
  device ??= await mqtt.connectAsync(`mqtt://127.0.0.1:${harness.tether.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  await device.publishAsync(`kp1/${VERSION}/dcx/${token}/json`, JSON.stringify(samples), { qos: 1 });
}

// The browser tests take { timeout: 120_000 }: headless Chromium through a whole Tether takes tens of
// seconds on a shared machine.
test('copying the connect command from the empty list and from a new token runs it from the clone', { timeout: 120_000 }, async () => {
  const { page, problems } = await harness.openPage();
  await harness.signIn(page);
  await page.getByRole('heading', { name: 'No endpoints yet' }).waitFor();
  assert.match((await page.locator('.empty-state pre').textContent()) ?? '', /^npx tether device --token '<token>' /);

  await page.getByRole('button', { name: 'Add endpoint' }).first().click();
  await page.getByRole('dialog', { name: 'Add endpoint' }).getByRole('button', { name: 'Create endpoint' }).click();
  const created = page.getByRole('dialog', { name: 'Endpoint created' });
  const command = (await created.getByTestId('cli-command').textContent()) ?? '';
  // A token that begins with "-" is written --token=-… so that it is not read as an option.
  assert.match(command, /^npx tether device --token[ =]/);

  // Pasted into a shell in the clone, as the README's user would: it connects and is answered.
  const { stdout } = await promisify(execFile)('sh', ['-c', command], { cwd: packageRoot(), timeout: 60_000 });
  assert.match(stdout, /./, 'the device prints what the server answered');
  assert.deepEqual(problems, []);
});

test('signing in with a wrong password, then too often, shows one clear message each time', { timeout: 120_000 }, async () => {
  // Its own account: the lockout must not lock the other tests' admin out.
  await harness.tether.accounts.users.create({ username: 'carol', role: 'viewer', password: 'carol-password-1' });
  const { page } = await harness.openPage();
  await page.goto(harness.base);
  const hint = page.getByTestId('sign-in-hint');
  assert.match((await hint.textContent()) ?? '', /First sign-in/);

  const attempt = async (password: string) => {
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign in' }).and(page.locator(':enabled')).waitFor();
  };
  const alert = page.getByRole('alert');

  await attempt('wrong-1');
  await waitFor('the refusal', async () => /Username or password is wrong/.test((await alert.textContent().catch(() => '')) ?? ''), 10_000);
  // The recovery advice is said once: in the refusal, not again in the hint under it.
  assert.equal(await hint.count(), 0);
  assert.equal(await page.getByText(/reset-password/).count(), 1);

  for (let i = 2; i <= 5; i++) await attempt(`wrong-${i}`);
  await attempt('carol-password-1');
  await waitFor('the lockout', async () => /blocked/.test((await alert.textContent().catch(() => '')) ?? ''), 10_000);
  const lockout = (await alert.textContent()) ?? '';
  assert.match(lockout, /Too many failed sign-ins: blocked for 15 more min\. Wait, or ask an admin .* to lift the block now\./);
  assert.doesNotMatch(lockout, /shortly/);
  assert.equal(await hint.count(), 0);
});

test('opening the Users, API keys and Audit pages shows no Application selector', { timeout: 120_000 }, async () => {
  const { page, problems } = await harness.openPage();
  await harness.signIn(page);
  await page.getByLabel('Application').waitFor();
  for (const [link, heading] of [['Users', 'Users'], ['API keys', 'API keys'], ['Audit log', 'Audit log']] as const) {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: link }).click();
    await page.getByRole('heading', { name: heading, exact: true }).first().waitFor();
    assert.equal(await page.getByLabel('Application').count(), 0, `no Application selector on ${link}`);
  }
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Endpoints' }).click();
  await page.getByLabel('Application').waitFor();
  assert.deepEqual(problems, []);
});

// --- the endpoint chart, with the tutorial's definitions --------------------------------------------

/** Kaa's tutorial: FuelLevel and Temperature defined, extract-all on (so auto~fuelLevel exists too). */
async function tutorialEndpoint(): Promise<{ id: string; token: string }> {
  await harness.tether.timeSeries!.putDefinitions(APP, {
    timeSeries: [
      { name: 'Temperature', valueField: 'temperature', tagFields: [] },
      { name: 'FuelLevel', valueField: '$.fuelLevel', tagFields: [] },
    ],
  });
  const { endpoint, token } = await harness.tether.services.registry.createEndpoint({ appVersionName: VERSION });
  return { id: endpoint.endpointId, token };
}

const chart = (page: Page) => page.getByTestId('telemetry-chart');
const chartNumber = async (page: Page, name: string) => Number(await chart(page).getAttribute(`data-${name}`));

test('a device sends 12 s of data: the chart opens on those seconds, each measurement once, with the latest values', { timeout: 120_000 }, async () => {
  const { id, token } = await tutorialEndpoint();
  const samples = run(12, Date.now(), 80);
  await publish(token, samples);
  const { page, problems } = await harness.openPage();
  await harness.signIn(page, { url: endpointPage(id) });
  await chart(page).waitFor();

  // The opening range holds the data: from its first point to now, not an hour with 12 s at the edge.
  assert.equal(await page.getByRole('button', { name: 'All data' }).getAttribute('aria-pressed'), 'true');
  const from = await chartNumber(page, 'from');
  const to = await chartNumber(page, 'to');
  assert.ok(from <= samples[0]!.timestamp && to >= samples.at(-1)!.timestamp, 'the window holds every sample');
  assert.ok(to - from < 5 * 60_000, `the window is ${Math.round((to - from) / 1000)} s wide, not an hour`);
  await waitFor('a point per sample', async () => (await chartNumber(page, 'points')) >= 12, 10_000);

  // auto~fuelLevel is FuelLevel again (same field, same times): only the named series is drawn.
  const series = page.locator('fieldset.ts-series');
  assert.deepEqual((await series.locator('label').allTextContents()).map((t) => t.replace(/[\d.,—-]+$/, '')), ['FuelLevel', 'Temperature']);
  assert.equal(await page.getByTestId('latest-auto~fuelLevel').count(), 0);
  assert.equal(await page.getByTestId('latest-auto~temperature').count(), 0);

  // Not hovering, the legend shows the latest value of each line, not "--".
  const legend = page.locator('.u-legend');
  await waitFor('the legend values', async () => (await legend.locator('.u-series').count()) === 3, 10_000);
  const values = await legend.locator('.u-series .u-value').allTextContents();
  assert.ok(values.every((v) => v !== '--' && v !== ''), `legend values ${JSON.stringify(values)}`);
  const labels = await legend.locator('.u-series .u-label').allTextContents();
  assert.equal(values[labels.indexOf('FuelLevel')], String(samples.at(-1)!.fuelLevel));
  assert.equal(values[labels.indexOf('Temperature')], String(samples.at(-1)!.temperature));
  await page.getByTestId('telemetry').screenshot({ path: path.join(screenshotDir(), 'telemetry-opening-range-1280.png') });
  assert.deepEqual(problems, []);
});

test('a device runs, stops for a minute and runs again: the chart breaks the line between the runs', { timeout: 120_000 }, async () => {
  const { id, token } = await tutorialEndpoint();
  const now = Date.now();
  await publish(token, run(10, now - 75_000, 90));
  await publish(token, run(10, now, 70));
  const { page, problems } = await harness.openPage();
  await harness.signIn(page, { url: endpointPage(id) });
  await chart(page).waitFor();
  await waitFor('both runs drawn', async () => (await chartNumber(page, 'points')) >= 20, 10_000);
  // One break per line (FuelLevel, Temperature), and none inside a run.
  await waitFor('the breaks', async () => (await chart(page).locator('.uplot').getAttribute('data-gaps')) === '1,1', 10_000);
  await page.getByTestId('telemetry').screenshot({ path: path.join(screenshotDir(), 'telemetry-gap-1280.png') });
  assert.deepEqual(problems, []);
});

test('opening the dashboard on a phone: the top bar is one compact row, the rest behind Menu', { timeout: 120_000 }, async () => {
  const { page, problems } = await harness.openPage(PHONE);
  await harness.signIn(page);
  await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
  const bar = page.locator('header.topbar');
  const height = (await bar.boundingBox())!.height;
  assert.ok(height <= 64, `the top bar is ${height} px high at 390 px wide`);
  assert.ok(await page.getByLabel('Application').isVisible(), 'the application stays at hand');
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false);
  await assertNoOverflow(page, 'the list on a phone');

  await page.screenshot({ path: path.join(screenshotDir(), 'header-phone.png') });
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.screenshot({ path: path.join(screenshotDir(), 'header-menu-open-phone.png') });
  assert.equal(await page.getByRole('button', { name: 'Menu' }).getAttribute('aria-expanded'), 'true');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { name: 'Audit log', exact: true }).first().waitFor();
  // Following a link closes the menu; the bar is still one row.
  assert.equal(await page.getByRole('button', { name: 'Menu' }).getAttribute('aria-expanded'), 'false');
  assert.ok((await bar.boundingBox())!.height <= 64);
  assert.deepEqual(problems, []);
});
