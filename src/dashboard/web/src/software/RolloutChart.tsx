import { useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useUplot } from '../time-series/use-uplot.js';
import type { Rollout, TimelinePoint } from './software-api.js';

/** Okabe–Ito, as the telemetry chart: applied bluish green, failed vermillion. */
const APPLIED = '#009e73';
const FAILED = '#d55e00';

/**
 * Devices applied and failed so far (cumulative) over the rollout's minutes, from its start to its
 * last change; the same uPlot the telemetry chart uses.
 */
export function cumulative(rollout: Rollout, timeline: readonly TimelinePoint[], nowMs = Date.now()): uPlot.AlignedData {
  const open = rollout.state === 'running' || rollout.state === 'paused';
  // An open rollout's chart runs to now; a finished one's to its last change.
  const endS = Math.max(Date.parse(rollout.createdAt), open ? nowMs : Date.parse(rollout.updatedAt)) / 1000;
  const xs: number[] = [Date.parse(rollout.createdAt) / 1000];
  const applied: number[] = [0];
  const failed: number[] = [0];
  let a = 0;
  let f = 0;
  for (const p of [...timeline].sort((x, y) => x.at.localeCompare(y.at))) {
    a += p.applied;
    f += p.failed;
    // A minute's devices finished within it: its point sits at the minute's end, or at the end of
    // the chart when that comes first (a rollout done in seconds), never before the previous point.
    xs.push(Math.max(xs[xs.length - 1]!, Math.min(Date.parse(p.at) / 1000 + 60, endS)));
    applied.push(a);
    failed.push(f);
  }
  // The counts are current while the timeline's minute is still filling: end on them.
  xs.push(Math.max(xs[xs.length - 1]!, endS));
  applied.push(Math.max(a, rollout.counts.applied));
  failed.push(Math.max(f, rollout.counts.failed + rollout.counts.timed_out));
  return [xs, applied, failed];
}

export function RolloutChart({ rollout, timeline }: { rollout: Rollout; timeline: readonly TimelinePoint[] }) {
  const holder = useRef<HTMLDivElement>(null);
  const data = useMemo(() => cumulative(rollout, timeline), [rollout, timeline]);
  useUplot(holder, {
    make: ({ width, height }) => ({
      width,
      height,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [
        {},
        { label: 'Applied', stroke: APPLIED, width: 2, fill: 'rgba(0, 158, 115, 0.12)', paths: uPlot.paths.stepped!({ align: 1 }) },
        { label: 'Failed', stroke: FAILED, width: 2, paths: uPlot.paths.stepped!({ align: 1 }) },
      ],
      axes: [{}, { label: 'Devices', size: 50 }],
      cursor: { drag: { x: false, y: false } },
      // Labels only: the totals are in the counts above and in the chart's accessible name.
      legend: { live: false },
    }),
    data,
    heights: [200, 260],
  });

  const appliedNow = data[1]![data[1]!.length - 1] ?? 0;
  const failedNow = data[2]![data[2]!.length - 1] ?? 0;
  return (
    <div
      ref={holder}
      className="ts-chart rollout-chart"
      role="img"
      aria-label={`Devices applied and failed over time: ${appliedNow} applied, ${failedNow} failed so far`}
      data-testid="rollout-chart"
      data-applied={appliedNow}
    />
  );
}
