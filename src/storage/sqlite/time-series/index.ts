import type { Database, Statement } from 'better-sqlite3';
import { errors } from '../../../core/errors.js';
import { decodeChunk, decodeChunkColumns, sortPoints } from '../../chunks/codec.js';
import type { Storage } from '../../storage.js';
import type { AggregateQuery, DefinitionsDoc, PointValue, PointValues, RangeQuery, SeriesPoints, StoredPoint, TimeSeriesStorage } from '../../time-series.js';
import { openDatabase } from '../connection.js';
import { SqliteStorage } from '../sqlite-storage.js';
import type { WriterThread } from '../writer.js';
import { packBatch } from './write-ops.js';
import type { StoredStats } from './write-ops.js';

/** Series merged per maintenance call: bounds the time one group commit spends compacting. */
const COMPACT_BATCH = 64;

interface ChunkRow {
  t_min: number;
  t_max: number;
  n: number;
  stats: string | null;
  data: Buffer;
}

/**
 * Time series in the same SQLite file as `storage`, written through its writer thread (one group
 * commit for metadata and data points alike) and read on this thread's own read-only connection.
 * Open it after `storage` and close it before.
 */
export function openSqliteTimeSeriesStorage(storage: Storage): TimeSeriesStorage {
  if (!(storage instanceof SqliteStorage)) throw new Error('SQLite time series storage needs the SQLite storage');
  return new SqliteTimeSeriesStorage(storage.sharedWriter(), openDatabase(storage.file, 'NORMAL'));
}

class SqliteTimeSeriesStorage implements TimeSeriesStorage {
  readonly kind = 'sqlite';
  private closed = false;
  private readonly s: Record<string, Statement<unknown[], unknown>>;

  constructor(
    private readonly writer: WriterThread,
    private readonly db: Database,
  ) {
    db.pragma('query_only = ON');
    const p = (sql: string) => db.prepare<unknown[], unknown>(sql);
    this.s = {
      series: p('SELECT id, last_t, last_values FROM ts_series WHERE application_name = ? AND endpoint_id = ? AND name = ?'),
      seriesOfApp: p('SELECT endpoint_id, name, last_t, last_values FROM ts_series WHERE application_name = ? AND name = ? LIMIT ?'),
      chunks: p('SELECT t_min, t_max, n, stats, data FROM ts_chunk WHERE series_id = ? AND t_max >= ? AND t_min <= ? ORDER BY t_max'),
      chunksBefore: p('SELECT t_min, t_max, n, stats, data FROM ts_chunk WHERE series_id = ? AND t_min < ? ORDER BY t_max DESC'),
      names: p('SELECT DISTINCT name FROM ts_series WHERE application_name = ? ORDER BY name'),
      apps: p('SELECT DISTINCT application_name FROM ts_series'),
      definitions: p('SELECT doc FROM ts_definitions WHERE application_name = ?'),
    };
  }

  append(applicationName: string, batch: SeriesPoints[]): Promise<void> {
    return this.write(() => this.writer.enqueue('appendTimeSeries', applicationName, packBatch(batch)));
  }

  async last(applicationName: string, endpointIds: string[] | undefined, series: string[], before?: number, maxEndpoints = 1000) {
    this.assertOpen();
    const result = new Map<string, Map<string, StoredPoint>>();
    const put = (endpointId: string, name: string, point: StoredPoint) => {
      let bySeries = result.get(endpointId);
      if (!bySeries) result.set(endpointId, (bySeries = new Map()));
      bySeries.set(name, point);
    };
    if (endpointIds === undefined) {
      for (const name of series) {
        for (const row of this.s['seriesOfApp']!.all(applicationName, name, maxEndpoints) as Array<{ endpoint_id: string; last_t: number | null; last_values: string | null }>) {
          if (result.size >= maxEndpoints && !result.has(row.endpoint_id)) continue;
          const point = this.lastOf(row.endpoint_id, applicationName, name, before, row);
          if (point) put(row.endpoint_id, name, point);
        }
      }
      return result;
    }
    for (const endpointId of endpointIds) {
      for (const name of series) {
        const point = this.lastOf(endpointId, applicationName, name, before);
        if (point) put(endpointId, name, point);
      }
    }
    return result;
  }

