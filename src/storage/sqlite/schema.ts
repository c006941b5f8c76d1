import type { Database } from 'better-sqlite3';

/**
 * Schema migrations, applied in order. `PRAGMA user_version` holds how many have run, so `init()`
 * is idempotent and a newer Tether upgrades an older file. Append only: never edit a shipped entry.
 *
 * Endpoint metadata lives twice:
 * - `endpoints.metadata`: the whole JSON document, returned as-is (key order and values round-trip);
 * - `endpoint_metadata`: one row per key with derived columns so filters, search and sorting by a
 *   metadata key use indexes instead of parsing 100,000 documents.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1: initial schema */ `
  CREATE TABLE applications (
    name          TEXT PRIMARY KEY,
    description   TEXT NOT NULL,
    created_date  TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE app_versions (
    name                 TEXT PRIMARY KEY,
    application_name     TEXT NOT NULL REFERENCES applications(name) ON DELETE CASCADE,
    registered_date      TEXT NOT NULL,
    extensions           TEXT NOT NULL,
    metadata_key_access  TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX app_versions_by_application ON app_versions(application_name, name);

  -- seq is the compact internal key other tables join on; endpoint_id is the public one.
  CREATE TABLE endpoints (
    seq                    INTEGER PRIMARY KEY,
    endpoint_id            TEXT NOT NULL UNIQUE,
    application_name       TEXT NOT NULL REFERENCES applications(name) ON DELETE CASCADE,
    app_version_name       TEXT NOT NULL REFERENCES app_versions(name) ON DELETE CASCADE,
    created_date           TEXT NOT NULL,
    metadata_updated_date  TEXT,
    connected              INTEGER NOT NULL DEFAULT 0,
    connectivity_ts        TEXT,
    last_seen              TEXT,
    metadata               TEXT NOT NULL DEFAULT '{}',
    -- lower-cased endpoint ID and metadata values, for search over all metadata without a join
    search_text            TEXT NOT NULL DEFAULT ''
  );
  -- Each index ends in the implicit rowid (seq), so "ORDER BY <field>, seq" needs no sort.
  CREATE INDEX endpoints_by_application_id ON endpoints(application_name, endpoint_id);
  CREATE INDEX endpoints_by_application_created ON endpoints(application_name, created_date);
  CREATE INDEX endpoints_by_version ON endpoints(app_version_name);
  CREATE INDEX endpoints_connected ON endpoints(application_name) WHERE connected = 1;

  CREATE TABLE endpoint_metadata (
    endpoint_seq      INTEGER NOT NULL REFERENCES endpoints(seq) ON DELETE CASCADE,
    key               TEXT NOT NULL,
    application_name  TEXT NOT NULL,
    -- canonical JSON (sorted object keys): JSON equality is text equality
    canon             TEXT NOT NULL,
    -- no declared type on purpose: numbers stay numbers and strings stay text, so SQLite orders
    -- them NULL < numbers < text; objects/arrays sort by their canonical JSON text
    sort_value,
    -- the value rendered as text, lower-cased, for case-insensitive "contains"
    search_text       TEXT NOT NULL,
    PRIMARY KEY (endpoint_seq, key)
  ) WITHOUT ROWID;
  -- Serves eq filters, exists filters, sort by metadata.<key> and the keys of an application.
  CREATE INDEX endpoint_metadata_by_key ON endpoint_metadata(application_name, key, sort_value, endpoint_seq);

  CREATE TABLE tokens (
    token_id             TEXT PRIMARY KEY,
    application_name     TEXT NOT NULL,
    endpoint_id          TEXT NOT NULL REFERENCES endpoints(endpoint_id) ON DELETE CASCADE,
    token_hash           TEXT NOT NULL,
    status               TEXT NOT NULL,
    created_date         TEXT NOT NULL,
    status_updated_date  TEXT NOT NULL,
    hint                 TEXT NOT NULL,
    UNIQUE (application_name, token_hash)
  ) WITHOUT ROWID;
  CREATE INDEX tokens_by_endpoint ON tokens(endpoint_id);

  CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Runs the migrations the file has not seen yet, each in its own transaction. */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`Database schema version ${current} is newer than this Tether (${SCHEMA_VERSION}). Upgrade Tether.`);
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      // PRAGMA takes no bound parameters; the value is our own integer.
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
