import { ADVISORY_LOCKS } from './locks.js';
import type { MigrationSet } from './migrations.js';

/**
 * The rollout tables (rollouts.ts): the layout of SQLite's rollouts.db (src/storage/sqlite/rollouts.ts)
 * in the database every node shares, in a migration set of its own (`tether_rollouts_schema`).
 * As in control-schema.ts: timestamps are ISO-8601 text, sorted columns COLLATE "C".
 */
export const ROLLOUT_MIGRATIONS: MigrationSet = {
  name: 'Rollouts',
  table: 'tether_rollouts_schema',
  lock: ADVISORY_LOCKS.rolloutMigrations,
  migrations: [
    /* 1: rollouts and their devices */ `
    CREATE TABLE rollouts (
      rollout_id        text COLLATE "C" PRIMARY KEY,
      application_name  text COLLATE "C" NOT NULL,
      version           text NOT NULL,
      target            text NOT NULL,
      rate              text,
      abort_rule        text,
      state             text NOT NULL,
      reason            text,
      created_at        text COLLATE "C" NOT NULL,
      updated_at        text COLLATE "C" NOT NULL,
      driver_node       text,
      lease_until       text COLLATE "C"
    );
    CREATE INDEX rollouts_by_application ON rollouts (application_name, created_at);
    CREATE INDEX rollouts_by_created ON rollouts (created_at);
    CREATE INDEX rollouts_open ON rollouts (state) WHERE state IN ('running', 'paused');

    CREATE TABLE rollout_devices (
      rollout_id   text COLLATE "C" NOT NULL,
      seq          integer NOT NULL,
      endpoint_id  text COLLATE "C" NOT NULL,
      state        text NOT NULL,
      reason       text,
      offered_at   text COLLATE "C",
      finished_at  text COLLATE "C",
      PRIMARY KEY (rollout_id, endpoint_id)
    );
    CREATE INDEX rollout_devices_by_state ON rollout_devices (rollout_id, state, seq);
    CREATE INDEX rollout_devices_by_seq ON rollout_devices (rollout_id, seq);
    CREATE INDEX rollout_devices_finished ON rollout_devices (rollout_id, finished_at) WHERE finished_at IS NOT NULL;
    `,
  ],
};
