/**
 * The chart's time window: a preset that follows the clock, the endpoint's data from its first
 * point to now (what the chart opens on, so a few seconds of data are not a sliver of an hour),
 * or fixed instants (custom, zoomed, or data that ended a while ago).
 */
export type TimeRange = { kind: 'preset'; preset: PresetName } | { kind: 'data'; from: number } | { kind: 'fixed'; from: number; to: number };

export type PresetName = '15m' | '1h' | '24h' | '7d';

export const PRESETS: ReadonlyArray<{ name: PresetName; label: string; ms: number }> = [
  { name: '15m', label: '15 min', ms: 15 * 60_000 },
  { name: '1h', label: '1 h', ms: 3_600_000 },
  { name: '24h', label: '24 h', ms: 86_400_000 },
  { name: '7d', label: '7 d', ms: 7 * 86_400_000 },
];

/** The narrowest window the data range shows: a first sample is a point, not the whole width. */
export const MIN_DATA_WINDOW_MS = 30_000;
/** A device silent longer than this has stopped: its data is shown as a fixed range, not up to now. */
export const LIVE_WITHIN_MS = 15 * 60_000;
/** How far back the data range looks for the first point. */
export const DATA_LOOKBACK_MS = 7 * 86_400_000;

/** Room on either side of the data, so the first and last points are not on the chart's edges. */
export const marginOf = (spanMs: number) => Math.max(1000, Math.round(spanMs * 0.03));

/** True for the ranges that follow the clock (live points are merged, the window slides). */
export const isLive = (range: TimeRange) => range.kind !== 'fixed';

/**
 * The range that holds the data between `first` and `newest` (epoch ms): from the first point to
 * now while the device is still sending, else a fixed window around the data.
 */
export function fitRange(first: number, newest: number, now: number): TimeRange {
  if (now - newest <= LIVE_WITHIN_MS) return { kind: 'data', from: first };
  const margin = marginOf(newest - first);
  return { kind: 'fixed', from: first - margin, to: newest + margin };
}

export function windowOf(range: TimeRange, now: number): { from: number; to: number } {
  if (range.kind === 'fixed') return { from: range.from, to: range.to };
  if (range.kind === 'data') {
    const span = Math.max(now - range.from, MIN_DATA_WINDOW_MS);
    return { from: now - span - marginOf(span), to: now };
  }
  const ms = PRESETS.find((p) => p.name === range.preset)?.ms ?? 3_600_000;
  return { from: now - ms, to: now };
}

export function rangeKey(range: TimeRange): string {
  return range.kind === 'preset' ? range.preset : range.kind === 'data' ? `data-${range.from}` : `${range.from}-${range.to}`;
}

/** `datetime-local` input value (local time, minutes) for an instant, and back. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function fromLocalInput(value: string): number | undefined {
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}
