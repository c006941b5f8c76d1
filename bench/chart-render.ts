/**
 * `npm run bench:chart`: renders the dashboard's telemetry chart (uPlot, with the dashboard's own
 * options and data alignment) with 100,000 points per line in headless Chromium and prints how
 * long the first draw and a live update take and the longest main-thread block. Printed, never
 * asserted; the figures are recorded in docs/dashboard.md.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/platform/package-root.js';
import { chromium } from 'playwright-core';

interface Result {
  points: number;
  lines: number;
  alignMs: number;
  firstDrawMs: number;
  appendMs: number;
  longestTaskMs: number;
}

async function main(): Promise<void> {
  const root = packageRoot();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-chart-bench-'));
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: path.join(root, 'src/dashboard/web'),
    logLevel: 'error',
    build: {
      outDir: out,
      emptyOutDir: true,
      target: 'es2022',
      lib: { entry: path.join(root, 'src/dashboard/web/src/time-series/chart-bench.ts'), formats: ['es'], fileName: 'chart-bench', cssFileName: 'chart-bench' },
    },
  });
  fs.writeFileSync(
    path.join(out, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/chart-bench.css"></head><body><script type="module" src="/chart-bench.js"></script></body></html>',
  );
  const server = http.createServer((req, res) => {
    const file = path.join(out, path.basename((req.url ?? '/').split('?')[0] || 'index.html') || 'index.html');
    if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(fs.readFileSync(path.join(out, 'index.html')));
      return;
    }
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
    res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'runChartBench' in globalThis, undefined, { timeout: 30_000 });
    const results: Result[] = [];
    for (const [points, lines] of [
      [100_000, 1],
      [100_000, 3],
      [600, 3],
    ] as const) {
      // The first run warms up the JIT; the second is reported.
      await page.evaluate(([p, l]) => (globalThis as unknown as { runChartBench(p: number, l: number): Promise<Result> }).runChartBench(p, l), [points, lines] as const);
      results.push(await page.evaluate(([p, l]) => (globalThis as unknown as { runChartBench(p: number, l: number): Promise<Result> }).runChartBench(p, l), [points, lines] as const));
    }
    const ms = (n: number) => `${n.toFixed(0)} ms`;
    console.log('points per line | lines | align data | first draw (incl. align) | live update | longest main-thread task');
    for (const r of results) console.log(`${r.points.toLocaleString('en')} | ${r.lines} | ${ms(r.alignMs)} | ${ms(r.firstDrawMs)} | ${ms(r.appendMs)} | ${ms(r.longestTaskMs)}`);
    console.log(`Chromium ${browser.version()}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, load average ${os.loadavg()[0]!.toFixed(2)}`);
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
