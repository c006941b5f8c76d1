import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/platform/package-root.js';

export { packageRoot };


/**
 * Builds the SPA from the current sources into a fresh temp dir with Vite's API, so the browser
 * tests always exercise the code under test, never a stale dist/web.
 */
export async function buildSpa(): Promise<string> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'tether-web-'));
  const { build } = await import('vite');
  await build({
    configFile: path.join(packageRoot(), 'src/dashboard/web/vite.config.ts'),
    build: { outDir, emptyOutDir: true, sourcemap: false },
    logLevel: 'error',
  });
  return outDir;
}

export function screenshotDir(): string {
  const dir = path.join(packageRoot(), 'test-artifacts', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
};

/** Every button, link and form control on the page that has no name a screen reader can announce. */
export async function unnamedControls(page: { evaluate<R>(fn: () => R): Promise<R> }): Promise<string[]> {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ outerHTML: string; textContent: string | null; getAttribute(n: string): string | null; labels?: ArrayLike<unknown> | null }> } }).document;
    const unnamed: string[] = [];
    for (const el of Array.from(doc.querySelectorAll('button, a[href], input, select, textarea'))) {
      const named = (el.getAttribute('aria-label') ?? '').trim() !== '' || (el.getAttribute('aria-labelledby') ?? '') !== '' || (el.labels?.length ?? 0) > 0;
      const text = (el.textContent ?? '').trim() !== '';
      if (!named && !(text && !/^<(input|select|textarea)/.test(el.outerHTML))) unnamed.push(el.outerHTML.slice(0, 120));
    }
    return unnamed;
  });
}

/** Fails when the page is wider than `width` (horizontal scrolling at phone width). */
export async function assertNoOverflow(page: { evaluate<R>(fn: () => R): Promise<R> }, what: string, width = 390): Promise<void> {
  const widths = await page.evaluate(() => {
    const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number }; body: { scrollWidth: number } } }).document;
    return { html: doc.documentElement.scrollWidth, body: doc.body.scrollWidth };
  });
  assert.ok(widths.html <= width && widths.body <= width, `${what} overflows at ${width} px: scrollWidth ${widths.html}/${widths.body}`);
}
