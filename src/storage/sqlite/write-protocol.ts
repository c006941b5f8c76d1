import type { SynchronousMode } from './connection.js';
import type { WriteOpName } from './write-ops.js';

/** Messages between SqliteStorage (the calling thread) and its writer thread (write-worker.ts). */

export interface WriterInit {
  file: string;
  synchronous: SynchronousMode;
}

/** One write: the operation and its arguments (structured-cloned). */
export type WriteRequest = [op: WriteOpName, args: unknown[]];

export type ToWriter =
  /** Writes gathered in one tick of the calling thread; `id` names the reply. */
  | { kind: 'batch'; id: number; writes: WriteRequest[] }
  /** Everything sent before has been answered: optimize and close the database, then exit. */
  | { kind: 'close' };

/** SQLite's errors lose their class across threads; message and code are what callers inspect. */
export interface WriteError {
  message: string;
  code?: string;
  /** Set for a catalog error (a database newer than this Tether), so it arrives as that error. */
  status?: number;
}

export type WriteResult = { ok: true; value: unknown } | { ok: false; error: WriteError };

export type FromWriter =
  | { kind: 'ready' }
  | { kind: 'init-failed'; error: WriteError }
  /** The results of batch `id`, in order, sent only after their transaction committed. */
  | { kind: 'done'; id: number; results: WriteResult[] }
  | { kind: 'closed' };
