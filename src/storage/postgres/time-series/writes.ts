import type pg from 'pg';
import { errors } from '../../../core/errors.js';
import { COMPACT_AFTER, type EncodedChunk, SMALL_CHUNK, encodeSeries, lastPerTime } from '../../chunks/chunking.js';
import { decodeChunk, sortPoints } from '../../chunks/codec.js';
import type { SeriesPoints, StoredPoint } from '../../time-series.js';
import { isConnectionError } from '../constraint-errors.js';
import { GroupCommit } from '../group-commit.js';
import { ADVISORY_LOCKS } from '../locks.js';

/**
 * One statement for a whole batch of appends: it upserts the series rows (creating new ones,
 * moving their latest point, counting their small chunks) and inserts their chunks, joined through
 * the series key. A single statement commits on its own, so a batch is one round trip and one WAL
 * flush, durable when it returns. Series rows are locked in key order: two nodes appending to the
 * same series lock their rows in the same order and cannot deadlock.
 *
 * A series whose new points reach back to or before its stored latest time (a retransmission, a
 * back-fill) may replace stored points: the statement leaves it alone and answers its index, and
 * `writeOverlapping` rewrites it in a transaction of its own. That is rare; the common batch stays
 * one round trip. A series row another node creates in the same instant is not in `prev` yet: those
 * points are appended as new, so one time could then be stored twice; it takes two nodes writing
 * the same time of a brand-new series at once.
 */
const APPEND = `
WITH k AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::int4[], $13::int8[])
    WITH ORDINALITY AS k(app, ep, name, last_t, last_values, small, min_t, i)
), prev AS (
  SELECT cur.application_name, cur.endpoint_id, cur.name, cur.last_t FROM ts_series cur
    JOIN k ON cur.application_name = k.app COLLATE "C" AND cur.endpoint_id = k.ep COLLATE "C" AND cur.name = k.name COLLATE "C"
   ORDER BY k.i FOR UPDATE OF cur
), kk AS (
  SELECT k.*, coalesce(p.last_t >= k.min_t, false) AS overlap FROM k
    LEFT JOIN prev p ON p.application_name = k.app COLLATE "C" AND p.endpoint_id = k.ep COLLATE "C" AND p.name = k.name COLLATE "C"
), s AS (
  INSERT INTO ts_series AS cur (application_name, endpoint_id, name, last_t, last_values, small_chunks)
  SELECT app, ep, name, last_t, last_values, small FROM kk WHERE NOT overlap ORDER BY i
  ON CONFLICT (application_name, endpoint_id, name) DO UPDATE SET
    small_chunks = cur.small_chunks + excluded.small_chunks,
    last_t = CASE WHEN cur.last_t IS NULL OR cur.last_t <= excluded.last_t THEN excluded.last_t ELSE cur.last_t END,
    last_values = CASE WHEN cur.last_t IS NULL OR cur.last_t <= excluded.last_t THEN excluded.last_values ELSE cur.last_values END
  RETURNING cur.id, cur.application_name, cur.endpoint_id, cur.name
), chunks AS (
  INSERT INTO ts_chunk (series_id, t_max, t_min, n, stats, data)
  SELECT s.id, c.t_max, c.t_min, c.n, c.stats, c.data
    FROM unnest($7::int8[], $8::int8[], $9::int8[], $10::int4[], $11::text[], $12::bytea[]) AS c(i, t_max, t_min, n, stats, data)
    JOIN k ON k.i = c.i
    JOIN s ON s.application_name = k.app COLLATE "C" AND s.endpoint_id = k.ep COLLATE "C" AND s.name = k.name COLLATE "C"
)
SELECT i::int4 AS i FROM kk WHERE overlap`;

