import type { Database } from 'better-sqlite3';
import { errors } from '../../core/errors.js';
import { ACCOUNTS_MIGRATION, SESSIONS_MIGRATION } from './accounts-schema.js';

/**
 * Schema migrations, applied in order. `PRAGMA user_version` holds how many have run, so `init()`
 * is idempotent and a newer Tether upgrades an older file. Append only: never edit a shipped entry.
 *
 * Endpoint metadata lives twice:
 * - `endpoints.metadata`: the whole JSON document, returned as-is (key order and values round-trip);
 * - `endpoint_metadata`: one row per key with derived columns so filters, search and sorting by a
 *   metadata key use indexes instead of parsing 100,000 documents.
 */
export type Migration = string | ((db: Database) => void);

export const MIGRATIONS: readonly Migration[] = [
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
  /* 2: trigram search index and endpoint counts */ addSearchIndex,
  /* 3: an index per sortable endpoint column, and one for the connected state */ `
  -- The endpoint list walks (application_name, <sort column>) in order, so a page costs index steps,
  -- not a sort of the whole application (see endpoint-query.ts). (application_name, connected) also
  -- serves the connected filter and the set of an application's connected (or disconnected) endpoints.
  CREATE INDEX endpoints_by_application_metadata_updated ON endpoints(application_name, metadata_updated_date);
  CREATE INDEX endpoints_by_application_connectivity ON endpoints(application_name, connectivity_ts);
  CREATE INDEX endpoints_by_application_last_seen ON endpoints(application_name, last_seen);
  CREATE INDEX endpoints_by_application_connected ON endpoints(application_name, connected);
  `,
  /* 4: last connect and last disconnect kept apart, for the endpoint's connection history */ `
  ALTER TABLE endpoints ADD COLUMN last_connected_date TEXT;
  ALTER TABLE endpoints ADD COLUMN last_disconnected_date TEXT;
  -- connectivity_ts is the latest edge, and the connected flag tells which edge it was; the
  -- other edge was never recorded and stays NULL.
  UPDATE endpoints SET last_connected_date = connectivity_ts WHERE connected = 1 AND connectivity_ts IS NOT NULL;
  UPDATE endpoints SET last_disconnected_date = connectivity_ts WHERE connected = 0 AND connectivity_ts IS NOT NULL;
  `,
  /* 5: users, API keys, audit log, metadata history (docs/accounts.md; served by accounts.ts) */ ACCOUNTS_MIGRATION,
  /* 6: which node holds an endpoint's session (several nodes share a PostgreSQL database; one SQLite
        file has one node, and its sessions all say so or say nothing: NULL) */ `
  ALTER TABLE endpoints ADD COLUMN connected_node TEXT;
  `,
  /* 7: dashboard sessions in a table of their own instead of a settings document */ SESSIONS_MIGRATION,
];

/**
 * Substring search ("contains", `search`) without scanning: one FTS5 trigram index holds every
 * metadata value and every endpoint ID, one row each, lower-cased by the application (JavaScript's
 * Unicode lower-casing; SQLite's lower() is ASCII-only), so the index matches case-sensitively.
 *
 * An index row's rowid is `endpoint_seq * 2^32 + key_id`, key_id 0 being the endpoint ID. A match
 * thus names its endpoint and key without a lookup, and a row is found for update/delete from the
 * metadata row alone. Key IDs are never deleted or reused, so an ID always means the same key.
 * The index is contentless (the text is already in endpoint_metadata.search_text) with
 * contentless_delete, so replacing a value does not have to re-read the old text.
 *
 * Triggers record every change of endpoint_metadata (including foreign-key cascades from
 * deleteEndpoint and deleteApplication) in endpoint_search_pending, and the writer applies that
 * queue to the index in bulk just before each commit (flushSearchIndex in write-ops.ts), in the same transaction.
 * Writing the index from the triggers directly would be simpler but slow: every statement that
 * fires a trigger opens a statement savepoint, and FTS5 flushes its in-memory terms to a new
 * segment at each savepoint, so a batch of 5,000 writes made 5,000 tiny segments to merge.
 * The endpoint ID row is queued by insertEndpoint (it needs JavaScript's lower-casing).
 *
 * endpoint_counts holds how many endpoints each application has, connected or not, so the
 * dashboard's unfiltered and connected-only counts do not walk 100,000s of index entries.
 */
export const SEARCH_KEY_BITS = 4294967296;

/** Queues one index row: `existed` remembers whether the index holds it since the last flush. */
function queueSearchRow(rowid: string, existed: 0 | 1, text: string): string {
  return `INSERT INTO endpoint_search_pending (rowid, existed, text) VALUES (${rowid}, ${existed}, ${text})
      ON CONFLICT (rowid) DO UPDATE SET text = excluded.text;`;
}

