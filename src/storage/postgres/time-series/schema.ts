import type pg from 'pg';
import { COMPACT_AFTER, SMALL_CHUNK } from '../../chunks/chunking.js';
import { ADVISORY_LOCKS } from '../locks.js';
import { runMigrations } from '../migrations.js';

/**
 * Time series tables on PostgreSQL, with migrations of their own (`tether_ts_schema.version`),
 * apart from the endpoint register's (../schema.ts), as SQLite keeps them apart: the two evolve
 * and merge separately. Same rules as there: append only, applied under an advisory lock so that
 * exactly one of several starting nodes applies each.
 *
 * Why chunks and not a row per point: a row costs a 24-byte tuple header, a line pointer, the
 * series key, the timestamp, the value and a primary key entry, 60-80 bytes a point, where a chunk
 * of the shared codec (src/storage/chunks/codec.ts, the same bytes as in SQLite) costs 1-3 bytes a
 * point; a year of one series is a few hundred chunk rows found by one index range, and an append
 * batch writes a row per series, whatever its number of points.
 *
 * - ts_series: one row per (application, endpoint, series) with its latest point ("last" reads are
 *   one index lookup) and `small_chunks`, the chunks waiting to be merged (maintenance).
 * - ts_chunk: up to 512 points of one series; `stats` (per value min/max/sum/count/last, JSON as in
 *   SQLite) lets downsampled reads skip decoding chunks that fall inside one bucket. Its key leads
 *   with (series_id, t_max): range reads are one index range per series.
 * - Times are bigint milliseconds; names COLLATE "C" so that lists sort as in SQLite.
 */
const TS_MIGRATIONS: readonly string[] = [
  /* 1: series, chunks, definitions */ `
  CREATE TABLE ts_series (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_name  text COLLATE "C" NOT NULL,
    endpoint_id       text COLLATE "C" NOT NULL,
    name              text COLLATE "C" NOT NULL,
    last_t            bigint,
    last_values       text,
    small_chunks      integer NOT NULL DEFAULT 0,
    CONSTRAINT ts_series_key UNIQUE (application_name, endpoint_id, name)
  );
  CREATE INDEX ts_series_by_name ON ts_series(application_name, name);
  CREATE INDEX ts_series_by_endpoint ON ts_series(endpoint_id);
  CREATE INDEX ts_series_to_compact ON ts_series(id) WHERE small_chunks >= ${COMPACT_AFTER};

  CREATE TABLE ts_chunk (
    series_id  bigint NOT NULL,
    t_max      bigint NOT NULL,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    t_min      bigint NOT NULL,
    n          integer NOT NULL,
    stats      text,
    data       bytea NOT NULL,
    PRIMARY KEY (series_id, t_max, id)
  );
  -- Compaction reads a series' small chunks only.
  CREATE INDEX ts_chunk_small ON ts_chunk(series_id) WHERE n < ${SMALL_CHUNK};
  -- The encoded points are already compact: no TOAST compression attempt on every insert.
  ALTER TABLE ts_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

  CREATE TABLE ts_definitions (
    application_name  text COLLATE "C" PRIMARY KEY,
    doc               text NOT NULL
  );
  `,
];

export async function migrateTimeSeries(client: pg.PoolClient): Promise<void> {
  await runMigrations(client, { name: 'Time series', table: 'tether_ts_schema', lock: ADVISORY_LOCKS.timeSeriesMigrations, migrations: TS_MIGRATIONS });
}