  private lastOf(endpointId: string, applicationName: string, name: string, before: number | undefined, known?: { last_t: number | null; last_values: string | null }): StoredPoint | undefined {
    const row = (known && before === undefined ? known : this.s['series']!.get(applicationName, endpointId, name)) as { id?: number; last_t: number | null; last_values: string | null } | undefined;
    if (!row || row.last_t === null || row.last_values === null) return undefined;
    if (before === undefined || row.last_t < before) return { t: row.last_t, values: JSON.parse(row.last_values) as PointValues };
    // The latest point before a date: walk chunks newest first until no older chunk can hold a later point.
    const id = row.id ?? (this.s['series']!.get(applicationName, endpointId, name) as { id: number }).id;
    let best: StoredPoint | undefined;
    for (const chunk of this.s['chunksBefore']!.iterate(id, before) as IterableIterator<ChunkRow>) {
      if (best && chunk.t_max <= best.t) break;
      for (const point of decodeChunk(chunk.data)) {
        if (point.t < before && (!best || point.t >= best.t)) best = point;
      }
    }
    return best;
  }

  async range(query: RangeQuery): Promise<{ points: StoredPoint[]; truncated: boolean }> {
    this.assertOpen();
    const id = this.seriesId(query);
    if (id === undefined) return { points: [], truncated: false };
    const points: StoredPoint[] = [];
    for (const chunk of this.s['chunks']!.iterate(id, query.from, query.to) as IterableIterator<ChunkRow>) {
      for (const point of decodeChunk(chunk.data)) {
        if (point.t >= query.from && point.t <= query.to) points.push(point);
      }
    }
    sortPoints(points);
    if (query.order === 'desc') points.reverse();
    const truncated = points.length > query.limit;
    if (truncated) points.length = query.limit;
    return { points, truncated };
  }

  async aggregate(query: AggregateQuery): Promise<StoredPoint[]> {
    this.assertOpen();
    const id = this.seriesId(query);
    if (id === undefined) return [];
    const { from, to, intervalMs } = query;
    const buckets = new Buckets(from, intervalMs, Math.floor((to - from) / intervalMs) + 1);
    for (const chunk of this.s['chunks']!.iterate(id, from, to) as IterableIterator<ChunkRow>) {
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

  async seriesNames(applicationName: string): Promise<string[]> {
    this.assertOpen();
    return this.s['names']!.pluck().all(applicationName) as string[];
  }

  async applications(): Promise<string[]> {
    this.assertOpen();
    return this.s['apps']!.pluck().all() as string[];
  }

  async getDefinitions(applicationName: string): Promise<DefinitionsDoc | undefined> {
    this.assertOpen();
    const doc = this.s['definitions']!.pluck().get(applicationName) as string | undefined;
    return doc === undefined ? undefined : (JSON.parse(doc) as DefinitionsDoc);
  }

  putDefinitions(applicationName: string, doc: DefinitionsDoc): Promise<void> {
    return this.write(() => this.writer.enqueue('putTimeSeriesDefinitions', applicationName, JSON.stringify(doc)));
  }

  deleteBefore(applicationName: string, cutoff: number): Promise<number> {
    return this.write(() => this.writer.enqueue('deleteTimeSeriesBefore', applicationName, cutoff));
  }

  deleteEndpoint(endpointId: string): Promise<void> {
    return this.write(() => this.writer.enqueue('deleteTimeSeriesEndpoint', endpointId));
  }

  maintain(): Promise<boolean> {
    return this.write(() => this.writer.enqueue('compactTimeSeries', COMPACT_BATCH));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private seriesId(query: { applicationName: string; endpointId: string; series: string }): number | undefined {
    const row = this.s['series']!.get(query.applicationName, query.endpointId, query.series) as { id: number } | undefined;
    return row?.id;
  }

  private write<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.assertOpen();
      return fn();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw errors.unavailable();
  }
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
