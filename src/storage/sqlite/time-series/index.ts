import type { Database, Statement } from 'better-sqlite3';
import { errors } from '../../../core/errors.js';
import { aggregateChunks, rangeOfChunks } from '../../chunks/buckets.js';
import { decodeChunk } from '../../chunks/codec.js';
import type { Storage } from '../../storage.js';
import type { AggregateQuery, DefinitionsDoc, PointValues, RangeQuery, SeriesPoints, StoredPoint, TimeSeriesStorage } from '../../time-series.js';
import { openDatabase } from '../connection.js';
import { SqliteStorage } from '../sqlite-storage.js';
import type { WriterThread } from '../writer.js';
import { packBatch } from './write-ops.js';

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
      namesOfEndpoint: p('SELECT name FROM ts_series WHERE application_name = ? AND endpoint_id = ? ORDER BY name'),
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
    return rangeOfChunks(query, this.s['chunks']!.iterate(id, query.from, query.to) as IterableIterator<ChunkRow>);
  }

  async aggregate(query: AggregateQuery): Promise<StoredPoint[]> {
    this.assertOpen();
    const id = this.seriesId(query);
    if (id === undefined) return [];
    return aggregateChunks(query, this.s['chunks']!.iterate(id, query.from, query.to) as IterableIterator<ChunkRow>);
  }

  async seriesNames(applicationName: string, endpointId?: string): Promise<string[]> {
    this.assertOpen();
    if (endpointId !== undefined) return this.s['namesOfEndpoint']!.pluck().all(applicationName, endpointId) as string[];
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
