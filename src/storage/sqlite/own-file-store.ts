import type { Database as Db } from 'better-sqlite3';
import { errors } from '../../core/errors.js';
import { type SynchronousMode, openDatabase } from './connection.js';
import { GroupCommit, migrateOwnFile } from './group-commit.js';

/** What a store with a file of its own declares: the file's name, its migrations, its statements. */
export interface OwnFileSchema<S> {
  fileName: string;
  migrations: readonly string[];
  prepare(db: Db): S;
}

/**
 * The life of a SQLite store with a file of its own (control.db, software.db, rollouts.db): open,
 * migrate, prepare, group-commit writes on the main thread (group-commit.ts), close. Reads and
 * writes after close reject with UNAVAILABLE.
 */
export abstract class OwnFileStore<S> {
  readonly kind = 'sqlite';
  private statements: S | undefined;
  private closed = false;
  protected readonly commits: GroupCommit;

  protected constructor(
    protected readonly db: Db,
    private readonly schema: OwnFileSchema<S>,
  ) {
    this.commits = new GroupCommit(db, () => this.commitPrelude());
  }

  async init(): Promise<void> {
    if (this.statements) return;
    migrateOwnFile(this.db, this.schema.fileName, this.schema.migrations);
    this.statements = this.schema.prepare(this.db);
    this.afterInit();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.beforeClose();
    this.commits.close();
    this.closed = true;
    this.db.close();
  }

  /** Work that rides along with the next commit without anyone waiting for it (GroupCommit's prelude). */
  protected commitPrelude(): (() => void) | undefined {
    return undefined;
  }

  /** Once, after the file is migrated and the statements are prepared. */
  protected afterInit(): void {}

  /** Before the pending commits are flushed and the file closed. */
  protected beforeClose(): void {}

  /** Initialised and not closed. */
  protected get open(): boolean {
    return !this.closed && this.statements !== undefined;
  }

  protected st(): S {
    if (this.closed || !this.statements) throw errors.unavailable();
    return this.statements;
  }

  protected write<T>(run: () => T): Promise<T> {
    return this.statements ? this.commits.write(run) : Promise.reject(errors.unavailable());
  }
}

/**
 * Opens `file` and the store on it; a store that cannot initialise closes its file. Reads in these
 * stores are by key (one endpoint's commands, state or rollout devices): a small page cache does,
 * and 100,000 rows waiting for offline devices stay on disk instead of in the process.
 */
export async function openOwnFileStore<T extends OwnFileStore<unknown>>(file: string, synchronous: SynchronousMode | undefined, make: (db: Db) => T): Promise<T> {
  const db = openDatabase(file, synchronous ?? 'FULL');
  db.pragma('cache_size = -8192');
  const store = make(db);
  try {
    await store.init();
  } catch (err) {
    db.close();
    throw err;
  }
  return store;
}
