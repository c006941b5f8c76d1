import { ADVISORY_LOCKS } from './locks.js';
import type { MigrationSet } from './migrations.js';

/**
 * The control tables (control.ts): the layout of SQLite's control.db (src/storage/sqlite/control.ts)
 * in the database every node shares. A migration set of its own, versioned in
 * `tether_control_schema`, so it evolves without renumbering the register's.
 *
 * As in schema.ts: timestamps are ISO-8601 text, sorted columns COLLATE "C" (byte order, like
 * SQLite), JSON documents text rather than jsonb (kept as written). Status codes come from devices
 * as any JSON integer: `numeric` stores whatever SQLite stores instead of failing a batch on 1e12.
 */
export const CONTROL_MIGRATIONS: MigrationSet = {
  name: 'Control',
  table: 'tether_control_schema',
  lock: ADVISORY_LOCKS.controlMigrations,
  migrations: [
    /* 1: configurations, their delivery statuses, commands and command tasks */ `
    CREATE TABLE configurations (
      endpoint_id       text COLLATE "C" NOT NULL,
      app_version_name  text COLLATE "C" NOT NULL,
      name              text COLLATE "C" NOT NULL,
      config_id         text NOT NULL,
      config            text NOT NULL,
      created_date      text NOT NULL,
      updated_date      text NOT NULL,
      PRIMARY KEY (app_version_name, name, endpoint_id)
    );
    CREATE INDEX configurations_by_endpoint ON configurations (endpoint_id, app_version_name, name);

    CREATE TABLE config_statuses (
      endpoint_id               text COLLATE "C" NOT NULL,
      app_version_name          text COLLATE "C" NOT NULL,
      name                      text COLLATE "C" NOT NULL,
      config_id                 text COLLATE "C" NOT NULL,
      status                    text NOT NULL,
      config                    text NOT NULL,
      last_dispatched_date      text COLLATE "C",
      last_confirmed_date       text COLLATE "C",
      confirmation_status_code  numeric,
      confirmation_reason       text,
      -- order of first dispatch, for the newest-first history
      seq                       bigserial NOT NULL,
      PRIMARY KEY (endpoint_id, app_version_name, name, config_id)
    );
    CREATE INDEX config_statuses_by_config ON config_statuses (config_id);
    CREATE INDEX config_statuses_by_seq ON config_statuses (seq);

    CREATE TABLE commands (
      id                 bigserial PRIMARY KEY,
      endpoint_id        text COLLATE "C" NOT NULL,
      application_name   text COLLATE "C" NOT NULL,
      command_type       text COLLATE "C" NOT NULL,
      status             text NOT NULL,
      request_payload    text NOT NULL,
      response_payload   text,
      status_code        numeric,
      reason_phrase      text,
      created_at         text COLLATE "C" NOT NULL,
      updated_at         text COLLATE "C" NOT NULL,
      expires_at         text COLLATE "C" NOT NULL,
      last_dispatched_at text,
      task_id            text COLLATE "C"
    );
    CREATE INDEX commands_by_endpoint ON commands (endpoint_id, command_type, id);
    CREATE INDEX commands_pending_expiry ON commands (expires_at) WHERE status = 'PENDING';
    CREATE INDEX commands_by_task ON commands (task_id, status) WHERE task_id IS NOT NULL;
    CREATE INDEX commands_by_application ON commands (application_name, id);
    CREATE INDEX commands_finished ON commands (updated_at) WHERE status <> 'PENDING';

    CREATE TABLE command_tasks (
      task_id           text COLLATE "C" PRIMARY KEY,
      application_name  text COLLATE "C" NOT NULL,
      command_type      text NOT NULL,
      request_payload   text NOT NULL,
      created_at        text COLLATE "C" NOT NULL,
      expires_at        text COLLATE "C" NOT NULL,
      endpoint_count    integer NOT NULL
    );
    CREATE INDEX command_tasks_by_application ON command_tasks (application_name, created_at);
    `,
    /* 2: whether an application has any pending command, answered without reading its finished ones */ `
    CREATE INDEX commands_pending_by_application ON commands (application_name) WHERE status = 'PENDING';
    `,
  ],
};
