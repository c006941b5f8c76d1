/** The chart's time window: a preset that follows the clock, or fixed instants (custom or zoomed). */
export type TimeRange = { kind: 'preset'; preset: PresetName } | { kind: 'fixed'; from: number; to: number };

export type PresetName = '15m' | '1h' | '24h' | '7d';

export const PRESETS: ReadonlyArray<{ name: PresetName; label: string; ms: number }> = [
  { name: '15m', label: '15 min', ms: 15 * 60_000 },
  { name: '1h', label: '1 h', ms: 3_600_000 },
  { name: '24h', label: '24 h', ms: 86_400_000 },
  { name: '7d', label: '7 d', ms: 7 * 86_400_000 },
];

export function windowOf(range: TimeRange, now: number): { from: number; to: number } {
  if (range.kind === 'fixed') return { from: range.from, to: range.to };
  const ms = PRESETS.find((p) => p.name === range.preset)?.ms ?? 3_600_000;
  return { from: now - ms, to: now };
}

export function rangeKey(range: TimeRange): string {
  return range.kind === 'preset' ? range.preset : `${range.from}-${range.to}`;
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
