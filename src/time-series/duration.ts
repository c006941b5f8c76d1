/**
 * Bucket widths: `500ms`, `10s`, `5m`, `1h`, `1d`, `1w`, ISO-8601 durations without months or years
 * (`PT1M`, `P1D`, `PT0.5S`) or plain milliseconds. Undefined when unreadable.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const SIMPLE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/i;
const ISO = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  const simple = SIMPLE.exec(trimmed);
  if (simple) {
    const ms = Number(simple[1]) * UNITS[(simple[2] ?? 'ms').toLowerCase()]!;
    return Number.isFinite(ms) && ms >= 1 ? Math.round(ms) : undefined;
  }
  const iso = ISO.exec(trimmed);
  if (!iso || trimmed.toUpperCase() === 'P' || trimmed.toUpperCase().endsWith('T')) return undefined;
  const [w, d, h, m, s] = iso.slice(1).map((part) => (part === undefined ? 0 : Number(part)));
  const ms = w! * UNITS['w']! + d! * UNITS['d']! + h! * UNITS['h']! + m! * UNITS['m']! + s! * 1000;
  return Number.isFinite(ms) && ms >= 1 ? Math.round(ms) : undefined;
}
