import { parsePath } from '../../../../time-series/extract.js';
import type { KaaPoint, KaaSeriesAnswer } from './epts.js';

/** A data point in the browser: time in epoch milliseconds, the value fields and the tags. */
export interface Point {
  t: number;
  values: Record<string, unknown>;
  tags?: Record<string, unknown>;
}

/** Every series of one endpoint, by name, each sorted by time. */
export type SeriesPoints = Map<string, Point[]>;

function toPoint(p: KaaPoint): Point | undefined {
  const t = Date.parse(p.timestamp);
  if (Number.isNaN(t) || typeof p.values !== 'object' || p.values === null) return undefined;
  return p.tags && typeof p.tags === 'object' ? { t, values: p.values, tags: p.tags } : { t, values: p.values };
}

/** The series of `endpointId` in a Kaa EPTS answer (the outer array may split endpoints across items). */
export function pointsOf(answer: KaaSeriesAnswer, endpointId: string): SeriesPoints {
  const out: SeriesPoints = new Map();
  for (const item of answer) {
    const bySeries = item[endpointId];
    if (!bySeries) continue;
    for (const [name, points] of Object.entries(bySeries)) {
      const list = out.get(name) ?? [];
      for (const p of points) {
        const point = toPoint(p);
        if (point) list.push(point);
      }
      list.sort((a, b) => a.t - b.t);
      out.set(name, list);
    }
  }
  return out;
}

/** Latest point of each series of each endpoint in a `last` answer: endpointId → series → point. */
export function latestOf(answer: KaaSeriesAnswer): Map<string, Map<string, Point>> {
  const out = new Map<string, Map<string, Point>>();
  for (const item of answer) {
    for (const [endpointId, bySeries] of Object.entries(item)) {
      const row = out.get(endpointId) ?? new Map<string, Point>();
      for (const [name, points] of Object.entries(bySeries)) {
        for (const p of points) {
          const point = toPoint(p);
          const known = row.get(name);
          if (point && (!known || point.t >= known.t)) row.set(name, point);
        }
      }
      out.set(endpointId, row);
    }
  }
  return out;
}

/** The number a series shows: its `value` field, else its first numeric (or boolean) field. */
export function numberOf(point: Point | undefined, field?: string): number | null {
  if (!point) return null;
  const pick = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? (v ? 1 : 0) : null);
  if (field !== undefined) return pick(point.values[field]);
  if ('value' in point.values) return pick(point.values.value);
  for (const v of Object.values(point.values)) {
    const n = pick(v);
    if (n !== null) return n;
  }
  return null;
}

export function formatNumber(n: number | null): string {
  if (n === null) return '—';
  const abs = Math.abs(n);
  return n.toLocaleString(undefined, { maximumFractionDigits: abs >= 1000 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 4 });
}

/**
 * A round gauge scale around the values seen: from 0 (or the lowest value) to the maximum plus
 * 10 %, rounded up at its second significant digit (94 → 110, 0.42 → 0.47).
 */
export function niceScale(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 100];
  const lo = Math.min(0, ...values);
  let hi = Math.max(...values);
  if (hi <= lo) hi = lo + 1;
  const top = hi > 0 ? hi * 1.1 : hi;
  const step = 10 ** (Math.floor(Math.log10(Math.max(Math.abs(top), Math.abs(lo), 1e-9))) - 1);
  const round = (n: number) => Number(n.toPrecision(12));
  return [round(Math.floor(round(lo / step)) * step), round(Math.ceil(round(top / step)) * step)];
}

const NICE_INTERVALS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

/**
 * The downsampling bucket for a time range: the smallest round interval giving at most `buckets`
 * points, so a 7-day chart asks for ~600 averages rather than every sample.
 */
export function bucketFor(rangeMs: number, buckets = 600): number {
  const wanted = rangeMs / buckets / 1000;
  const nice = NICE_INTERVALS_S.find((s) => s >= wanted) ?? Math.ceil(wanted / 86_400) * 86_400;
  return nice * 1000;
}

