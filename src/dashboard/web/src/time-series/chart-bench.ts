/**
 * Browser side of `npm run bench:chart` (bench/chart-render.ts): draws the dashboard's own chart
 * (the same uPlot options and data alignment) with 100,000 points per line and reports how long
 * the page's main thread was blocked. Not part of the shipped SPA.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { chartOptions } from './chart-options.js';
import { alignForChart, type Point } from './points.js';

export interface ChartBenchResult {
  points: number;
  lines: number;
  alignMs: number;
  firstDrawMs: number;
  appendMs: number;
  longestTaskMs: number;
}

const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function series(n: number, phase: number): Point[] {
  const start = Date.now() - n * 10_000;
  const out: Point[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { t: start + i * 10_000, values: { value: 50 + 30 * Math.sin(i / 500 + phase) + Math.random() * 5 } };
  return out;
}

export async function runChartBench(points: number, lines: number): Promise<ChartBenchResult> {
  const tasks: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) tasks.push(entry.duration);
  });
  observer.observe({ type: 'longtask', buffered: false });

  const data = Array.from({ length: lines }, (_, i) => ({ points: series(points, i) }));
  const holder = document.createElement('div');
  holder.style.width = '1200px';
  document.body.appendChild(holder);
  await frame();
  tasks.length = 0;

  const t0 = performance.now();
  const aligned = alignForChart(data);
  const t1 = performance.now();
  const first = data[0]!.points;
  const from = first[0]!.t / 1000;
  const to = first[first.length - 1]!.t / 1000 + 10;
  const u = new uPlot(chartOptions({ width: 1200, height: 300, lines: data.map((_, i) => ({ label: `series ${i + 1}` })), xRange: () => [from, to] }), aligned, holder);
  await frame();
  const t2 = performance.now();

  // A live point: the whole data set is handed over again, as the dashboard does.
  const extended = alignForChart(data.map((d) => ({ points: [...d.points, { t: to * 1000, values: { value: 60 } }] })));
  const t3 = performance.now();
  u.setData(extended);
  await frame();
  const t4 = performance.now();
  await frame();
  observer.disconnect();
  u.destroy();
  holder.remove();
  return { points, lines, alignMs: t1 - t0, firstDrawMs: t2 - t0, appendMs: t4 - t3, longestTaskMs: Math.max(0, ...tasks) };
}

(globalThis as unknown as { runChartBench: typeof runChartBench }).runChartBench = runChartBench;
