/**
 * Kaa's data-collection tutorial in the dashboard: a real device publishes 2/DCP samples over MQTT
 * to a real `tether start`, and headless Chromium shows them live in the endpoint page's chart,
 * gauge and location map and in an Endpoint List column. The machine is offline, as many
 * deployments are: the map draws its track without tiles.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from '../helpers/test.js';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { DashboardHarness } from './harness.js';
import { screenshotDir, unnamedControls } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

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

interface Sample {
  timestamp: number;
  temperature: number;
  fuelLevel: number;
  latitude: number;
  longitude: number;
}

let requestId = 0;
/** Like the tutorial's client, but QoS 1: the PUBACK says the batch is stored. */
async function publish(token: string, samples: Sample[]): Promise<void> {
  await device!.publishAsync(`kp1/${VERSION}/dcx/${token}/json/${++requestId}`, JSON.stringify(samples), { qos: 1 });
}

/** A vehicle driving north-east: one sample per second, ending at `end`. */
function drive(count: number, end: number, start = 0): Sample[] {
  return Array.from({ length: count }, (_, i) => {
    const n = start + i;
    return {
      timestamp: end - (count - 1 - i) * 1000,
      temperature: 90 + (n % 9),
      fuelLevel: 100 - n * 0.5,
      latitude: 37.35 + n * 0.0004,
      longitude: -122.03 + n * 0.0005 + 0.0003 * Math.sin(n / 3),
    };
  });
}

const openPage = () => harness.openPage();
const signIn = (page: Page, url: string) => harness.signIn(page, { url });

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).textContent()) ?? '';
/** The points the uPlot chart itself was last given (use-uplot.ts), not the props around it. */
const chartPoints = async (page: Page) => Number(await page.getByTestId('telemetry-chart').getAttribute('data-drawn-points'));

