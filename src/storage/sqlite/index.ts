import type { Storage } from '../storage.js';
import { type SynchronousMode, openDatabase } from './connection.js';
import { SqliteStorage } from './sqlite-storage.js';

export interface SqliteStorageOptions {
  /** Database file; created with its schema when missing. */
  file: string;
  /** Default FULL: an acknowledged write survives power loss. NORMAL survives a process crash only. */
  synchronous?: SynchronousMode;
  /**
   * How long writes are gathered into one transaction. 0 (default) commits on the next macrotask,
   * which already batches everything arriving in the same tick.
   */
  commitDelayMs?: number;
}

/** Opens (creating or migrating) the SQLite database and returns a ready Storage. */
export async function openSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  const db = openDatabase(options.file, options.synchronous ?? 'FULL');
  const storage = new SqliteStorage(db, Math.max(0, options.commitDelayMs ?? 0));
  try {
    await storage.init();
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}

export type { SynchronousMode };