interface Pending {
  applicationName: string;
  batch: SeriesPoints[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for appends, like the register's writer (../writer.ts): appends arriving while a
 * statement runs wait, and the next statement takes them all. Points of one series from several
 * appends of a batch become one set of chunks, so 400 messages of one device in a batch write one row.
 * If the statement fails, every append of the batch rejects with UNAVAILABLE: none committed.
 */
export class AppendQueue {
  private readonly commits = new GroupCommit<Pending>((batch) => this.commit(batch));

  constructor(private readonly pool: pg.Pool) {}

  append(applicationName: string, batch: SeriesPoints[]): Promise<void> {
    if (batch.every((group) => group.points.length === 0)) return Promise.resolve();
    // A time the bigint column refuses would fail the statement, and with it every append of the batch.
    const bad = batch.find((group) => group.points.some((p) => !Number.isSafeInteger(p.t)));
    if (bad) return Promise.reject(errors.validation(`a point of ${JSON.stringify(bad.series)} has a time that is not whole milliseconds`));
    return new Promise((resolve, reject) => this.commits.add({ applicationName, batch, resolve, reject }));
  }

  /** Resolves once everything queued so far has committed (or failed). */
  flush(): Promise<void> {
    return this.commits.flush();
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      const { params, entries } = appendParams(batch);
      const { rows } = await this.pool.query<{ i: number }>(APPEND, params);
      // Retried by the device if this fails: replacing points by time makes a retry harmless.
      if (rows.length > 0) await writeOverlapping(this.pool, rows.map((r) => entries[r.i - 1]!));
      for (const p of batch) p.resolve();
    } catch (err) {
      const unavailable = errors.unavailable(err);
      for (const p of batch) p.reject(unavailable);
    }
  }
}

interface SeriesEntry {
  app: string;
  ep: string;
  name: string;
  points: StoredPoint[];
}

function appendParams(batch: Pending[]): { params: unknown[]; entries: SeriesEntry[] } {
  const bySeries = new Map<string, SeriesEntry>();
  for (const { applicationName, batch: groups } of batch) {
    for (const group of groups) {
      if (group.points.length === 0) continue;
      const key = `${applicationName}\u0000${group.endpointId}\u0000${group.series}`;
      const entry = bySeries.get(key);
      if (entry) for (const p of group.points) entry.points.push(p);
      else bySeries.set(key, { app: applicationName, ep: group.endpointId, name: group.series, points: [...group.points] });
    }
  }
  // Key order is lock order (see APPEND); "\u0000" sorts first, like the column's "C" collation.
  const keys = [...bySeries.keys()].sort(compareBytes);
  const series = { app: [] as string[], ep: [] as string[], name: [] as string[], lastT: [] as number[], lastValues: [] as string[], small: [] as number[], minT: [] as number[] };
  const entries: SeriesEntry[] = [];
  const chunks = { i: [] as number[], tMax: [] as number[], tMin: [] as number[], n: [] as number[], stats: [] as Array<string | null>, data: [] as Buffer[] };
  for (const [index, key] of keys.entries()) {
    const entry = bySeries.get(key)!;
    const encoded = encodeSeries(entry.points);
    series.app.push(entry.app);
    series.ep.push(entry.ep);
    series.name.push(entry.name);
    series.lastT.push(encoded.last.t);
    series.lastValues.push(JSON.stringify(encoded.last.values));
    series.small.push(encoded.small);
    series.minT.push(encoded.chunks[0]!.tMin);
    entries.push(entry);
    for (const chunk of encoded.chunks) pushChunk(chunks, index + 1, chunk);
  }
  return {
    params: [series.app, series.ep, series.name, series.lastT, series.lastValues, series.small, chunks.i, chunks.tMax, chunks.tMin, chunks.n, chunks.stats, chunks.data, series.minT],
    entries,
  };
}

interface ChunkColumns {
  i: number[];
  tMax: number[];
  tMin: number[];
  n: number[];
  stats: Array<string | null>;
  data: Buffer[];
}

function pushChunk(columns: ChunkColumns, i: number, chunk: EncodedChunk): void {
  columns.i.push(i);
  columns.tMax.push(chunk.tMax);
  columns.tMin.push(chunk.tMin);
  columns.n.push(chunk.n);
  columns.stats.push(chunk.stats);
  columns.data.push(chunk.data);
}

/** Byte order of the UTF-8 forms, as PostgreSQL's "C" collation compares. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Rewrites of stored chunks (compaction, retention) take this transaction-scoped advisory lock, so
 * that two nodes never rewrite chunks at once: each rewrite claims a chunk by deleting it
 * (`DELETE … RETURNING`), which alone already keeps points from being merged twice, and the lock
 * keeps two rewrites from waiting on each other's chunk rows.
 */
const REWRITE_LOCK = ADVISORY_LOCKS.timeSeriesRewrites;
const INSERT_CHUNKS = `INSERT INTO ts_chunk (series_id, t_max, t_min, n, stats, data)
  SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int4[], $5::text[], $6::bytea[])`;

/** Runs `work` in a transaction; retried when PostgreSQL picked it as a deadlock victim. */
export async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = isConnectionError(err) ? err : undefined;
      if (!broken) await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
      // 40P01 deadlock, 40001 serialization failure: nothing was done, do it again.
      const code = (err as { code?: string }).code;
      if ((code === '40P01' || code === '40001') && attempt < 3) continue;
      throw isConnectionError(err) ? errors.unavailable(err) : err;
    } finally {
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }
}

