import type pg from 'pg';
import { errors, isTetherError } from '../../../core/errors.js';
import { type ChunkRow, aggregateChunks, rangeOfChunks } from '../../chunks/buckets.js';
import { decodeChunk } from '../../chunks/codec.js';
import type { AggregateQuery, DefinitionsDoc, PointValues, RangeQuery, SeriesPoints, StoredPoint, TimeSeriesStorage } from '../../time-series.js';
import { type PoolSettings, createPool } from '../connection.js';
import { redactUrl } from '../redact-url.js';
import { isConnectionError } from '../constraint-errors.js';
import { migrateTimeSeries } from './schema.js';
import { AppendQueue, compact, deleteBefore, deleteEndpoint, putDefinitions } from './writes.js';

/** Series merged per maintenance call: bounds how long the series rows it locks stay locked. */
const COMPACT_BATCH = 64;
/** Chunks read per round trip when looking for the latest point before a date. */
const LAST_BEFORE_PAGE = 8;

const SERIES_KEY = 'application_name = $1 AND endpoint_id = $2 AND name = $3';
/** bigint columns come back as float8: exact for millisecond times, and numbers rather than strings. */
const CHUNK_COLUMNS = 'c.t_min::float8 AS t_min, c.t_max::float8 AS t_max, c.stats, c.data';

/**
 * Time series in PostgreSQL (schema.ts explains the layout), over a pool of their own: appends go
 * through a group commit (writes.ts), reads take any pooled connection. Every node of a cluster
 * opens one on the same database and sees every node's points.
 */
