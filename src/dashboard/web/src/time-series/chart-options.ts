import type uPlot from 'uplot';
import { formatNumber, gapsOf } from './points.js';

/** Line colours, distinguishable for the common colour-vision deficiencies (Okabe–Ito). */
const LINE_COLORS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442'];

export interface ChartLine {
  label: string;
}

/**
 * uPlot options for the telemetry chart. Shared by the dashboard and the chart benchmark
 * (bench/chart-render.ts), so the measured chart is the shipped one.
 * `xRange` returns the window the operator chose (epoch seconds), so the axis shows the whole
 * window even where there is no data yet; a drag selects a span and calls `onZoom` with it
 * (the caller fetches finer buckets for it) instead of stretching the coarse data.
 */
export function chartOptions(args: {
  width: number;
  height: number;
  lines: readonly ChartLine[];
  xRange: () => [number, number];
  /** Milliseconds between points below which a line is never broken (the bucket: the server's spacing). */
  minGapMs?: () => number;
  onZoom?: (fromMs: number, toMs: number) => void;
}): uPlot.Options {
  // Lines are broken where the device was silent, not where another line has a point (the aligned
  // data's nulls): uPlot's own null gaps are replaced by gaps found in time.
  const drawnGaps: number[] = [];
  const gaps: uPlot.Series.GapsRefiner = (u, seriesIdx) => {
    const xs = u.data[0];
    const pairs = gapsOf(xs, u.data[seriesIdx]!, (args.minGapMs?.() ?? 0) / 1000);
    drawnGaps[seriesIdx - 1] = pairs.length;
    return pairs.map(([a, b]) => [Math.round(u.valToPos(a, 'x', true)), Math.round(u.valToPos(b, 'x', true))] as uPlot.Series.Gap);
  };
  // Not hovering, the legend shows each line's latest value (and its time), not uPlot's "--".
  const lastIndex = (ys: ArrayLike<number | null | undefined>) => {
    for (let i = ys.length - 1; i >= 0; i--) if (ys[i] != null) return i;
    return -1;
  };
  const timeText = (seconds: number) => new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
  return {
    width: args.width,
    height: args.height,
    pxAlign: 0,
    scales: {
      x: { time: true, range: () => args.xRange() },
    },
    series: [
      {
        value: (u: uPlot, v: number | null, _s: number, idx: number | null) => {
          if (idx !== null) return v === null ? '' : timeText(v);
          const xs = u.data[0];
          return xs.length > 0 ? `latest ${timeText(xs[xs.length - 1]!)}` : '';
        },
      },
      ...args.lines.map((line, i) => ({
        label: line.label,
        stroke: LINE_COLORS[i % LINE_COLORS.length],
        width: 1.5,
        spanGaps: false,
        gaps,
        points: { show: false },
        value: (u: uPlot, v: number | null, s: number, idx: number | null) => {
          if (idx !== null) return v == null ? '' : formatNumber(v);
          const ys = u.data[s]!;
          const last = lastIndex(ys);
          return last < 0 ? '' : formatNumber(ys[last]!);
        },
      })),
    ],
    axes: [
      { stroke: '#5b6778', grid: { stroke: '#e6e9ee' }, ticks: { stroke: '#d9dee6' } },
      { stroke: '#5b6778', grid: { stroke: '#e6e9ee' }, ticks: { stroke: '#d9dee6' }, size: 56 },
    ],
    cursor: { drag: { x: true, y: false, setScale: false } },
    legend: { live: true },
    hooks: {
      // The breaks drawn, per line, for whoever reads the page without seeing the canvas (the tests).
      draw: [
        (u: uPlot) => {
          u.root.dataset.gaps = args.lines.map((_, i) => drawnGaps[i] ?? 0).join(',');
        },
      ],
      setSelect: [
        (u: uPlot) => {
          if (u.select.width < 5 || !args.onZoom) return;
          const from = u.posToVal(u.select.left, 'x') * 1000;
          const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          args.onZoom(Math.round(from), Math.round(to));
        },
      ],
    },
  };
}