/**
 * Series whose new points reach into stored time: each rewrites the chunks its points overlap, a
 * new point replacing a stored one of the same time, under the rewrite lock (compaction and
 * retention claim chunks too) and its series row's lock, in key order as appends take them.
 */
async function writeOverlapping(pool: pg.Pool, entries: SeriesEntry[]): Promise<void> {
  await transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [REWRITE_LOCK]);
    for (const entry of entries) {
      const fresh = lastPerTime(sortPoints([...entry.points]));
      // The series may have gone meanwhile (endpoint deleted, retention): then it starts anew.
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO ts_series (application_name, endpoint_id, name) VALUES ($1, $2, $3)
           ON CONFLICT (application_name, endpoint_id, name) DO UPDATE SET small_chunks = ts_series.small_chunks
         RETURNING id`,
        [entry.app, entry.ep, entry.name],
      );
      const seriesId = rows[0]!.id;
      const stored = await client.query<{ id: string; n: number; data: Buffer }>(
        'SELECT id, n, data FROM ts_chunk WHERE series_id = $1 AND t_max >= $2 AND t_min <= $3',
        [seriesId, fresh[0]!.t, fresh[fresh.length - 1]!.t],
      );
      const times = new Set(fresh.map((p) => p.t));
      const kept: StoredPoint[] = [];
      let replaced = false;
      for (const row of stored.rows) {
        for (const point of decodeChunk(row.data)) {
          if (times.has(point.t)) replaced = true;
          else kept.push(point);
        }
      }
      let small = 0;
      if (replaced) {
        await client.query('DELETE FROM ts_chunk WHERE id = ANY($1::int8[])', [stored.rows.map((r) => r.id)]);
        small -= stored.rows.filter((r) => r.n < SMALL_CHUNK).length;
      }
      small += await writeChunks(client, seriesId, replaced ? [...kept, ...fresh] : fresh);
      const last = fresh[fresh.length - 1]!;
      await client.query(
        `UPDATE ts_series SET small_chunks = small_chunks + $2,
           last_t = CASE WHEN last_t IS NULL OR last_t <= $3 THEN $3 ELSE last_t END,
           last_values = CASE WHEN last_t IS NULL OR last_t <= $3 THEN $4 ELSE last_values END
         WHERE id = $1`,
        [seriesId, small, last.t, JSON.stringify(last.values)],
      );
    }
  });
}

/** Inserts `points` (any order) of a series as chunks; resolves with how many are small. */
async function writeChunks(client: pg.PoolClient, seriesId: string, points: StoredPoint[]): Promise<number> {
  if (points.length === 0) return 0;
  const encoded = encodeSeries(points);
  const columns: ChunkColumns = { i: [], tMax: [], tMin: [], n: [], stats: [], data: [] };
  for (const chunk of encoded.chunks) pushChunk(columns, 0, chunk);
  await client.query(INSERT_CHUNKS, [encoded.chunks.map(() => seriesId), columns.tMax, columns.tMin, columns.n, columns.stats, columns.data]);
  return encoded.small;
}

/**
 * Merges the small chunks of up to `maxSeries` series; true when more series wait. Series rows are
 * taken FOR UPDATE SKIP LOCKED: a series an append is writing is left for the next round, and
 * compaction never waits for an append (appends may wait for it, which cannot form a cycle).
 */
export function compact(pool: pg.Pool, maxSeries: number): Promise<boolean> {
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [REWRITE_LOCK]);
    const due = await client.query<{ id: string }>(
      `SELECT id FROM ts_series WHERE small_chunks >= ${COMPACT_AFTER} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [maxSeries + 1],
    );
    const ids = due.rows.slice(0, maxSeries).map((r) => r.id);
    if (ids.length === 0) return false;
    const removed = await client.query<{ series_id: string; data: Buffer }>(
      `DELETE FROM ts_chunk WHERE series_id = ANY($1::int8[]) AND n < ${SMALL_CHUNK} RETURNING series_id, data`,
      [ids],
    );
    const points = new Map<string, StoredPoint[]>(ids.map((id) => [id, []]));
    for (const row of removed.rows) for (const p of decodeChunk(row.data)) points.get(row.series_id)!.push(p);
    const small: number[] = [];
    for (const id of ids) small.push(await writeChunks(client, id, points.get(id)!));
    await client.query('UPDATE ts_series s SET small_chunks = u.small FROM unnest($1::int8[], $2::int4[]) AS u(id, small) WHERE s.id = u.id', [ids, small]);
    return due.rows.length > maxSeries;
  });
}