export async function openPostgresTimeSeriesStorage(settings: PoolSettings): Promise<TimeSeriesStorage> {
  const pool = createPool({ maxConnections: 5, ...settings });
  try {
    const client = await pool.connect();
    try {
      await migrateTimeSeries(client);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw errors.dependencyUnreachable('PostgreSQL', redactUrl(settings.url), (err as Error).message ?? String(err), '--database-url (or TETHER_DATABASE_URL)');
  }
  return new PostgresTimeSeriesStorage(pool);
}

class PostgresTimeSeriesStorage implements TimeSeriesStorage {
  readonly kind = 'postgres';
  private readonly appends: AppendQueue;
  private closed = false;

  constructor(private readonly pool: pg.Pool) {
    this.appends = new AppendQueue(pool);
  }

  append(applicationName: string, batch: SeriesPoints[]): Promise<void> {
    return this.guard(() => this.appends.append(applicationName, batch));
  }

  last(applicationName: string, endpointIds: string[] | undefined, series: string[], before?: number, maxEndpoints = 1000): Promise<Map<string, Map<string, StoredPoint>>> {
    return this.guard(async () => {
      const result = new Map<string, Map<string, StoredPoint>>();
      if (series.length === 0 || endpointIds?.length === 0) return result;
      // Without endpoints: the first `maxEndpoints` endpoints (by ID) that have any of the series.
      const { rows } = await this.pool.query<{ id: string; endpoint_id: string; name: string; last_t: number | null; last_values: string | null }>(
        endpointIds === undefined
          ? `SELECT id, endpoint_id, name, last_t::float8 AS last_t, last_values FROM ts_series
              WHERE application_name = $1 AND name = ANY($2::text[]) AND endpoint_id IN (
                SELECT DISTINCT endpoint_id FROM ts_series WHERE application_name = $1 AND name = ANY($2::text[]) ORDER BY endpoint_id LIMIT $3)`
          : `SELECT id, endpoint_id, name, last_t::float8 AS last_t, last_values FROM ts_series
              WHERE application_name = $1 AND name = ANY($2::text[]) AND endpoint_id = ANY($3::text[])`,
        [applicationName, series, endpointIds ?? maxEndpoints],
      );
      for (const row of rows) {
        if (row.last_t === null || row.last_values === null) continue;
        const point = before === undefined || row.last_t < before ? { t: row.last_t, values: JSON.parse(row.last_values) as PointValues } : await this.lastBefore(row.id, before);
        if (!point) continue;
        let bySeries = result.get(row.endpoint_id);
        if (!bySeries) result.set(row.endpoint_id, (bySeries = new Map()));
        bySeries.set(row.name, point);
      }
      return result;
    });
  }

  /** Walks chunks newest first, a page at a time, until no older chunk can hold a later point. */
  private async lastBefore(seriesId: string, before: number): Promise<StoredPoint | undefined> {
    let best: StoredPoint | undefined;
    for (let offset = 0; ; offset += LAST_BEFORE_PAGE) {
      const { rows } = await this.pool.query<ChunkRow>(
        `SELECT ${CHUNK_COLUMNS} FROM ts_chunk c WHERE c.series_id = $1 AND c.t_min < $2 ORDER BY c.t_max DESC, c.id DESC LIMIT ${LAST_BEFORE_PAGE} OFFSET $3`,
        [seriesId, Math.ceil(bounded(before)), offset],
      );
      for (const chunk of rows) {
        if (best && chunk.t_max <= best.t) return best;
        for (const point of decodeChunk(chunk.data)) {
          if (point.t < before && (!best || point.t >= best.t)) best = point;
        }
      }
      if (rows.length < LAST_BEFORE_PAGE) return best;
    }
  }

  range(query: RangeQuery): Promise<{ points: StoredPoint[]; truncated: boolean }> {
    return this.guard(async () => {
      return rangeOfChunks(query, await this.chunks(query));
    });
  }

  aggregate(query: AggregateQuery): Promise<StoredPoint[]> {
    return this.guard(async () => aggregateChunks(query, await this.chunks(query)));
  }

  seriesNames(applicationName: string, endpointId?: string): Promise<string[]> {
    return this.guard(async () => {
      const { rows } =
        endpointId === undefined
          ? await this.pool.query<{ name: string }>('SELECT DISTINCT name FROM ts_series WHERE application_name = $1 ORDER BY name', [applicationName])
          : await this.pool.query<{ name: string }>('SELECT name FROM ts_series WHERE application_name = $1 AND endpoint_id = $2 ORDER BY name', [applicationName, endpointId]);
      return rows.map((r) => r.name);
    });
  }

  applications(): Promise<string[]> {
    return this.guard(async () => (await this.pool.query<{ application_name: string }>('SELECT DISTINCT application_name FROM ts_series ORDER BY application_name')).rows.map((r) => r.application_name));
  }

  getDefinitions(applicationName: string): Promise<DefinitionsDoc | undefined> {
    return this.guard(async () => {
      const { rows } = await this.pool.query<{ doc: string }>('SELECT doc FROM ts_definitions WHERE application_name = $1', [applicationName]);
      return rows[0] === undefined ? undefined : (JSON.parse(rows[0].doc) as DefinitionsDoc);
    });
  }

  putDefinitions(applicationName: string, doc: DefinitionsDoc): Promise<void> {
    return this.guard(() => putDefinitions(this.pool, applicationName, JSON.stringify(doc)));
  }

  deleteBefore(applicationName: string, cutoff: number): Promise<number> {
    return this.guard(() => deleteBefore(this.pool, applicationName, cutoff));
  }

  deleteEndpoint(endpointId: string): Promise<void> {
    return this.guard(() => deleteEndpoint(this.pool, endpointId));
  }

  maintain(): Promise<boolean> {
    return this.guard(() => compact(this.pool, COMPACT_BATCH));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appends.flush();
    await this.pool.end();
  }

  /** The chunks of a series that overlap [from, to], by t_max: one index range. */
  private async chunks(query: { applicationName: string; endpointId: string; series: string; from: number; to: number }): Promise<ChunkRow[]> {
    const { rows } = await this.pool.query<ChunkRow>(
      `SELECT ${CHUNK_COLUMNS} FROM ts_chunk c
        WHERE c.series_id = (SELECT id FROM ts_series WHERE ${SERIES_KEY}) AND c.t_max >= $4 AND c.t_min <= $5
        ORDER BY c.t_max`,
      // Stored times are whole milliseconds: a fractional or huge bound selects the same points.
      [query.applicationName, query.endpointId, query.series, Math.ceil(bounded(query.from)), Math.floor(bounded(query.to))],
    );
    return rows;
  }

  /** Rejects UNAVAILABLE once closed or when the database cannot be reached, as the register does. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) throw errors.unavailable();
    try {
      return await work();
    } catch (err) {
      throw !isTetherError(err) && isConnectionError(err) ? errors.unavailable(err) : err;
    }
  }
}

/** Into the range of safe integers (bigint parameters refuse 1e20). */
function bounded(t: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, t));
}