/** Adds live points to a sorted list: a point with a known time replaces it; points before `from` go. */
export function mergePoints(points: readonly Point[], added: readonly Point[], from: number): Point[] {
  const byTime = new Map<number, Point>();
  for (const p of points) if (p.t >= from) byTime.set(p.t, p);
  for (const p of added) if (p.t >= from) byTime.set(p.t, p);
  return [...byTime.values()].sort((a, b) => a.t - b.t);
}

/**
 * uPlot's data: one shared x array (epoch seconds) and one y array per line, aligned, with null
 * where a series has no point at that time (uPlot draws across those gaps with `spanGaps`).
 */
export function alignForChart(lines: ReadonlyArray<{ points: readonly Point[]; field?: string }>): [Float64Array, ...Array<Array<number | null>>] {
  if (lines.length === 1) {
    const only = lines[0]!;
    const xs = new Float64Array(only.points.length);
    const ys: Array<number | null> = new Array(only.points.length);
    only.points.forEach((p, i) => {
      xs[i] = p.t / 1000;
      ys[i] = numberOf(p, only.field);
    });
    return [xs, ys];
  }
  // Each line is sorted by time: a k-way merge keeps this linear (100,000 points × 3 lines in tens of ms).
  const next = lines.map(() => 0);
  const xs: number[] = [];
  const ys = lines.map((): Array<number | null> => []);
  for (;;) {
    let t = Infinity;
    lines.forEach((line, j) => {
      const p = line.points[next[j]!];
      if (p && p.t < t) t = p.t;
    });
    if (t === Infinity) break;
    xs.push(t / 1000);
    lines.forEach((line, j) => {
      const p = line.points[next[j]!];
      if (p && p.t === t) {
        ys[j]!.push(numberOf(p, line.field));
        next[j]!++;
      } else {
        ys[j]!.push(null);
      }
    });
  }
  return [Float64Array.from(xs), ...ys];
}

export interface TrackPoint {
  t: number;
  lat: number;
  lon: number;
}

const LAT_KEYS = ['latitude', 'lat'];
const LON_KEYS = ['longitude', 'lon', 'lng'];

