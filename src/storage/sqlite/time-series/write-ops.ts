import type { Database } from 'better-sqlite3';
import { COMPACT_AFTER, type EncodedChunk, SMALL_CHUNK, countSmall, encodePointChunks, encodeValueChunks, isSimple, lastPerTime } from '../../chunks/chunking.js';
import { decodeChunk, sortPoints } from '../../chunks/codec.js';
import type { PointValues, SeriesPoints, StoredPoint } from '../../time-series.js';
import { ensureTimeSeriesSchema } from './schema.js';

/**
 * A batch as it crosses to the writer thread. Structured cloning walks every object, so points are
 * flattened: all timestamps in one Float64Array and, for the common single-number point
 * (`{value: 98}`), all values in another; other points travel as one JSON string per series.
 * Cloning this costs a fifth of cloning the point objects.
 */
export interface PackedBatch {
  /** Per series: endpointId, series name, point count, index into `json` or -1 when values are in `v`. */
  groups: Array<string | number>;
  t: Float64Array;
  v: Float64Array;
  json: string[];
}

export function packBatch(batch: readonly SeriesPoints[]): PackedBatch {
  let total = 0;
  for (const group of batch) total += group.points.length;
  const t = new Float64Array(total);
  const v = new Float64Array(total);
  const groups: Array<string | number> = [];
  const json: string[] = [];
  let k = 0;
  for (const group of batch) {
    const simple = group.points.every((p) => isSimple(p.values));
    groups.push(group.endpointId, group.series, group.points.length, simple ? -1 : json.length);
    if (!simple) json.push(JSON.stringify(group.points.map((p) => p.values)));
    for (const point of group.points) {
      t[k] = point.t;
      if (simple) v[k] = point.values['value'] as number;
      k++;
    }
  }
  return { groups, t, v, json };
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
    smallChunks: p(`SELECT rowid, data FROM ts_chunk WHERE series_id = ? AND n < ${SMALL_CHUNK} ORDER BY rowid`),
    lastT: p('SELECT last_t FROM ts_series WHERE id = ?').pluck(),
    overlapping: p('SELECT rowid, n, data FROM ts_chunk WHERE series_id = ? AND t_max >= ? AND t_min <= ?'),
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
  /**
   * The latest stored time per series ID, as ts_series holds it: this thread is the file's only
   * writer, so it can remember what it wrote instead of reading it back at every commit. Cleared with
   * `ids`.
   */
  const latest = new Map<number, number | null>();
  const forgetSeries = () => {
    ids.clear();
    latest.clear();
  };
  function storedLatest(id: number): number | null {
    let t = latest.get(id);
    if (t === undefined) latest.set(id, (t = s.lastT.get(id) as number | null));
    return t;
  }
  function updateSeries(id: number, small: number, t: number, values: string): void {
    s.updateSeries.run({ small, t, v: values, id });
    const before = latest.get(id);
    if (before !== undefined) latest.set(id, before === null || before < t ? t : before);
  }
  /**
   * Points waiting for COMMIT per series. Series whose points are all `{value: <number>}` (every
   * extract-all series) stay as two number arrays and are encoded without an object per point.
   */
  const pending = new Map<number, Pending>();

  function seriesId(applicationName: string, endpointId: string, name: string): number {
    const key = `${applicationName}\u0000${endpointId}\u0000${name}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = s.findSeries.get(applicationName, endpointId, name) as number | undefined;
      if (id === undefined) id = Number(s.insertSeries.run(applicationName, endpointId, name).lastInsertRowid);
      if (ids.size > 200_000) forgetSeries();
      ids.set(key, id);
    }
    return id;
  }

  /** Stores a series' chunks; returns how many are small (due for merging). */
  function insertChunks(id: number, chunks: readonly EncodedChunk[]): number {
    for (const c of chunks) s.insertChunk.run(id, c.tMax, c.tMin, c.n, c.stats, c.data);
    return countSmall(chunks);
  }

  /** Writes points (sorted) as chunks; returns how many are small. */
  const writeChunks = (id: number, points: StoredPoint[]) => insertChunks(id, encodePointChunks(lastPerTime(points)));

  /**
   * Points that reach back into stored time (a retransmission, a back-fill): where one has the time
   * of a stored point it replaces it, so the chunks it overlaps are rewritten without those points.
   * Returns the change in the series' count of small chunks.
   */
  function writeOverlapping(id: number, fresh: StoredPoint[]): number {
    const times = new Set(fresh.map((p) => p.t));
    const rows = s.overlapping.all(id, fresh[0]!.t, fresh[fresh.length - 1]!.t) as Array<{ rowid: number; n: number; data: Buffer }>;
    const kept: StoredPoint[] = [];
    let replaced = false;
    for (const row of rows) {
      for (const point of decodeChunk(row.data)) {
        if (times.has(point.t)) replaced = true;
        else kept.push(point);
      }
    }
    if (!replaced) return writeChunks(id, fresh);
    let small = 0;
    for (const row of rows) {
      s.deleteChunk.run(row.rowid);
      if (row.n < SMALL_CHUNK) small--;
    }
    return small + writeChunks(id, sortPoints([...kept, ...fresh]));
  }

  const ops = {
    appendTimeSeries(applicationName: string, batch: PackedBatch): void {
      const { groups, t, v, json } = batch;
      let k = 0;
      for (let g = 0; g < groups.length; g += 4) {
        const count = groups[g + 2] as number;
        if (count === 0) continue;
        const id = seriesId(applicationName, groups[g] as string, groups[g + 1] as string);
        const jsonIndex = groups[g + 3] as number;
        let entry = pending.get(id);
        if (!entry) pending.set(id, (entry = { t: [], v: [], points: undefined }));
        if (jsonIndex < 0 && entry.points === undefined) {
          for (let i = 0; i < count; i++, k++) {
            entry.t.push(t[k]!);
            entry.v.push(v[k]!);
          }
          continue;
        }
        if (entry.points === undefined) entry.points = entry.t.map((time, i) => ({ t: time, values: { value: entry!.v[i]! } }));
        const values = jsonIndex >= 0 ? (JSON.parse(json[jsonIndex]!) as PointValues[]) : undefined;
        for (let i = 0; i < count; i++, k++) entry.points.push({ t: t[k]!, values: values ? values[i]! : { value: v[k]! } });
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
      if (s.deleteOldSeries.run(applicationName, cutoff).changes > 0) forgetSeries();
      return count;
    },
    deleteTimeSeriesEndpoint(endpointId: string): void {
      s.deleteEndpointChunks.run(endpointId);
      if (s.deleteEndpointSeries.run(endpointId).changes > 0) forgetSeries();
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
      for (const [id, entry] of pending) {
        const storedT = storedLatest(id);
        const firstT = earliest(entry);
        if (storedT !== null && firstT <= storedT) {
          // Rare: most batches only add times after the series' latest.
          const fresh = lastPerTime(sortPoints(entry.points ?? entry.t.map((t, i) => ({ t, values: { value: entry.v[i]! } }))));
          const small = writeOverlapping(id, fresh);
          const last = fresh[fresh.length - 1]!;
          updateSeries(id, small, last.t, JSON.stringify(last.values));
          continue;
        }
        if (entry.points === undefined) {
          const { chunks, lastT, lastV } = encodeValueChunks(entry.t, entry.v);
          const small = insertChunks(id, chunks);
          updateSeries(id, small, lastT, `{"value":${JSON.stringify(lastV)}}`);
          continue;
        }
        const points = lastPerTime(sortPoints(entry.points));
        const small = writeChunks(id, points);
        const last = points[points.length - 1]!;
        updateSeries(id, small, last.t, JSON.stringify(last.values));
      }
      pending.clear();
    },
    discard(): void {
      pending.clear();
      forgetSeries();
    },
  };
}

function earliest(entry: Pending): number {
  let min = Infinity;
  if (entry.points === undefined) for (const t of entry.t) min = t < min ? t : min;
  else for (const p of entry.points) min = p.t < min ? p.t : min;
  return min;
}

interface Pending {
  t: number[];
  v: number[];
  /** Set once the series got a point that is not `{value: <number>}`: then every point is an object. */
  points: StoredPoint[] | undefined;
}

export type TimeSeriesWriteOps = ReturnType<typeof createTimeSeriesWriteOps>['ops'];
