import { chunkStats, encodeChunk, encodeValueChunk, sortPoints } from './codec.js';
import type { PointValue, PointValues, StoredPoint } from '../time-series.js';

/**
 * How every backend cuts a series' points into chunks (codec.ts) and summarises them, so the
 * SQLite and PostgreSQL layouts hold the same bytes and answer downsampled reads the same way.
 */
export const SMALL_CHUNK = 256;
export const FULL_CHUNK = 512;
/** Chunks this big or bigger carry stats: below it, decoding is as cheap as parsing the stats. */
export const STATS_MIN = 64;
/** A series with this many small chunks is due for merging. */
export const COMPACT_AFTER = 8;

/** Stats as stored: numeric values' [min, max, sum, count, last], other values' last. */
export interface StoredStats {
  num: Record<string, [number, number, number, number, number]>;
  other: Record<string, PointValue>;
}

export function statsOf(points: readonly StoredPoint[]): StoredStats {
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

function isSimple(values: PointValues): boolean {
  let keys = 0;
  for (const key in values) {
    if (key !== 'value' || typeof values[key] !== 'number') return false;
    keys++;
  }
  return keys === 1;
}

/**
 * Points of one series (any order, at least one) as chunks of at most FULL_CHUNK points. Series
 * whose points are all `{value: <number>}` (every extract-all series) are encoded from number
 * arrays, without an object per point.
 */
export function encodeSeries(points: StoredPoint[]): EncodedSeries {
  if (!points.every((p) => isSimple(p.values))) {
    const sorted = sortPoints(points);
    const chunks: EncodedChunk[] = [];
    for (let start = 0; start < sorted.length; start += FULL_CHUNK) {
      const part = sorted.slice(start, start + FULL_CHUNK);
      const n = part.length;
      chunks.push({ tMin: part[0]!.t, tMax: part[n - 1]!.t, n, stats: n >= STATS_MIN ? JSON.stringify(statsOf(part)) : null, data: encodeChunk(part) });
    }
    return { chunks, small: chunks.filter((c) => c.n < SMALL_CHUNK).length, last: sorted[sorted.length - 1]! };
  }
  const sorted = sortPoints(points);
  const t = sorted.map((p) => p.t);
  const v = sorted.map((p) => p.values['value'] as number);
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
  return { chunks, small: chunks.filter((c) => c.n < SMALL_CHUNK).length, last: sorted[sorted.length - 1]! };
}
