import type { Database } from 'better-sqlite3';

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface PendingCoalesced {
  value: unknown;
  apply: (value: never) => void;
  merge: (a: never, b: never) => unknown;
  waiters: Array<{ resolve: (value: unknown) => void; reject: (err: unknown) => void }>;
}

/**
 * Group commit: writes that arrive within one tick (or `delayMs`) run in ONE transaction, so a burst
 * of thousands of 10/EPMP updates costs one fsync instead of thousands. Storage's durability contract
 * holds per caller: every promise settles only after the transaction holding its write has committed.
 *
 * A write is a synchronous function over the database that reads the state it changes inside the
 * transaction, so it can be run again. If anything in a batch fails, the batch is rolled back and its
 * writes are re-run one transaction each: only the failing write rejects.
 */
export class GroupCommitWriter {
  private queue: PendingWrite[] = [];
  /** Writes where only the last one per key matters (e.g. lastSeen), applied after the queue. */
  private coalesced = new Map<string, PendingCoalesced>();
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  /**
   * `beforeCommit` runs inside each transaction after its writes, just before COMMIT (e.g. to apply
   * work the writes queued); if it throws, the transaction rolls back like a failing write.
   */
  constructor(
    private readonly db: Database,
    private readonly delayMs: number,
    private readonly beforeCommit: () => void = () => {},
  ) {}

  get pending(): number {
    return this.queue.length + this.coalesced.size;
  }

  enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /**
   * Folds the write into a pending one with the same key (`merge` picks the value that wins), so a
   * batch applies it once; all its callers settle with the batch.
   */
  enqueueCoalesced<V>(key: string, value: V, apply: (value: V) => void, merge: (a: V, b: V) => V): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve: resolve as (value: unknown) => void, reject };
      const entry = this.coalesced.get(key);
      if (entry) {
        entry.value = (entry.merge as (a: V, b: V) => V)(entry.value as V, value);
        entry.waiters.push(waiter);
      } else {
        this.coalesced.set(key, { value, apply, merge, waiters: [waiter] });
      }
      this.schedule();
    });
  }

  /** Commits everything queued so far (and anything queued meanwhile). */
  async flush(): Promise<void> {
    while (this.pending > 0 || this.scheduled) {
      if (this.scheduled) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      } else {
        this.commitBatch();
      }
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const fire = () => {
      this.scheduled = false;
      this.commitBatch();
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    };
    if (this.delayMs > 0) setTimeout(fire, this.delayMs);
    else setImmediate(fire);
  }

  private commitBatch(): void {
    const batch: PendingWrite[] = this.queue;
    this.queue = [];
    for (const entry of this.coalesced.values()) {
      const { waiters, value } = entry;
      const apply = entry.apply as (value: unknown) => void;
      batch.push({
        run: () => apply(value),
        resolve: (value) => waiters.forEach((w) => w.resolve(value)),
        reject: (err) => waiters.forEach((w) => w.reject(err)),
      });
    }
    this.coalesced = new Map();
    if (batch.length === 0) return;

    const results: unknown[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        for (const write of batch) results.push(write.run());
        this.beforeCommit();
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } catch {
      // Nothing of the batch was committed; give each write its own transaction.
      for (const write of batch) this.commitOne(write);
      return;
    }
    batch.forEach((write, i) => write.resolve(results[i]));
  }

  private commitOne(write: PendingWrite): void {
    let result: unknown;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        result = write.run();
        this.beforeCommit();
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } catch (err) {
      write.reject(err);
      return;
    }
    write.resolve(result);
  }
}
