import { ADVISORY_LOCKS } from './locks.js';
import type { MigrationSet } from './migrations.js';

/**
 * The account tables (accounts.ts): the same layout as SQLite's migrations 5 and 7
 * (src/storage/sqlite/accounts-schema.ts). A migration set of their own, versioned in
 * `tether_accounts_schema`: the account store opens them alone (its own pool, and the offline
 * `tether admin reset-password`), and they evolve without renumbering the main schema.
 *
 * As in schema.ts: timestamps are ISO-8601 text, sorted columns COLLATE "C" (byte order, like
 * SQLite), JSON documents text rather than jsonb (kept as written, key order included).
 */
export const ACCOUNT_MIGRATIONS: MigrationSet = {
  name: 'Account',
  table: 'tether_accounts_schema',
  lock: ADVISORY_LOCKS.accountMigrations,
  migrations: [
    /* 1: users, API keys, dashboard sessions, audit log, metadata history */ `
    CREATE TABLE users (
      username               text COLLATE "C" PRIMARY KEY,
      role                   text NOT NULL,
      password_hash          text NOT NULL,
      created_date           text NOT NULL,
      password_changed_date  text NOT NULL,
      last_sign_in_date      text
    );

    CREATE TABLE api_keys (
      key_id          text COLLATE "C" PRIMARY KEY,
      name            text NOT NULL,
      role            text NOT NULL,
      key_hash        text NOT NULL CONSTRAINT api_keys_hash_key UNIQUE,
      hint            text NOT NULL,
      created_date    text COLLATE "C" NOT NULL,
      created_by      text NOT NULL,
      last_used_date  text,
      status          text NOT NULL,
      revoked_date    text
    );

    CREATE TABLE dashboard_sessions (
      digest        text PRIMARY KEY,
      username      text NOT NULL,
      created_date  text NOT NULL,
      expires_date  text COLLATE "C" NOT NULL
    );
    CREATE INDEX dashboard_sessions_by_user ON dashboard_sessions(username);
    CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions(expires_date);

    CREATE TABLE audit_log (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at              text COLLATE "C" NOT NULL,
      actor_kind      text NOT NULL,
      actor_name      text NOT NULL,
      actor_role      text,
      client_address  text,
      action          text NOT NULL,
      method          text NOT NULL,
      path            text NOT NULL,
      endpoint_id     text,
      target          text,
      before          text,
      after           text
    );
    CREATE INDEX audit_log_by_at ON audit_log(at);
    CREATE INDEX audit_log_by_endpoint ON audit_log(endpoint_id, id) WHERE endpoint_id IS NOT NULL;
    CREATE INDEX audit_log_by_actor ON audit_log(actor_name, id);

    CREATE TABLE metadata_history (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      endpoint_id  text NOT NULL,
      at           text COLLATE "C" NOT NULL,
      source       text NOT NULL,
      metadata     text NOT NULL
    );
    CREATE INDEX metadata_history_by_endpoint ON metadata_history(endpoint_id, id);
    CREATE INDEX metadata_history_by_at ON metadata_history(at);
    `,
  ],
};
