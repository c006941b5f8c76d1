import type pg from 'pg';
import { ADVISORY_LOCKS } from './locks.js';
import { runMigrations } from './migrations.js';

/**
 * Schema migrations, applied in order; `tether_schema.version` holds how many have run. Append
 * only: never edit a shipped entry. Several nodes may start at once: migrations run under a
 * transaction-scoped advisory lock, so exactly one node applies each.
 *
 * Same layout as the SQLite schema (src/storage/sqlite/schema.ts), with PostgreSQL's tools:
 * - timestamps stay ISO-8601 text (they round-trip exactly and order as the times they name);
 *   columns that are sorted or compared use COLLATE "C", byte order like SQLite's BINARY, so both
 *   backends sort endpoint IDs and metadata strings the same whatever the database's locale;
 * - `endpoints.metadata` is the JSON document as text, not jsonb: jsonb reorders keys and refuses
 *   "\u0000", and Tether returns documents as the device sent them;
 * - `endpoint_metadata` sorts with (sort_kind, sort_num, sort_text): numbers before text, like SQLite;
 * - substring search uses pg_trgm GIN indexes over the lower-cased values and endpoint ID
 *   (LIKE '%needle%'); there is no endpoint-wide search text as in SQLite, so a metadata update
 *   touches the trigram entries of the changed keys only.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1: initial schema */ `
  CREATE EXTENSION IF NOT EXISTS pg_trgm;

  CREATE TABLE applications (
    name          text COLLATE "C" PRIMARY KEY,
    description   text NOT NULL,
    created_date  text NOT NULL
  );

  CREATE TABLE app_versions (
    name                 text COLLATE "C" PRIMARY KEY,
    application_name     text COLLATE "C" NOT NULL REFERENCES applications(name) ON DELETE CASCADE,
    registered_date      text NOT NULL,
    extensions           text NOT NULL,
    metadata_key_access  text NOT NULL
  );
  CREATE INDEX app_versions_by_application ON app_versions(application_name, name);

  CREATE TABLE endpoints (
    seq                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id             text COLLATE "C" NOT NULL UNIQUE,
    application_name        text COLLATE "C" NOT NULL REFERENCES applications(name) ON DELETE CASCADE,
    app_version_name        text COLLATE "C" NOT NULL REFERENCES app_versions(name) ON DELETE CASCADE,
    created_date            text COLLATE "C" NOT NULL,
    metadata_updated_date   text COLLATE "C",
    connected               boolean NOT NULL DEFAULT false,
    connectivity_ts         text COLLATE "C",
    last_connected_date     text,
    last_disconnected_date  text,
    last_seen               text COLLATE "C",
    -- the node whose session made the endpoint connected: a dead node's endpoints are found by it
    connected_node          text,
    metadata                text NOT NULL DEFAULT '{}'
  );
  CREATE INDEX endpoints_by_application_id ON endpoints(application_name, endpoint_id);
  CREATE INDEX endpoints_by_application_created ON endpoints(application_name, created_date, seq);
  CREATE INDEX endpoints_by_application_metadata_updated ON endpoints(application_name, metadata_updated_date, seq);
  CREATE INDEX endpoints_by_application_connectivity ON endpoints(application_name, connectivity_ts, seq);
  CREATE INDEX endpoints_by_application_last_seen ON endpoints(application_name, last_seen, seq);
  CREATE INDEX endpoints_by_application_connected ON endpoints(application_name, connected);
  CREATE INDEX endpoints_by_version ON endpoints(app_version_name);
  CREATE INDEX endpoints_by_node ON endpoints(connected_node) WHERE connected;
  -- Search over all metadata is the endpoint ID's index and endpoint_metadata's: an update rewrites
  -- no endpoint-wide search text and its trigram index entries (the endpoint ID never changes).
  CREATE INDEX endpoints_id_search ON endpoints USING gin (lower(endpoint_id) gin_trgm_ops);

  CREATE TABLE endpoint_metadata (
    endpoint_seq      bigint NOT NULL REFERENCES endpoints(seq) ON DELETE CASCADE,
    key               text COLLATE "C" NOT NULL,
    application_name  text COLLATE "C" NOT NULL,
    canon             text NOT NULL,
    sort_kind         smallint,
    sort_num          double precision,
    sort_text         text COLLATE "C",
    search_text       text NOT NULL,
    PRIMARY KEY (endpoint_seq, key)
  );
  CREATE INDEX endpoint_metadata_by_key ON endpoint_metadata(application_name, key, canon);
  CREATE INDEX endpoint_metadata_sort ON endpoint_metadata(application_name, key, sort_kind, sort_num, sort_text, endpoint_seq);
  CREATE INDEX endpoint_metadata_search ON endpoint_metadata USING gin (search_text gin_trgm_ops);

  CREATE TABLE tokens (
    token_id             text PRIMARY KEY,
    application_name     text NOT NULL,
    endpoint_id          text COLLATE "C" NOT NULL REFERENCES endpoints(endpoint_id) ON DELETE CASCADE,
    token_hash           text NOT NULL,
    status               text NOT NULL,
    created_date         text COLLATE "C" NOT NULL,
    status_updated_date  text NOT NULL,
    hint                 text NOT NULL,
    CONSTRAINT tokens_hash_unique UNIQUE (application_name, token_hash)
  );
  CREATE INDEX tokens_by_endpoint ON tokens(endpoint_id);

  CREATE TABLE settings (
    key    text PRIMARY KEY,
    value  text NOT NULL
  );

  -- Node leases (src/cluster/): a node that stops renewing is dead, and a survivor disconnects its sessions.
  CREATE TABLE tether_nodes (
    node_id       text PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export async function migrate(client: pg.PoolClient): Promise<void> {
  await runMigrations(client, { name: 'Database', table: 'tether_schema', lock: ADVISORY_LOCKS.registerMigrations, migrations: MIGRATIONS });
}
