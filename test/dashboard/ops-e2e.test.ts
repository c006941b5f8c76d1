/**
 * The team features of the dashboard (issue 10) in a real headless Chromium against a real
 * `tether start` (ports 0, SQLite in a temp dir): users and roles, API keys, the audit log and
 * metadata history, bulk actions, export/import, metadata filters, the live-feed indicator across a
 * server restart, and no horizontal overflow at 390 px on any page.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/index.js';
import { startTether, type RunningTether } from '../../src/platform/tether.js';
import { buildSpa, CHROMIUM, eventually, screenshotDir } from './helpers.js';

const PASSWORD = 'correct-horse-battery-staple';
const VERSION = 'demo_application_v1';
const APP = 'demo_application';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

let webRoot: string;
let dataDir: string;
let tether: RunningTether;
let browser: Browser;
let base: string;
let httpPort = 0;

async function start(): Promise<void> {
  const config = await loadConfig(
    ['--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', String(httpPort), '--data-dir', dataDir, '--log-level', 'silent'],
    { TETHER_ADMIN_PASSWORD: PASSWORD },
  );
  tether = await startTether(config);
  httpPort = tether.httpPort;
  base = `http://127.0.0.1:${httpPort}`;
}

before(async () => {
  webRoot = await buildSpa();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-ops-'));
  process.env.TETHER_DASHBOARD_WEB_ROOT = webRoot;
  await start();
  browser = await chromium.launch(CHROMIUM);
});

after(async () => {
  await browser?.close();
  await tether?.stop();
  delete process.env.TETHER_DASHBOARD_WEB_ROOT;
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(webRoot, { recursive: true, force: true });
});

/** A page that records console errors and uncaught exceptions. */
async function openPage(viewport = DESKTOP): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { page, problems };
}

async function signIn(page: Page, username = 'admin', password = PASSWORD): Promise<void> {
  await page.goto(base);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
}

/** Fails when the page is wider than the viewport at phone width (horizontal scrolling). */
async function assertNoOverflow(page: Page, what: string): Promise<void> {
  const widths = await page.evaluate(() => {
    const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number }; body: { scrollWidth: number } } }).document;
    return { html: doc.documentElement.scrollWidth, body: doc.body.scrollWidth };
  });
  assert.ok(widths.html <= PHONE.width && widths.body <= PHONE.width, `${what} overflows at ${PHONE.width} px: scrollWidth ${widths.html}/${widths.body}`);
}

/** Screenshots at desktop and phone width, checking the phone layout for overflow; back to desktop. */
async function shoot(page: Page, name: string): Promise<void> {
  const dir = screenshotDir();
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(dir, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await assertNoOverflow(page, name);
  await page.screenshot({ path: path.join(dir, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

const rows = (page: Page) => page.locator('tbody tr[data-endpoint-id]');

test('search covers every metadata value, metadata filters narrow the list, and pages fit 390 px', async () => {
  const { registry } = tether.services;
  for (let i = 1; i <= 3; i++) {
    await registry.createEndpoint({
      appVersionName: VERSION,
      endpointId: `meter-${i}`,
      metadata: { model: i === 3 ? 'A310' : 'A300', site: `Building ${i}`, serial: `SN-00${i}`, ...(i === 1 ? { note: 'a very long note without any spaces: ' + 'x'.repeat(120) } : {}) },
    });
  }
  const { page, problems } = await openPage();
  await signIn(page);
  await eventually('three endpoints', async () => (await rows(page).count()) === 3);

  // `serial` is no column, yet search finds it.
  await page.getByRole('searchbox', { name: 'Search' }).fill('sn-002');
  await eventually('search in a hidden metadata key', async () => (await rows(page).count()) === 1 && (await rows(page).first().getAttribute('data-endpoint-id')) === 'meter-2');
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await eventually('search cleared', async () => (await rows(page).count()) === 3);

  // A filter on any key: model equals A300, then site contains "3" on top finds none.
  await page.getByRole('button', { name: 'Filter by metadata…' }).click();
  const form = page.getByRole('form', { name: 'Add a metadata filter' });
  await form.getByLabel('Metadata key').fill('model');
  await form.getByLabel('Condition').selectOption('equals');
  await form.getByLabel('Value').fill('A300');
  await form.getByRole('button', { name: 'Add filter' }).click();
  await eventually('the model filter', async () => (await rows(page).count()) === 2);
  assert.match(page.url(), /[?&]f=model%3DA300/);
  await shoot(page, 'list-filtered');
  await form.getByLabel('Metadata key').fill('site');
  await form.getByLabel('Condition').selectOption('contains');
  await form.getByLabel('Value').fill('3');
  await form.getByRole('button', { name: 'Add filter' }).click();
  await eventually('both filters', async () => (await page.getByText('No endpoints match.').count()) === 1);
  await page.getByRole('button', { name: /^Remove filter model equals A300/ }).click();
  await eventually('one filter left', async () => (await rows(page).count()) === 1);
  await page.getByRole('button', { name: /^Remove filter site contains 3/ }).click();
  await eventually('no filters', async () => (await rows(page).count()) === 3);

  // The export link follows the filters on screen.
  await page.getByRole('searchbox', { name: 'Search' }).fill('A310');
  await eventually('search', async () => (await rows(page).count()) === 1);
  const csv = await page.evaluate(async (url) => (await fetch(url)).text(), (await page.getByTestId('export-csv').getAttribute('href')) ?? '');
  const lines = csv.trim().split(/\r?\n/);
  assert.equal(lines.length, 2, `one endpoint exported:\n${csv}`);
  assert.match(lines[0] ?? '', /^endpointId,/);
  assert.match(lines[1] ?? '', /^meter-3,/);
  await page.getByRole('searchbox', { name: 'Search' }).fill('');

  // The endpoint page, with the long value, fits the phone too.
  await page.locator('tr[data-endpoint-id="meter-1"]').click();
  await page.getByTestId('endpoint-id').filter({ hasText: 'meter-1' }).waitFor();
  await shoot(page, 'endpoint-page-long-value');
  assert.deepEqual(problems, []);
});

test('the live-feed indicator shows a stopped feed and reconnects by itself after a restart', async () => {
  const { page, problems } = await openPage();
  await signIn(page);
  const indicator = page.getByTestId('live-indicator');
  await eventually('the feed to be live', async () => (await indicator.getAttribute('data-state')) === 'live');

  await tether.stop();
  await eventually('the indicator to say the feed is down', async () => (await indicator.getAttribute('data-state')) === 'down', 15_000);
  assert.match((await indicator.textContent()) ?? '', /Live updates stopped.*out of date/);
  await shoot(page, 'live-feed-down');

  // Same port, same data: the page reconnects without a reload and catches up.
  await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
  await start();
  await tether.services.registry.createEndpoint({ appVersionName: VERSION, endpointId: 'after-restart', metadata: { model: 'R1' } });
  await eventually('the feed to be live again', async () => (await indicator.getAttribute('data-state')) === 'live', 20_000);
  await eventually('the endpoint created during the outage', async () => (await page.locator('tr[data-endpoint-id="after-restart"]').count()) === 1);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument), true);
  // The browser logs the refused reconnection attempts while the server was down; nothing else.
  assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource|EventSource/.test(p)), []);
});
