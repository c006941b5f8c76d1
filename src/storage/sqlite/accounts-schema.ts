/**
 * Migration 5: the tables of accounts.ts. The single dashboard account that earlier versions kept
 * in the `dashboard.admin` setting becomes the user `admin` with the admin role, same hash.
 */
export const ACCOUNTS_MIGRATION = `
  CREATE TABLE users (
    username               TEXT PRIMARY KEY,
    role                   TEXT NOT NULL,
    password_hash          TEXT NOT NULL,
    created_date           TEXT NOT NULL,
    password_changed_date  TEXT NOT NULL,
    last_sign_in_date      TEXT
  ) WITHOUT ROWID;

  CREATE TABLE api_keys (
    key_id          TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    hint            TEXT NOT NULL,
    created_date    TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    last_used_date  TEXT,
    status          TEXT NOT NULL,
    revoked_date    TEXT
  ) WITHOUT ROWID;

  CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    actor_kind      TEXT NOT NULL,
    actor_name      TEXT NOT NULL,
    actor_role      TEXT,
    client_address  TEXT,
    action          TEXT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    endpoint_id     TEXT,
    target          TEXT,
    before          TEXT,
    after           TEXT
  );
  CREATE INDEX audit_log_by_at ON audit_log(at);
  CREATE INDEX audit_log_by_endpoint ON audit_log(endpoint_id, id) WHERE endpoint_id IS NOT NULL;
  CREATE INDEX audit_log_by_actor ON audit_log(actor_name, id);

  CREATE TABLE metadata_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id  TEXT NOT NULL,
    at           TEXT NOT NULL,
    source       TEXT NOT NULL,
    metadata     TEXT NOT NULL
  );
  CREATE INDEX metadata_history_by_endpoint ON metadata_history(endpoint_id, id);
  CREATE INDEX metadata_history_by_at ON metadata_history(at);

  INSERT INTO users (username, role, password_hash, created_date, password_changed_date)
    SELECT json_extract(value, '$.username'), 'admin',
      json_object('algorithm', 'scrypt', 'N', json_extract(value, '$.N'), 'r', json_extract(value, '$.r'),
        'p', json_extract(value, '$.p'), 'salt', json_extract(value, '$.salt'), 'hash', json_extract(value, '$.hash')),
      json_extract(value, '$.createdDate'), json_extract(value, '$.createdDate')
    FROM settings WHERE key = 'dashboard.admin' AND json_valid(value) AND json_extract(value, '$.algorithm') = 'scrypt';
  DELETE FROM settings WHERE key = 'dashboard.admin';
`;

/**
 * Migration 7: dashboard sessions get a table of their own (accounts.ts) instead of one settings
 * document rewritten on every sign-in, so that several nodes on one database (PostgreSQL, the same
 * table) can add and end sessions without overwriting each other's. The document's sessions that
 * have not expired move over; those saved before `created` existed began one TTL (12 h) before
 * they expire, as the document's reader assumed.
 */
export const SESSIONS_MIGRATION = `
  CREATE TABLE dashboard_sessions (
    digest        TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    created_date  TEXT NOT NULL,
    expires_date  TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX dashboard_sessions_by_user ON dashboard_sessions(username);
  CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions(expires_date);

  INSERT OR IGNORE INTO dashboard_sessions (digest, username, created_date, expires_date)
    SELECT s.key, json_extract(s.value, '$.username'),
      strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(json_extract(s.value, '$.created'), json_extract(s.value, '$.expires') - 43200000) / 1000.0, 'unixepoch'),
      strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(s.value, '$.expires') / 1000.0, 'unixepoch')
    FROM (SELECT value FROM settings WHERE key = 'dashboard.sessions' AND json_valid(value)) AS doc, json_each(doc.value) AS s
    -- CASE: json_type() on a value that is not an object fails, whatever order the terms run in.
    WHERE CASE WHEN s.type = 'object' THEN json_type(s.value, '$.username') = 'text' AND json_type(s.value, '$.expires') IN ('integer', 'real')
        AND json_extract(s.value, '$.expires') > strftime('%s', 'now') * 1000 ELSE 0 END;
  DELETE FROM settings WHERE key = 'dashboard.sessions';
`;
