import { errors } from '../../core/errors.js';
import type { Storage } from '../storage.js';
import { type PoolSettings, createPool } from './connection.js';
import { redactUrl } from './redact-url.js';
import { PostgresStorage } from './postgres-storage.js';
import type { BatchObserver } from './writer.js';

export interface PostgresStorageOptions extends PoolSettings {
  /** Told after every group commit (metrics: batch size, commit latency). */
  onBatch?: BatchObserver;
}

/**
 * Connects, creates or migrates the schema and returns a ready Storage. An unreachable database
 * fails here with one line naming the URL (without password) and the cause.
 */
export async function openPostgresStorage(options: PostgresStorageOptions): Promise<PostgresStorage> {
  const storage = new PostgresStorage(createPool(options), options.onBatch);
  try {
    await storage.init();
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw errors.dependencyUnreachable('PostgreSQL', redactUrl(options.url), describe(err), '--database-url (or TETHER_DATABASE_URL)');
  }
  return storage;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ECONNREFUSED') return 'connection refused (is PostgreSQL running and listening there?)';
  if (e.code === '3D000') return `${e.message ?? 'the database does not exist'} (create it first: createdb <name>)`;
  if (e.code === '28P01' || e.code === '28000') return `authentication failed (${e.message ?? ''})`;
  return e.message ?? String(err);
}

export type { Storage };
