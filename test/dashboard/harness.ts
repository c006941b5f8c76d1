import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/index.js';
import { startTether, type RunningTether } from '../../src/platform/tether.js';
import assert from 'node:assert/strict';
import { assertNoOverflow, buildSpa, CHROMIUM, screenshotDir, unnamedControls } from './helpers.js';

export const PASSWORD = 'correct-horse-battery-staple';
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/**
 * Screenshots of the page at desktop and phone width (`<name>-1280.png`, `<name>-<phoneSuffix>.png`),
 * failing when a control has no accessible name or the phone layout scrolls sideways.
 */
export async function shootBothWidths(page: Page, name: string, phoneSuffix = '390'): Promise<void> {
  const dir = screenshotDir();
  await page.setViewportSize(DESKTOP);
  assert.deepEqual(await unnamedControls(page), [], `${name}: every control has an accessible name`);
  await page.screenshot({ path: path.join(dir, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await assertNoOverflow(page, name);
  await page.screenshot({ path: path.join(dir, `${name}-${phoneSuffix}.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught exceptions: a test asserts on what it expects here. */
  problems: string[];
}

/**
 * What every browser test of the dashboard stands on: a real `tether start` (ports 0, SQLite in a
 * temp dir, the admin password set) serving a fresh build of the SPA, and a headless Chromium.
 */
export class DashboardHarness {
  tether!: RunningTether;
  base = '';
  private httpPort = 0;

  private constructor(
    private readonly webRoot: string,
    private readonly dataDir: string,
    readonly browser: Browser,
  ) {}

  static async start(): Promise<DashboardHarness> {
    const webRoot = await buildSpa();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
    const harness = new DashboardHarness(webRoot, dataDir, await chromium.launch(CHROMIUM));
    await harness.startTether();
    return harness;
  }

  /** Starts Tether on the data dir, and after a `tether.stop()` again on the same HTTP port, as a restart would. */
  async startTether(): Promise<void> {
    const args = ['--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', String(this.httpPort), '--data-dir', this.dataDir, '--log-level', 'silent'];
    this.tether = await startTether(await loadConfig(args, { TETHER_ADMIN_PASSWORD: PASSWORD }), { dashboardWebRoot: this.webRoot });
    this.httpPort = this.tether.httpPort;
    this.base = `http://127.0.0.1:${this.httpPort}`;
  }

  /** A page in a fresh browser context (its own cookies) that records console errors and uncaught exceptions. */
  async openPage(viewport = DESKTOP, options: { acceptDownloads?: boolean; timeoutMs?: number } = {}): Promise<OpenedPage> {
    const context = await this.browser.newContext({ viewport, ...(options.acceptDownloads && { acceptDownloads: true }) });
    const page = await context.newPage();
    if (options.timeoutMs) page.setDefaultTimeout(options.timeoutMs);
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    return { page, problems };
  }

  /** Fills in and sends the sign-in form at `url` (default: the list); waiting for what follows is the caller's. */
  async signIn(page: Page, options: { url?: string; username?: string; password?: string } = {}): Promise<void> {
    await page.goto(options.url ?? this.base);
    if (options.username) await page.getByLabel('Username').fill(options.username);
    await page.getByLabel('Password').fill(options.password ?? PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async close(): Promise<void> {
    await this.browser.close();
    await this.tether?.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    fs.rmSync(this.webRoot, { recursive: true, force: true });
  }
}
