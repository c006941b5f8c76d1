import { chunkStats, encodeChunk, encodeValueChunk, sortPoints } from './codec.js';
import type { PointValue, PointValues, StoredPoint } from '../time-series.js';

/**
 * How every backend cuts a series' points into chunks (codec.ts) and summarises them, so the
 * SQLite and PostgreSQL layouts hold the same bytes and answer downsampled reads the same way.
 */
export const SMALL_CHUNK = 256;
export const FULL_CHUNK = 512;
/** Chunks this big or bigger carry stats: below it, decoding is as cheap as parsing the stats. */
const STATS_MIN = 64;
/** A series with this many small chunks is due for merging. */
export const COMPACT_AFTER = 8;

/** Stats as stored: numeric values' [min, max, sum, count, last], other values' last. */
export interface StoredStats {
  num: Record<string, [number, number, number, number, number]>;
  other: Record<string, PointValue>;
}

function statsOf(points: readonly StoredPoint[]): StoredStats {
  const other: Record<string, PointValue> = {};
  for (const p of points) {
    for (const name in p.values) {
      const v = p.values[name]!;
      if (typeof v !== 'number') other[name] = v;
    }
  }
  return { num: chunkStats(points), other };
}

export interface EncodedChunk {
  tMin: number;
  tMax: number;
  n: number;
  /** JSON of StoredStats, or null for chunks under STATS_MIN points. */
  stats: string | null;
  data: Buffer;
}

export interface EncodedSeries {
  chunks: EncodedChunk[];
  /** How many of `chunks` are under SMALL_CHUNK points. */
  small: number;
  last: StoredPoint;
}

/** A point that is just `{value: <number>}`, as every extract-all point is. */
export function isSimple(values: PointValues): boolean {
  let keys = 0;
  for (const key in values) {
    if (key !== 'value' || typeof values[key] !== 'number') return false;
    keys++;
  }
  return keys === 1;
}

/**
 * Points of one series sorted by time (stably: points with the same time in the order they were
 * given) with one point per time, the last given: a series holds one value per timestamp, and a
 * later write of a time replaces the earlier one (a device's QoS 1 retransmission, a correction).
 */
export function lastPerTime(sorted: StoredPoint[]): StoredPoint[] {
  let i = 1;
  while (i < sorted.length && sorted[i]!.t !== sorted[i - 1]!.t) i++;
  if (i >= sorted.length) return sorted;
  const kept = sorted.slice(0, i - 1);
  for (; i < sorted.length; i++) if (sorted[i]!.t !== sorted[i - 1]!.t) kept.push(sorted[i - 1]!);
  kept.push(sorted[sorted.length - 1]!);
  return kept;
}

/** Sorted points of one series (at least one, one per time) as chunks of at most FULL_CHUNK points. */
export function encodePointChunks(sorted: readonly StoredPoint[]): EncodedChunk[] {
  const chunks: EncodedChunk[] = [];
  for (let start = 0; start < sorted.length; start += FULL_CHUNK) {
    const part = sorted.slice(start, start + FULL_CHUNK);
    const n = part.length;
    chunks.push({ tMin: part[0]!.t, tMax: part[n - 1]!.t, n, stats: n >= STATS_MIN ? JSON.stringify(statsOf(part)) : null, data: encodeChunk(part) });
  }
  return chunks;
}

/**
 * A `{value: <number>}` series (every extract-all series) held as two arrays, in any order (at
 * least one point), as chunks: encoded from the numbers, without an object per point, since this
 * is the path of nearly every data point a device sends.
 */
export function encodeValueChunks(times: readonly number[], values: readonly number[]): { chunks: EncodedChunk[]; lastT: number; lastV: number } {
  let t = times;
  let v = values;
  let sorted = true;
  for (let i = 1; i < t.length && sorted; i++) if (t[i]! < t[i - 1]!) sorted = false;
  let repeated = false;
  for (let i = 1; i < t.length && !repeated; i++) if (t[i] === t[i - 1]) repeated = true;
  if (!sorted || repeated) {
    // Stable: points with the same time keep the order they came in, and the last one stays.
    const order = t.map((_, i) => i).sort((a, b) => times[a]! - times[b]! || a - b);
    const keep = order.filter((index, k) => k === order.length - 1 || times[order[k + 1]!] !== times[index]);
    t = keep.map((i) => times[i]!);
    v = keep.map((i) => values[i]!);
  }
  const chunks: EncodedChunk[] = [];
  for (let start = 0; start < t.length; start += FULL_CHUNK) {
    const end = Math.min(t.length, start + FULL_CHUNK);
    const n = end - start;
    let stats: string | null = null;
    if (n >= STATS_MIN) {
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (let i = start; i < end; i++) {
        const x = v[i]!;
        if (x < min) min = x;
        if (x > max) max = x;
        sum += x;
      }
      stats = JSON.stringify({ num: { value: [min, max, sum, n, v[end - 1]!] }, other: {} } satisfies StoredStats);
    }
    chunks.push({ tMin: t[start]!, tMax: t[end - 1]!, n, stats, data: encodeValueChunk(t, v, start, end) });
  }
  return { chunks, lastT: t[t.length - 1]!, lastV: v[v.length - 1]! };
}

export const countSmall = (chunks: readonly EncodedChunk[]) => chunks.filter((c) => c.n < SMALL_CHUNK).length;

/** Points of one series (any order, at least one) as chunks of at most FULL_CHUNK points. */
export function encodeSeries(points: StoredPoint[]): EncodedSeries {
  if (!points.every((p) => isSimple(p.values))) {
    const sorted = lastPerTime(sortPoints(points));
    const chunks = encodePointChunks(sorted);
    return { chunks, small: countSmall(chunks), last: sorted[sorted.length - 1]! };
  }
  const { chunks, lastT, lastV } = encodeValueChunks(
    points.map((p) => p.t),
    points.map((p) => p.values['value'] as number),
  );
  return { chunks, small: countSmall(chunks), last: { t: lastT, values: { value: lastV } } };
}
