import type { Database } from 'better-sqlite3';
import { chunkStats, decodeChunk, encodeChunk, sortPoints } from '../../chunks/codec.js';
import type { PointValue, SeriesPoints, StoredPoint } from '../../time-series.js';
import { COMPACT_AFTER, FULL_CHUNK, SMALL_CHUNK, STATS_MIN, ensureTimeSeriesSchema } from './schema.js';

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

/**
 * The writer thread's time series operations (run inside SqliteStorage's group-commit transaction,
 * write-worker.ts). Appends are gathered per series for the whole transaction and written as one
 * chunk each just before COMMIT: a commit that carries 400 messages of one device writes one row.
 */
export function createTimeSeriesWriteOps(db: Database) {
  ensureTimeSeriesSchema(db);
  const p = (sql: string) => db.prepare(sql);
  const s = {
    findSeries: p('SELECT id FROM ts_series WHERE application_name = ? AND endpoint_id = ? AND name = ?').pluck(),
    insertSeries: p('INSERT INTO ts_series (application_name, endpoint_id, name) VALUES (?, ?, ?)'),
    insertChunk: p('INSERT INTO ts_chunk (series_id, t_max, t_min, n, stats, data) VALUES (?, ?, ?, ?, ?, ?)'),
    updateSeries: p(`UPDATE ts_series SET small_chunks = small_chunks + @small,
      last_t = CASE WHEN last_t IS NULL OR last_t <= @t THEN @t ELSE last_t END,
      last_values = CASE WHEN last_t IS NULL OR last_t <= @t THEN @v ELSE last_values END
      WHERE id = @id`),
    toCompact: p(`SELECT id FROM ts_series WHERE small_chunks >= ${COMPACT_AFTER} LIMIT ?`).pluck(),
    smallChunks: p(`SELECT rowid, data FROM ts_chunk WHERE series_id = ? AND n < ${SMALL_CHUNK}`),
    deleteChunk: p('DELETE FROM ts_chunk WHERE rowid = ?'),
    setSmall: p('UPDATE ts_series SET small_chunks = ? WHERE id = ?'),
    countOld: p('SELECT coalesce(sum(n), 0) FROM ts_chunk WHERE series_id IN (SELECT id FROM ts_series WHERE application_name = ?) AND t_max < ?').pluck(),
    deleteOld: p('DELETE FROM ts_chunk WHERE series_id IN (SELECT id FROM ts_series WHERE application_name = ?) AND t_max < ?'),
    straddling: p('SELECT rowid, series_id, data FROM ts_chunk WHERE series_id IN (SELECT id FROM ts_series WHERE application_name = ?) AND t_min < ? AND t_max >= ?'),
    deleteOldSeries: p('DELETE FROM ts_series WHERE application_name = ? AND last_t < ?'),
    deleteEndpointChunks: p('DELETE FROM ts_chunk WHERE series_id IN (SELECT id FROM ts_series WHERE endpoint_id = ?)'),
    deleteEndpointSeries: p('DELETE FROM ts_series WHERE endpoint_id = ?'),
    putDefinitions: p('INSERT INTO ts_definitions (application_name, doc) VALUES (?, ?) ON CONFLICT (application_name) DO UPDATE SET doc = excluded.doc'),
  };

  /** Series IDs by application, endpoint and name; cleared on rollback (rows it names may be gone). */
  const ids = new Map<string, number>();
  const pending = new Map<number, StoredPoint[]>();

  function seriesId(applicationName: string, endpointId: string, name: string): number {
    const key = `${applicationName}\u0000${endpointId}\u0000${name}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = s.findSeries.get(applicationName, endpointId, name) as number | undefined;
      if (id === undefined) id = Number(s.insertSeries.run(applicationName, endpointId, name).lastInsertRowid);
      if (ids.size > 200_000) ids.clear();
      ids.set(key, id);
    }
    return id;
  }

  /** Writes points (sorted) as chunks of at most FULL_CHUNK; returns how many are small. */
  function writeChunks(id: number, points: StoredPoint[]): number {
    let small = 0;
    for (let start = 0; start < points.length; start += FULL_CHUNK) {
      const part = points.slice(start, start + FULL_CHUNK);
      const n = part.length;
      if (n < SMALL_CHUNK) small++;
      const stats = n >= STATS_MIN ? JSON.stringify(statsOf(part)) : null;
      s.insertChunk.run(id, part[n - 1]!.t, part[0]!.t, n, stats, encodeChunk(part));
    }
    return small;
  }

  const ops = {
    appendTimeSeries(applicationName: string, batch: SeriesPoints[]): void {
      for (const group of batch) {
        if (group.points.length === 0) continue;
        const id = seriesId(applicationName, group.endpointId, group.series);
        const list = pending.get(id);
        if (list) for (const point of group.points) list.push(point);
        else pending.set(id, group.points.slice());
      }
    },
    /** Merges the small chunks of up to `maxSeries` series; true when more series wait. */
    compactTimeSeries(maxSeries: number): boolean {
      const due = s.toCompact.all(maxSeries + 1) as number[];
      for (const id of due.slice(0, maxSeries)) {
        const rows = s.smallChunks.all(id) as Array<{ rowid: number; data: Buffer }>;
        const points: StoredPoint[] = [];
        for (const row of rows) {
          for (const point of decodeChunk(row.data)) points.push(point);
          s.deleteChunk.run(row.rowid);
        }
        const small = points.length > 0 ? writeChunks(id, sortPoints(points)) : 0;
        s.setSmall.run(small, id);
      }
      return due.length > maxSeries;
    },
    deleteTimeSeriesBefore(applicationName: string, cutoff: number): number {
      let count = s.countOld.get(applicationName, cutoff) as number;
      s.deleteOld.run(applicationName, cutoff);
      // Chunks holding points on both sides of the cutoff are rewritten with the newer points only.
      for (const row of s.straddling.all(applicationName, cutoff, cutoff) as Array<{ rowid: number; series_id: number; data: Buffer }>) {
        const all = decodeChunk(row.data);
        const kept = all.filter((point) => point.t >= cutoff);
        count += all.length - kept.length;
        s.deleteChunk.run(row.rowid);
        if (kept.length > 0) writeChunks(row.series_id, kept);
      }
      if (s.deleteOldSeries.run(applicationName, cutoff).changes > 0) ids.clear();
      return count;
    },
    deleteTimeSeriesEndpoint(endpointId: string): void {
      s.deleteEndpointChunks.run(endpointId);
      if (s.deleteEndpointSeries.run(endpointId).changes > 0) ids.clear();
    },
    putTimeSeriesDefinitions(applicationName: string, doc: string): void {
      s.putDefinitions.run(applicationName, doc);
    },
  };

  return {
    ops,
    /** Just before COMMIT: one chunk per series appended to in this transaction, and its latest point. */
    beforeCommit(): void {
      if (pending.size === 0) return;
      for (const [id, points] of pending) {
        sortPoints(points);
        const small = writeChunks(id, points);
        const last = points[points.length - 1]!;
        s.updateSeries.run({ small, t: last.t, v: JSON.stringify(last.values), id });
      }
      pending.clear();
    },
    discard(): void {
      pending.clear();
      ids.clear();
    },
  };
}

export type TimeSeriesWriteOps = ReturnType<typeof createTimeSeriesWriteOps>['ops'];