// The browser tests take { timeout: 120_000 }, longer than the 30 s default: headless Chromium through
// a whole Tether's pages takes tens of seconds on a shared machine.
test('a device publishes 2/DCP samples; the endpoint page shows chart, gauge and map, updated live', { timeout: 120_000 }, async () => {
  const { endpoint, token } = await harness.tether.services.registry.createEndpoint({ appVersionName: VERSION, metadata: { model: 'Demo vehicle' } });
  const endpointId = endpoint.endpointId;
  const shots = screenshotDir();
  const { page, problems } = await openPage();

  // Kaa's tutorial definitions, through the dashboard's editor: Location = timestamp with required coordinates.
  await signIn(page, `${harness.base}/?app=${APP}`);
  await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Time series' }).click();
  const defs = page.getByRole('dialog', { name: 'Time series definitions' });
  // Trap 5 of the first hour: the dialog says what wins between the config file and these edits.
  const rule = await defs.getByTestId('definitions-file-rule').textContent({ timeout: 10_000 });
  assert.match(rule ?? '', /kept across restarts.*config file.*only when the block itself has changed/s);
  await defs.getByRole('button', { name: 'Add time series' }).click();
  await defs.getByLabel('Name of time series 1').fill('Location');
  await defs.getByLabel('Value field of time series 1').fill('timestamp');
  for (const [i, tag] of ['latitude', 'longitude'].entries()) {
    await defs.getByRole('button', { name: 'Add tag field' }).click();
    await defs.getByLabel(`Tag ${i + 1} of time series 1`).fill(tag);
    await defs.locator('.ts-tag').nth(i).getByLabel('Required').check();
  }
  await defs.getByRole('button', { name: 'Save definitions' }).click();
  await defs.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  await page.screenshot({ path: path.join(shots, 'telemetry-definitions-1280.png') });
  assert.deepEqual(await unnamedControls(page), []);
  await defs.getByRole('button', { name: 'Cancel' }).click();
  const stored = (await harness.tether.timeSeries!.getDefinitions(APP)).timeSeries;
  assert.deepEqual(
    stored.map((s) => ({ name: s.name, valueField: s.valueField, tags: s.tagFields.map((t) => [t.name, t.required]) })),
    [{ name: 'Location', valueField: 'timestamp', tags: [['latitude', true], ['longitude', true]] }],
  );

  // The endpoint page before any data, then the device's first batch arrives without a reload.
  await page.goto(`${harness.base}/endpoints/${encodeURIComponent(endpointId)}?app=${APP}`);
  await page.getByTestId('telemetry-empty').waitFor();
  await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));

  device = await mqtt.connectAsync(`mqtt://127.0.0.1:${harness.tether.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  const first = drive(30, Date.now());
  await publish(token, first);
  await page.getByTestId('telemetry-chart').waitFor({ timeout: 10_000 });
  await waitFor('the gauge to show the latest temperature', async () => (await text(page, 'gauge-value')) === String(first.at(-1)!.temperature), 10_000);
  assert.match(await page.getByTestId('gauge').locator('figcaption').textContent() ?? '', /temperature/);
  // The chart opens on the data (All data, 1 s buckets): the 30 samples are about 30 points.
  await waitFor('the chart to draw the batch', async () => (await chartPoints(page)) >= 3, 10_000);
  // Offline: no tiles, yet the track (an SVG path) and the latest position are drawn.
  await waitFor('the track on the map', async () => (await page.getByTestId('location-map').locator('path.leaflet-interactive').count()) >= 1, 10_000);
  await waitFor('the latest position', async () => (await text(page, 'latest-position')).includes(`${first.at(-1)!.latitude.toFixed(5)}, ${first.at(-1)!.longitude.toFixed(5)}`), 10_000);
  assert.match(await text(page, 'latest-position'), /from Location/);
  assert.deepEqual(await unnamedControls(page), []);
  await page.screenshot({ path: path.join(shots, 'telemetry-endpoint-1280.png'), fullPage: true });

  // Live: each new sample moves the gauge, the chart and the map; measure publish-to-screen time.
  const latencies: number[] = [];
  let newest = first.at(-1)!;
  for (let i = 0; i < 3; i++) {
    const sample = drive(1, Date.now(), 30 + i)[0]!;
    sample.temperature = 120 + i;
    newest = sample;
    const before = await chartPoints(page);
    const sent = Date.now();
    await publish(token, [sample]);
    await waitFor('the gauge to follow the device', async () => (await text(page, 'gauge-value')) === String(sample.temperature), 5_000);
    latencies.push(Date.now() - sent);
    await waitFor('the chart to grow', async () => (await chartPoints(page)) > before, 5_000);
    await waitFor('the map to move', async () => (await text(page, 'latest-position')).includes(sample.latitude.toFixed(5)), 5_000);
  }
  console.log(`# publish → gauge latency (ms): ${latencies.join(', ')}`);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument), true);

  // Presets and zoom: 15 min, then a drag across the chart fixes a finer window; back to live.
  await page.getByRole('button', { name: '15 min' }).click();
  await waitFor('the 15 min preset', async () => (await page.getByRole('button', { name: '15 min' }).getAttribute('aria-pressed')) === 'true', 10_000);
  const over = page.getByTestId('telemetry-chart').locator('.u-over');
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.99, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.getByRole('button', { name: 'Back to live' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Custom' }).getAttribute('aria-pressed'), 'true');
  await page.getByRole('button', { name: 'Back to live' }).click();
  await waitFor('live again', async () => (await page.getByRole('button', { name: '15 min' }).getAttribute('aria-pressed')) === 'true', 10_000);
  // Custom: an end before the start is refused beside the form; a valid range is shown fixed.
  await page.getByRole('button', { name: 'Custom' }).click();
  const startField = page.getByLabel('From', { exact: true });
  const endField = page.getByLabel('To', { exact: true });
  const startValue = await startField.inputValue();
  await endField.fill(startValue);
  await page.getByRole('button', { name: 'Show range' }).click();
  assert.match((await page.getByTestId('telemetry').getByRole('alert').textContent()) ?? '', /start before the end/);
  await endField.fill(await page.evaluate(() => {
    const d = new Date(Date.now() + 60_000 - new Date().getTimezoneOffset() * 60_000);
    return d.toISOString().slice(0, 16);
  }));
  await page.getByRole('button', { name: 'Show range' }).click();
  await page.getByRole('button', { name: 'Back to live' }).waitFor();
  await waitFor('the fixed range to hold the samples', async () => (await chartPoints(page)) >= 4, 10_000);
  await page.getByRole('button', { name: 'Back to live' }).click();
  await waitFor('live once more', async () => (await page.getByRole('button', { name: '15 min' }).getAttribute('aria-pressed')) === 'true', 10_000);

  // The gauge can show another series, on a scale the operator sets.
  await page.getByLabel('Gauge series').selectOption('auto~fuelLevel');
  await page.getByLabel('Max', { exact: true }).fill('100');
  await waitFor('the fuel gauge', async () => (await text(page, 'gauge-value')) === String(newest.fuelLevel), 10_000);
  assert.equal(await page.getByTestId('gauge').locator('svg').getAttribute('aria-valuemax'), '100');

  await page.screenshot({ path: path.join(shots, 'telemetry-endpoint-live-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await waitFor('the chart to fit the phone', async () => ((await page.getByTestId('telemetry-chart').boundingBox())?.width ?? 999) <= 390, 10_000);
  await page.screenshot({ path: path.join(shots, 'telemetry-endpoint-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // Endpoint List: the fuel level as a column, following the device live.
  await page.getByRole('link', { name: '← All endpoints' }).click();
  await page.getByRole('button', { name: 'Configure columns' }).click();
  const columns = page.getByRole('dialog', { name: 'Configure columns' });
  await columns.getByRole('button', { name: 'Add column' }).click();
  await columns.getByLabel('What column 1 shows').selectOption('time-series');
  await columns.getByLabel('Time series of column 1').fill('auto~fuelLevel');
  await columns.getByLabel('Header of column 1').fill('Fuel level');
  await columns.getByRole('button', { name: 'Save columns' }).click();
  await columns.waitFor({ state: 'detached' });
  const fuel = page.locator(`tr[data-endpoint-id="${endpointId}"] td[data-label="Fuel level"]`);
  await waitFor('the fuel column', async () => (await fuel.textContent()) === String(newest.fuelLevel), 10_000);
  const last = drive(1, Date.now(), 40)[0]!;
  last.fuelLevel = 42.5;
  await publish(token, [last]);
  await waitFor('the fuel column to follow the device', async () => (await fuel.textContent()) === '42.5', 5_000);
  await page.screenshot({ path: path.join(shots, 'telemetry-list-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, 'telemetry-list-phone.png'), fullPage: true });

  assert.deepEqual(problems, []);
});

test('with a tile server configured but unreachable, the map still draws the track', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  const [{ endpoint, token }] = await Promise.all([harness.tether.services.registry.createEndpoint({ appVersionName: VERSION })]);
  device ??= await mqtt.connectAsync(`mqtt://127.0.0.1:${harness.tether.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  await publish(token, drive(10, Date.now()));

  await signIn(page, `${harness.base}/endpoints/${encodeURIComponent(endpoint.endpointId)}?app=${APP}`);
  await page.waitForLoadState('load');
  await page.getByRole('button', { name: 'Map tiles…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Map tiles' });
  // Port 9 (discard) on loopback: nothing listens, like a tile server behind a missing uplink.
  await dialog.getByLabel('Tile URL').fill('http://127.0.0.1:9/{z}/{x}/{y}.png');
  await dialog.getByLabel('Attribution').fill('Offline tiles <b>test</b>');
  // The page reloads itself: its Content-Security-Policy must name the new tile server.
  // The wait starts before the click, since the reload can finish before a later wait begins.
  const reloaded = page.waitForEvent('load', { timeout: 15_000 });
  await dialog.getByRole('button', { name: 'Save map tiles' }).click();
  await reloaded;
  await page.getByTestId('location-map').waitFor();
  await waitFor('tile requests to be tried', async () => (await page.locator('.leaflet-tile').count()) > 0, 10_000);
  await waitFor('the track on the map', async () => (await page.getByTestId('location-map').locator('path.leaflet-interactive').count()) >= 1, 10_000);
  // The attribution is text, never markup.
  assert.equal(await page.locator('.leaflet-control-attribution b').count(), 0);
  assert.match((await page.locator('.leaflet-control-attribution').textContent()) ?? '', /Offline tiles <b>test<\/b>/);
  await page.getByTestId('location-map').screenshot({ path: path.join(screenshotDir(), 'telemetry-map-tiles-unreachable.png') });
  // Only the unreachable tiles may complain.
  assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(p)), []);
});
