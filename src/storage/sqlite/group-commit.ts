import type { Database as Db } from 'better-sqlite3';
import { errors, isNoSpace } from '../../core/errors.js';

/** A write waiting for the next group commit. */
interface Queued {
  run(): unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * Group commit on the main thread for a store with a file of its own (control.db, software.db,
 * rollouts.db): every write of one event-loop turn runs in one transaction (one fsync), each in its
 * own savepoint so one failing write (a constraint) does not undo the others, and each caller is
 * answered only after the commit. A fleet's 10,000 reports arriving together cost a handful of
 * commits, not 10,000. A full disk rejects with STORAGE_FULL (507), anything else that fails the
 * commit with UNAVAILABLE.
 */
export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  private closed = false;

  /**
   * `prelude`, asked at every flush, may hand back work that rides along with the next commit
   * without anyone waiting for it (control.db's dispatch times); a flush with only that still commits.
   */
  constructor(
    private readonly db: Db,
    private readonly prelude?: () => (() => void) | undefined,
  ) {}

  /** Rejects (never throws) once closed: callers chain `.catch()` on what they get. */
  write<T>(run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(errors.unavailable());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now; later writes are refused. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
  }

  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    const batch = this.queue;
    const before = this.prelude?.();
    if (batch.length === 0 && before === undefined) return;
    this.queue = [];
    const results: unknown[] = new Array(batch.length);
    const failures: unknown[] = new Array(batch.length);
    try {
      this.db.transaction(() => {
        before?.();
        for (let i = 0; i < batch.length; i++) {
          try {
            results[i] = this.db.transaction(batch[i]!.run)();
          } catch (err) {
            failures[i] = err ?? new Error('write failed');
          }
        }
      })();
    } catch (err) {
      // A full disk is said as such (507, STORAGE_FULL); anything else leaves the store unusable.
      for (const q of batch) q.reject(isNoSpace(err) ? errors.storageFull(err) : errors.unavailable(err));
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      if (failures[i] !== undefined) batch[i]!.reject(isNoSpace(failures[i]) ? errors.storageFull(failures[i]) : failures[i]);
      else batch[i]!.resolve(results[i]);
    }
  }
}

/**
 * Brings a store's own file to the schema of this code (`PRAGMA user_version` counts the
 * migrations applied), each migration in its own transaction. A file from a newer Tether is
 * refused before anything is written to it.
 */
export function migrateOwnFile(db: Db, fileName: string, migrations: readonly string[]): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) throw errors.schemaTooNew(fileName, version, migrations.length);
  for (let i = version; i < migrations.length; i++) {
    db.transaction(() => {
      db.exec(migrations[i]!);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
}
