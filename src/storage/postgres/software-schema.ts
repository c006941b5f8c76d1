import { ADVISORY_LOCKS } from './locks.js';
import type { MigrationSet } from './migrations.js';

/**
 * The software tables (software.ts): the layout of SQLite's software.db
 * (src/storage/sqlite/software.ts) in the database every node shares. A migration set of its own,
 * versioned in `tether_software_schema`. As in control-schema.ts: ISO-8601 text timestamps,
 * COLLATE "C" keys, JSON kept as written in text, device status codes `numeric`.
 */
export const SOFTWARE_MIGRATIONS: MigrationSet = {
  name: 'Software',
  table: 'tether_software_schema',
  lock: ADVISORY_LOCKS.softwareMigrations,
  migrations: [
    /* 1: versions, what endpoints run, their reports, open offers */ `
    CREATE TABLE software (
      application_name text COLLATE "C" NOT NULL,
      version          text COLLATE "C" NOT NULL,
      upgradable_from  text NOT NULL,
      specification    text NOT NULL,
      metadata         text NOT NULL,
      rollout_strategy text NOT NULL,
      filters          text NOT NULL,
      created_date     text NOT NULL,
      updated_date     text NOT NULL,
      PRIMARY KEY (application_name, version)
    );

    CREATE TABLE endpoint_software (
      endpoint_id      text COLLATE "C" PRIMARY KEY,
      application_name text COLLATE "C" NOT NULL,
      version          text COLLATE "C",
      reported_at      text,
      failed_version   text,
      failure_code     numeric,
      failure_reason   text,
      failed_at        text
    );
    CREATE INDEX endpoint_software_by_application ON endpoint_software (application_name);

    CREATE TABLE software_reports (
      seq              bigserial PRIMARY KEY,
      endpoint_id      text COLLATE "C" NOT NULL,
      application_name text COLLATE "C" NOT NULL,
      version          text NOT NULL,
      status_code      numeric NOT NULL,
      reason_phrase    text,
      at               text NOT NULL
    );
    CREATE INDEX software_reports_by_endpoint ON software_reports (endpoint_id, seq);
    CREATE INDEX software_reports_by_application ON software_reports (application_name);

    CREATE TABLE software_offers (
      endpoint_id      text COLLATE "C" PRIMARY KEY,
      application_name text COLLATE "C" NOT NULL,
      version          text COLLATE "C" NOT NULL,
      rollout_id       text COLLATE "C",
      offered_at       text NOT NULL
    );
    CREATE INDEX software_offers_by_rollout ON software_offers (rollout_id) WHERE rollout_id IS NOT NULL;
    CREATE INDEX software_offers_by_version ON software_offers (application_name, version);
    `,
  ],
};
