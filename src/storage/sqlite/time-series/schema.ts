import type { Database } from 'better-sqlite3';
import { COMPACT_AFTER } from '../../chunks/chunking.js';

export { COMPACT_AFTER, FULL_CHUNK, SMALL_CHUNK, STATS_MIN } from '../../chunks/chunking.js';

/**
 * Time series tables, created when missing by the writer thread. Kept out of the numbered
 * migrations (schema.ts): they are independent of the endpoint register, which lets the two evolve
 * (and be merged) separately. `IF NOT EXISTS` makes this idempotent.
 *
 * - ts_series: one row per (application, endpoint, series) with its latest point, so a "last value"
 *   read is one index lookup; `small_chunks` counts chunks waiting to be merged.
 * - ts_chunk: the points, a chunk per row (src/storage/chunks/codec.ts); `stats` (per-value
 *   min/max/sum/count/last) lets downsampled reads skip decoding chunks that fall inside one bucket.
 */
export function ensureTimeSeriesSchema(db: Database): void {
  db.exec(`
  CREATE TABLE IF NOT EXISTS ts_series (
    id                INTEGER PRIMARY KEY,
    application_name  TEXT NOT NULL,
    endpoint_id       TEXT NOT NULL,
    name              TEXT NOT NULL,
    last_t            INTEGER,
    last_values       TEXT,
    small_chunks      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (application_name, endpoint_id, name)
  );
  CREATE INDEX IF NOT EXISTS ts_series_by_name ON ts_series(application_name, name);
  CREATE INDEX IF NOT EXISTS ts_series_by_endpoint ON ts_series(endpoint_id);
  CREATE INDEX IF NOT EXISTS ts_series_to_compact ON ts_series(small_chunks) WHERE small_chunks >= ${COMPACT_AFTER};
  CREATE TABLE IF NOT EXISTS ts_chunk (
    series_id  INTEGER NOT NULL,
    t_max      INTEGER NOT NULL,
    t_min      INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    stats      TEXT,
    data       BLOB NOT NULL
  );
  CREATE INDEX IF NOT EXISTS ts_chunk_by_series ON ts_chunk(series_id, t_max);
  CREATE TABLE IF NOT EXISTS ts_definitions (
    application_name  TEXT PRIMARY KEY,
    doc               TEXT NOT NULL
  ) WITHOUT ROWID;
  `);
}
