/**
 * Every transaction-scoped advisory lock Tether takes, in one list so that no two uses share a key
 * by accident (a shared key only makes unrelated work wait, but it waits for nothing).
 */
export const ADVISORY_LOCKS = {
  /** Migrations of the register (schema.ts). */
  registerMigrations: 7_415_302_118,
  /** Creating the client credentials table (client-credentials.ts). */
  clientCredentialsMigrations: 7_415_302_119,
  /** Migrations of the time series tables (time-series/schema.ts). */
  timeSeriesMigrations: 7_415_302_120,
  /** Rewrites of stored time series chunks: compaction, retention, points replacing stored ones (time-series/writes.ts). */
  timeSeriesRewrites: 7_415_302_121,
  /** Migrations of the account tables (accounts-schema.ts). */
  accountMigrations: 7_415_302_122,
  /** Migrations of the control tables: configurations and commands (control-schema.ts). */
  controlMigrations: 7_415_302_123,
  /** Migrations of the software tables: versions, endpoint states, reports, offers (software-schema.ts). */
  softwareMigrations: 7_415_302_124,
  /** Migrations of the rollout tables (rollouts-schema.ts); apart from the numbers after it, which other stores may take. */
  rolloutMigrations: 7_415_302_140,
  /** Migrations of the package tables: software package files (packages-schema.ts). */
  packageMigrations: 7_415_302_140,
  /**
   * Making an upload the version's package (packages.ts): the first key of the two-key form
   * `pg_advisory_xact_lock(packageSwap, hashtext(application/version))`, a lock space apart from
   * the one-key locks above.
   */
  packageSwap: 7_415,
} as const;
