import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

export type SynchronousMode = 'FULL' | 'NORMAL';

/**
 * Opens the file with the settings every Tether connection needs. `pageSize` applies to a file
 * being created only (SQLite fixes it then; in WAL mode it can never change).
 */
export function openDatabase(file: string, synchronous: SynchronousMode, options: { pageSize?: number } = {}): Db {
  const db = new Database(file);
  try {
    if (options.pageSize !== undefined) db.pragma(`page_size = ${options.pageSize}`);
    // WAL: readers never block the writer, and a commit is one append instead of a page rewrite.
    db.pragma('journal_mode = WAL');
    // FULL fsyncs the WAL on every commit, so an acknowledged write survives power loss.
    // NORMAL only survives a process crash (the OS may lose the last commits), which is why it is
    // opt-in: group commit already amortizes the fsync over every write of a batch.
    db.pragma(synchronous === 'NORMAL' ? 'synchronous = NORMAL' : 'synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Another process (the CLI, a backup) may hold the lock briefly; wait instead of failing.
    db.pragma('busy_timeout = 5000');
    // Endpoint queries scan indexes of 100,000s of rows: keep them in memory.
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    // Bounds the work of PRAGMA optimize's ANALYZE on large tables.
    db.pragma('analysis_limit = 1000');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
