import type pg from 'pg';
import { errors } from '../../core/errors.js';

/**
 * One set of versioned migrations: `migrations[i]` takes the schema from version i to i + 1, and
 * row 1 of `table` holds how many have run. Append only: never edit a shipped entry. Several
 * nodes may start at once: each step runs under a transaction-scoped advisory lock (`lock`, a
 * constant of the set), so exactly one node applies it and the others find it done.
 *
 * The register (schema.ts), time series (time-series/schema.ts), accounts (accounts-schema.ts),
 * configurations and commands (control-schema.ts) and client credentials (client-credentials.ts)
 * are separate sets with their own version rows, so each evolves without renumbering the others.
 * Their locks are listed in locks.ts.
 */
export interface MigrationSet {
  /** For the error a database newer than this code gets: `Database`, `Time series`, … */
  name: string;
  table: string;
  lock: number;
  migrations: readonly string[];
}

export async function runMigrations(client: pg.PoolClient, set: MigrationSet): Promise<void> {
  const target = set.migrations.length;
  for (;;) {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [set.lock]);
      // Under the lock: two nodes creating the table at the same moment would collide in the catalog.
      // `table` is a constant of this code, never input.
      await client.query(`CREATE TABLE IF NOT EXISTS ${set.table} (id int PRIMARY KEY CHECK (id = 1), version int NOT NULL)`);
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${set.table} WHERE id = 1`);
      const current = rows[0]?.version ?? 0;
      if (current > target) {
        throw errors.schemaTooNew(set.name, current, target);
      }
      if (current === target) {
        await client.query('COMMIT');
        return;
      }
      await client.query(set.migrations[current]!);
      await client.query(`INSERT INTO ${set.table} (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version`, [current + 1]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
