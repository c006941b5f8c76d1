import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { errors } from '../../core/errors.js';
import { SCHEMA_VERSION } from './schema.js';
import type { Storage } from '../storage.js';
import type { SynchronousMode } from './connection.js';
import { SqliteStorage } from './sqlite-storage.js';

export interface SqliteStorageOptions {
  /** Database file; created with its schema when missing. */
  file: string;
  /** Default FULL: an acknowledged write survives power loss. NORMAL survives a process crash only. */
  synchronous?: SynchronousMode;
  /**
   * How long writes are gathered before they go to the writer thread. 0 (default) sends them on
   * the next macrotask; the writer then commits everything that arrived while its last commit ran.
   */
  commitDelayMs?: number;
  /**
   * Told once if the writer thread dies; every write then rejects with UNAVAILABLE.
   * Default: one line on stderr.
   */
  onWriterFailure?: (err: unknown) => void;
}

/** Opens (creating or migrating) the SQLite database and returns a ready Storage. */
export async function openSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  refuseNewerSchema(options.file);
  const storage = new SqliteStorage({
    file: options.file,
    synchronous: options.synchronous ?? 'FULL',
    commitDelayMs: Math.max(0, options.commitDelayMs ?? 0),
    onWriterFailure:
      options.onWriterFailure ??
      ((err: unknown) => console.error(`Tether: the SQLite writer thread failed; writes are refused until restart: ${String(err)}`)),
  });
  try {
    await storage.init();
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}

/**
 * A file written by a newer Tether is refused before anything touches it: opening it the usual way
 * would already write to it (switching it to WAL), and a half-understood schema must stay as it is.
 */
export function refuseNewerSchema(file: string): void {
  if (!existsSync(file)) return;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  let version: number;
  try {
    version = db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
  if (version > SCHEMA_VERSION) throw errors.schemaTooNew(file, version, SCHEMA_VERSION);
}