/** Deletes the application's points older than `cutoff`; resolves with how many this call deleted. */
export function deleteBefore(pool: pg.Pool, applicationName: string, cutoff: number): Promise<number> {
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [REWRITE_LOCK]);
    const whole = await client.query<{ n: number }>(
      `WITH d AS (
         DELETE FROM ts_chunk c USING ts_series s
          WHERE s.application_name = $1 AND c.series_id = s.id AND c.t_max < $2
         RETURNING c.n
       ) SELECT coalesce(sum(n), 0)::float8 AS n FROM d`,
      [applicationName, cutoff],
    );
    let count = whole.rows[0]!.n;
    // Chunks holding points on both sides of the cutoff are rewritten with the newer points only.
    const straddling = await client.query<{ series_id: string; data: Buffer }>(
      `DELETE FROM ts_chunk c USING ts_series s
        WHERE s.application_name = $1 AND c.series_id = s.id AND c.t_min < $2 AND c.t_max >= $2
       RETURNING c.series_id, c.data`,
      [applicationName, cutoff],
    );
    for (const row of straddling.rows) {
      const all = decodeChunk(row.data);
      const kept = all.filter((point) => point.t >= cutoff);
      count += all.length - kept.length;
      await writeChunks(client, row.series_id, kept);
    }
    // Series with no point left; one an append is writing right now is not (its rows are locked).
    await client.query(
      `DELETE FROM ts_series WHERE id IN (
         SELECT id FROM ts_series WHERE application_name = $1 AND last_t < $2 FOR UPDATE SKIP LOCKED)`,
      [applicationName, cutoff],
    );
    return count;
  });
}

/**
 * Every series of the endpoint. The series rows are locked first, in key order as appends lock
 * them; the chunks are deleted by a second statement, whose snapshot includes chunks an append
 * committed while this one waited for its lock.
 */
export function deleteEndpoint(pool: pg.Pool, endpointId: string): Promise<void> {
  return transaction(pool, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `DELETE FROM ts_series WHERE id IN (
         SELECT id FROM ts_series WHERE endpoint_id = $1 ORDER BY application_name, endpoint_id, name FOR UPDATE)
       RETURNING id`,
      [endpointId],
    );
    if (rows.length > 0) await client.query('DELETE FROM ts_chunk WHERE series_id = ANY($1::int8[])', [rows.map((r) => r.id)]);
  });
}

export function putDefinitions(pool: pg.Pool, applicationName: string, doc: string): Promise<void> {
  return pool
    .query('INSERT INTO ts_definitions (application_name, doc) VALUES ($1, $2) ON CONFLICT (application_name) DO UPDATE SET doc = excluded.doc', [applicationName, doc])
    .then(() => undefined, (err: unknown) => Promise.reject(isConnectionError(err) ? errors.unavailable(err) : err));
}