function addSearchIndex(db: Database): void {
  const keyId = (row: 'new' | 'old') => `(SELECT id FROM metadata_keys WHERE key = ${row}.key)`;
  db.exec(`
  CREATE TABLE metadata_keys (
    id   INTEGER PRIMARY KEY,
    key  TEXT NOT NULL UNIQUE
  );
  CREATE VIRTUAL TABLE endpoint_search USING fts5(
    text, content='', contentless_delete=1, tokenize='trigram case_sensitive 1'
  );
  -- text NULL: delete the row
  CREATE TABLE endpoint_search_pending (
    rowid    INTEGER PRIMARY KEY,
    existed  INTEGER NOT NULL,
    text     TEXT
  );
  INSERT INTO metadata_keys (key) SELECT DISTINCT key FROM endpoint_metadata ORDER BY key;
  INSERT INTO endpoint_search (rowid, text)
    SELECT m.endpoint_seq * ${SEARCH_KEY_BITS} + k.id, m.search_text
    FROM endpoint_metadata m JOIN metadata_keys k ON k.key = m.key ORDER BY 1;

  CREATE TRIGGER endpoint_metadata_search_insert AFTER INSERT ON endpoint_metadata BEGIN
    INSERT OR IGNORE INTO metadata_keys (key) VALUES (new.key);
    ${queueSearchRow(`new.endpoint_seq * ${SEARCH_KEY_BITS} + ${keyId('new')}`, 0, 'new.search_text')}
  END;
  CREATE TRIGGER endpoint_metadata_search_update AFTER UPDATE OF search_text ON endpoint_metadata
    WHEN old.search_text IS NOT new.search_text BEGIN
    ${queueSearchRow(`new.endpoint_seq * ${SEARCH_KEY_BITS} + ${keyId('new')}`, 1, 'new.search_text')}
  END;
  CREATE TRIGGER endpoint_metadata_search_delete AFTER DELETE ON endpoint_metadata BEGIN
    ${queueSearchRow(`old.endpoint_seq * ${SEARCH_KEY_BITS} + ${keyId('old')}`, 1, 'NULL')}
  END;
  CREATE TRIGGER endpoints_search_delete AFTER DELETE ON endpoints BEGIN
    ${queueSearchRow(`old.seq * ${SEARCH_KEY_BITS}`, 1, 'NULL')}
  END;

  CREATE TABLE endpoint_counts (
    application_name  TEXT NOT NULL,
    connected         INTEGER NOT NULL,
    n                 INTEGER NOT NULL,
    PRIMARY KEY (application_name, connected)
  ) WITHOUT ROWID;
  INSERT INTO endpoint_counts (application_name, connected, n)
    SELECT application_name, connected, count(*) FROM endpoints GROUP BY application_name, connected;
  CREATE TRIGGER endpoints_count_insert AFTER INSERT ON endpoints BEGIN
    INSERT INTO endpoint_counts (application_name, connected, n) VALUES (new.application_name, new.connected, 1)
      ON CONFLICT (application_name, connected) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER endpoints_count_delete AFTER DELETE ON endpoints BEGIN
    UPDATE endpoint_counts SET n = n - 1 WHERE application_name = old.application_name AND connected = old.connected;
  END;
  CREATE TRIGGER endpoints_count_update AFTER UPDATE OF connected ON endpoints
    WHEN old.connected IS NOT new.connected BEGIN
    UPDATE endpoint_counts SET n = n - 1 WHERE application_name = old.application_name AND connected = old.connected;
    INSERT INTO endpoint_counts (application_name, connected, n) VALUES (new.application_name, new.connected, 1)
      ON CONFLICT (application_name, connected) DO UPDATE SET n = n + 1;
  END;
  `);
  // The endpoint ID rows need JavaScript's lower-casing (see above). Migrations run in one
  // transaction, and these single-row inserts open no savepoint, so FTS5 buffers them all.
  const insert = db.prepare(`INSERT INTO endpoint_search (rowid, text) VALUES (? * ${SEARCH_KEY_BITS}, ?)`);
  for (const row of db.prepare('SELECT seq, endpoint_id FROM endpoints').all() as Array<{ seq: number; endpoint_id: string }>) {
    insert.run(row.seq, row.endpoint_id.toLowerCase());
  }
}

export const SCHEMA_VERSION = MIGRATIONS.length;


/** Runs the migrations the file has not seen yet, each in its own transaction. */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw errors.schemaTooNew('Database', current, SCHEMA_VERSION);
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      const migration = MIGRATIONS[version]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      // PRAGMA takes no bound parameters; the value is our own integer.
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
