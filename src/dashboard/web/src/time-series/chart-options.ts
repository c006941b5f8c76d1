import type uPlot from 'uplot';

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
  onZoom?: (fromMs: number, toMs: number) => void;
}): uPlot.Options {
  return {
    width: args.width,
    height: args.height,
    pxAlign: 0,
    scales: {
      x: { time: true, range: () => args.xRange() },
    },
    series: [
      {},
      ...args.lines.map((line, i) => ({
        label: line.label,
        stroke: LINE_COLORS[i % LINE_COLORS.length],
        width: 1.5,
        spanGaps: true,
        points: { show: false },
      })),
    ],
    axes: [
      { stroke: '#5b6778', grid: { stroke: '#e6e9ee' }, ticks: { stroke: '#d9dee6' } },
      { stroke: '#5b6778', grid: { stroke: '#e6e9ee' }, ticks: { stroke: '#d9dee6' }, size: 56 },
    ],
    cursor: { drag: { x: true, y: false, setScale: false } },
    legend: { live: true },
    hooks: {
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