function coordinate(record: Record<string, unknown> | undefined, keys: string[]): number | undefined {
  if (!record) return undefined;
  for (const key of keys) {
    const v = record[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

function validTrackPoint(t: number, lat: number | undefined, lon: number | undefined): TrackPoint | undefined {
  if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  return { t, lat, lon };
}

/** `auto~latitude` and `latitude` both name a latitude series. */
const baseName = (name: string) => name.slice(name.lastIndexOf('~') + 1);

/**
 * Where the endpoint was: from a series carrying latitude and longitude (as value fields or as
 * tags, Kaa's tutorial style), else by pairing a latitude series with a longitude series
 * (`extract-all` makes `auto~latitude` and `auto~longitude`) at equal timestamps.
 */
export function trackOf(series: SeriesPoints): { source: string; track: TrackPoint[] } | undefined {
  for (const [name, points] of series) {
    const track = points.flatMap((p) => {
      const tp = validTrackPoint(p.t, coordinate(p.values, LAT_KEYS) ?? coordinate(p.tags, LAT_KEYS), coordinate(p.values, LON_KEYS) ?? coordinate(p.tags, LON_KEYS));
      return tp ? [tp] : [];
    });
    if (track.length > 0) return { source: name, track };
  }
  const names = [...series.keys()];
  const latName = names.find((n) => LAT_KEYS.includes(baseName(n)));
  const lonName = names.find((n) => LON_KEYS.includes(baseName(n)));
  if (!latName || !lonName) return undefined;
  const lons = new Map<number, number | null>();
  for (const p of series.get(lonName) ?? []) lons.set(p.t, numberOf(p));
  const track = (series.get(latName) ?? []).flatMap((p) => {
    const tp = validTrackPoint(p.t, numberOf(p) ?? undefined, lons.get(p.t) ?? undefined);
    return tp ? [tp] : [];
  });
  return track.length > 0 ? { source: `${latName} + ${lonName}`, track } : undefined;
}

/**
 * True for series that mainly carry a position (`auto~latitude`, or Kaa's tutorial `Location`
 * whose value is a timestamp and whose tags are the coordinates): left off the chart by default,
 * since degrees next to litres say little; the map shows them.
 */
export function isPositionSeries(name: string, values: readonly string[]): boolean {
  const base = baseName(name);
  if (LAT_KEYS.includes(base) || LON_KEYS.includes(base)) return true;
  const hasLat = values.some((v) => LAT_KEYS.includes(v));
  const hasLon = values.some((v) => LON_KEYS.includes(v));
  return hasLat && hasLon && (/location|position|gps|track/i.test(base) || values.every((v) => LAT_KEYS.includes(v) || LON_KEYS.includes(v)));
}

/** A series whose points carry coordinates, or a latitude/longitude series: the map reads it. */
export function carriesPosition(name: string, values: readonly string[]): boolean {
  const base = baseName(name);
  return LAT_KEYS.includes(base) || LON_KEYS.includes(base) || (values.some((v) => LAT_KEYS.includes(v)) && values.some((v) => LON_KEYS.includes(v)));
}

export interface LiveAppend {
  endpointId: string;
  series: Map<string, Point[]>;
}

function kaaPoints(value: unknown): KaaPoint[] {
  if (Array.isArray(value)) return value as KaaPoint[];
  if (value && typeof value === 'object' && 'timestamp' in value) return [value as KaaPoint];
  return [];
}

/**
 * Reads a `time-series.appended` live event (docs/time-series.md): `latest` maps each series to its
 * newest point (a list of points is accepted too).
 */
export function parseAppended(event: unknown): LiveAppend | undefined {
  if (!event || typeof event !== 'object') return undefined;
  const e = event as { type?: unknown; endpointId?: unknown; latest?: unknown };
  if (e.type !== 'time-series.appended' || typeof e.endpointId !== 'string' || !e.latest || typeof e.latest !== 'object') return undefined;
  const series = new Map<string, Point[]>();
  for (const [name, raw] of Object.entries(e.latest)) {
    const points = kaaPoints(raw).flatMap((p) => {
      const point = toPoint(p);
      return point ? [point] : [];
    });
    if (points.length > 0) series.set(name, points);
  }
  return series.size > 0 ? { endpointId: e.endpointId, series } : undefined;
}

/**
 * Where a line is broken: between two of its points further apart than `minGap` (in x units,
 * epoch seconds here) and than three times the line's typical spacing (its median), so a device
 * that stopped and started again shows two runs, not a straight line across the silence, while
 * a device that always reports every minute is not broken at every point. `ys` is one aligned
 * line: null or undefined where the line has no point (another line's time), which is no gap.
 * Returns the [x of the point before, x of the point after] of each gap.
 */
export function gapsOf(xs: ArrayLike<number>, ys: ArrayLike<number | null | undefined>, minGap: number): Array<[number, number]> {
  const at: number[] = [];
  for (let i = 0; i < ys.length; i++) if (ys[i] != null) at.push(xs[i]!);
  if (at.length < 2) return [];
  const steps = new Float64Array(at.length - 1);
  for (let i = 1; i < at.length; i++) steps[i - 1] = at[i]! - at[i - 1]!;
  const sorted = steps.slice().sort();
  const limit = Math.max(minGap, 3 * sorted[Math.floor(sorted.length / 2)]!);
  const gaps: Array<[number, number]> = [];
  steps.forEach((step, i) => {
    if (step > limit) gaps.push([at[i]!, at[i + 1]!]);
  });
  return gaps;
}

/** The top-level sample field a defined series' value comes from, read as the server reads paths. */
function topLevelField(valueField: string): string | undefined {
  const keys = parsePath(valueField);
  return keys.length === 1 ? keys[0] : undefined;
}

/**
 * The `auto~<field>` series that say what a defined series already says: extract-all makes
 * `auto~fuelLevel` from every sample that a definition `FuelLevel` (value field `fuelLevel`) also
 * reads, so both hold the same values at the same times. Maps each duplicate to the defined name.
 */
export function duplicateAutoSeries(names: readonly string[], definitions: ReadonlyArray<{ name: string; valueField: string }>): Map<string, string> {
  const present = new Set(names);
  const out = new Map<string, string>();
  for (const def of definitions) {
    const field = topLevelField(def.valueField);
    const auto = field === undefined ? undefined : `auto~${field}`;
    if (auto && present.has(auto) && !out.has(auto)) out.set(auto, def.name);
  }
  return out;
}
