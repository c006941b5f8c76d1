import type pg from 'pg';
import { errors } from '../../core/errors.js';
import { type PoolSettings, createPool } from './connection.js';
import { redactUrl } from './redact-url.js';
import { isConnectionError } from './constraint-errors.js';
import { type MigrationSet, runMigrations } from './migrations.js';

/**
 * The small pool of a store kept beside the register (client credentials, accounts): rare operator
 * writes that need none of the register's group commit. Its tables are migrated when it opens; a
 * query before that, after `close()`, or while the database cannot be reached rejects with
 * UNAVAILABLE, as the register's do.
 */
export class StorePool {
  private ready = false;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly migrations: MigrationSet,
  ) {}

  /** An unreachable database fails here with one line naming the URL (without its password). */
  static async open(settings: PoolSettings, migrations: MigrationSet): Promise<StorePool> {
    const store = new StorePool(createPool(settings), migrations);
    try {
      await store.init();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw errors.dependencyUnreachable('PostgreSQL', redactUrl(settings.url), (err as Error).message ?? String(err), '--database-url (or TETHER_DATABASE_URL)');
    }
    return store;
  }

  /** Idempotent. */
  async init(): Promise<void> {
    if (this.ready) return;
    const client = await this.pool.connect();
    try {
      await runMigrations(client, this.migrations);
    } finally {
      client.release();
    }
    this.ready = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<T>> {
    if (this.closed || !this.ready) throw errors.unavailable();
    try {
      return await this.pool.query<T>(text, values);
    } catch (err) {
      throw isConnectionError(err) ? errors.unavailable(err) : err;
    }
  }

  /**
   * Runs `work` in one transaction on one connection: it commits when `work` resolves and rolls back
   * when it throws. A lost connection is discarded from the pool and reported as UNAVAILABLE.
   */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed || !this.ready) throw errors.unavailable();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw errors.unavailable(err);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await work(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      if (isConnectionError(err)) broken = err instanceof Error ? err : new Error(String(err));
      else await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))));
      throw broken ? errors.unavailable(err) : err;
    } finally {
      client.release(broken);
    }
  }
}

/**
 * What every PostgreSQL store with a pool of its own (accounts, client credentials, control,
 * software, rollouts) shares: its kind, opening and closing through the pool, and queries.
 */
export abstract class PoolStore {
  readonly kind = 'postgres';

  constructor(protected readonly db: StorePool) {}

  init(): Promise<void> {
    return this.db.init();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  protected query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<T>> {
    return this.db.query<T>(text, values);
  }

  /** The number of rows a statement changed. */
  protected async changed(text: string, values: unknown[]): Promise<number> {
    return (await this.query(text, values)).rowCount ?? 0;
  }
}
