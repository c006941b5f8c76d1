import { useRef } from 'react';
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { chartOptions, type ChartLine } from './chart-options.js';
import { useUplot } from './use-uplot.js';

/**
 * A uPlot line chart that follows its container's width. uPlot draws on a canvas and handles
 * hundreds of thousands of points per line (see docs/dashboard.md for the measurement).
 * The chart is rebuilt only when the set of lines changes; new data is handed to setData.
 */
export function TimeSeriesChart({
  lines,
  data,
  from,
  to,
  onZoom,
  label,
  bucketMs,
}: {
  lines: readonly ChartLine[];
  data: uPlot.AlignedData;
  from: number;
  to: number;
  onZoom: (from: number, to: number) => void;
  label: string;
  /** The server's bucket for this window: points closer than this are never a gap. */
  bucketMs: number;
}) {
  const holder = useRef<HTMLDivElement>(null);
  const range = useRef<[number, number]>([from / 1000, to / 1000]);
  range.current = [from / 1000, to / 1000];
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const bucket = useRef(bucketMs);
  bucket.current = bucketMs;
  useUplot(holder, {
    make: ({ width, height }) => chartOptions({ width, height, lines, xRange: () => range.current, minGapMs: () => bucket.current, onZoom: (a, b) => zoom.current(a, b) }),
    data,
    heights: [220, 300],
    // Rebuilt only when the lines change: data and range go through setData.
    rebuildKey: lines.map((l) => l.label).join('\n'),
    redrawOn: [from, to],
  });

  return <div ref={holder} className="ts-chart" role="img" aria-label={label} data-testid="telemetry-chart" data-points={data[0].length} data-from={from} data-to={to} />;
}
