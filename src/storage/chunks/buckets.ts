import type { AggregateQuery, PointValue, PointValues, StoredPoint } from '../time-series.js';
import type { StoredStats } from './chunking.js';
import { decodeChunkColumns } from './codec.js';

/** A stored chunk as reads see it, whatever the backend's row looks like. */
export interface ChunkRow {
  t_min: number;
  t_max: number;
  stats: string | null;
  data: Uint8Array;
}

/** Downsampled read over the chunks that overlap [from, to]: one point per non-empty bucket. */
export function aggregateChunks(query: AggregateQuery, chunks: Iterable<ChunkRow>): StoredPoint[] {
  const { from, to, intervalMs } = query;
  const buckets = new Buckets(from, intervalMs, Math.floor((to - from) / intervalMs) + 1);
  for (const chunk of chunks) {
    const first = Math.floor((chunk.t_min - from) / intervalMs);
    // A chunk wholly inside one bucket is read from its stats, without decoding its points.
    if (chunk.stats !== null && chunk.t_min >= from && chunk.t_max <= to && first === Math.floor((chunk.t_max - from) / intervalMs)) {
      buckets.addStats(first, JSON.parse(chunk.stats) as StoredStats, chunk.t_max);
      continue;
    }
    const { n, t, columns } = decodeChunkColumns(chunk.data);
    for (const column of columns) {
      const acc = column.numbers ? buckets.numeric(column.name) : undefined;
      for (let i = 0; i < n; i++) {
        const ti = t[i]!;
        if (ti < from || ti > to) continue;
        const b = Math.floor((ti - from) / intervalMs);
        if (acc) acc.add(b, column.numbers![i]!, ti);
        else {
          const v = column.values![i];
          if (v !== null && v !== undefined) buckets.addOther(b, column.name, v, ti);
        }
      }
    }
  }
  return buckets.result(query.fn, query.order);
}

/** Per value name, min / max / sum / count / last of every bucket, in typed arrays. */
class NumericBuckets {
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly sum: Float64Array;
  readonly count: Float64Array;
  readonly last: Float64Array;
  readonly lastT: Float64Array;

  constructor(size: number) {
    this.min = new Float64Array(size).fill(Infinity);
    this.max = new Float64Array(size).fill(-Infinity);
    this.sum = new Float64Array(size);
    this.count = new Float64Array(size);
    this.last = new Float64Array(size);
    this.lastT = new Float64Array(size).fill(-Infinity);
  }

  add(b: number, v: number, t: number): void {
    if (v < this.min[b]!) this.min[b] = v;
    if (v > this.max[b]!) this.max[b] = v;
    this.sum[b] = this.sum[b]! + v;
    this.count[b] = this.count[b]! + 1;
    if (t >= this.lastT[b]!) {
      this.last[b] = v;
      this.lastT[b] = t;
    }
  }

  addStats(b: number, [min, max, sum, count, last]: [number, number, number, number, number], t: number): void {
    if (min < this.min[b]!) this.min[b] = min;
    if (max > this.max[b]!) this.max[b] = max;
    this.sum[b] = this.sum[b]! + sum;
    this.count[b] = this.count[b]! + count;
    if (t >= this.lastT[b]!) {
      this.last[b] = last;
      this.lastT[b] = t;
    }
  }
}

class Buckets {
  private readonly numbers = new Map<string, NumericBuckets>();
  private readonly others = new Map<number, Map<string, { value: PointValue; t: number }>>();
  private readonly used: Uint8Array;

  constructor(
    private readonly from: number,
    private readonly intervalMs: number,
    private readonly size: number,
  ) {
    this.used = new Uint8Array(size);
  }

  numeric(name: string): { add(b: number, v: number, t: number): void } {
    let acc = this.numbers.get(name);
    if (!acc) this.numbers.set(name, (acc = new NumericBuckets(this.size)));
    const used = this.used;
    const target = acc;
    return {
      add(b, v, t) {
        used[b] = 1;
        target.add(b, v, t);
      },
    };
  }

  addStats(b: number, stats: StoredStats, t: number): void {
    this.used[b] = 1;
    for (const [name, s] of Object.entries(stats.num)) {
      let acc = this.numbers.get(name);
      if (!acc) this.numbers.set(name, (acc = new NumericBuckets(this.size)));
      acc.addStats(b, s, t);
    }
    for (const [name, value] of Object.entries(stats.other)) this.addOther(b, name, value, t);
  }

  addOther(b: number, name: string, value: PointValue, t: number): void {
    this.used[b] = 1;
    let byName = this.others.get(b);
    if (!byName) this.others.set(b, (byName = new Map()));
    const seen = byName.get(name);
    if (!seen || t >= seen.t) byName.set(name, { value, t });
  }

  result(fn: AggregateQuery['fn'], order: 'asc' | 'desc'): StoredPoint[] {
    const points: StoredPoint[] = [];
    for (let b = 0; b < this.size; b++) {
      if (this.used[b] === 0) continue;
      const values: PointValues = {};
      for (const [name, acc] of this.numbers) {
        if (acc.count[b] === 0) continue;
        values[name] = fn === 'avg' ? acc.sum[b]! / acc.count[b]! : fn === 'min' ? acc.min[b]! : fn === 'max' ? acc.max[b]! : acc.last[b]!;
      }
      const others = this.others.get(b);
      if (others) for (const [name, seen] of others) values[name] = seen.value;
      points.push({ t: this.from + b * this.intervalMs, values });
    }
    return order === 'desc' ? points.reverse() : points;
  }
}
