import { Worker } from 'node:worker_threads';
import { errors, isNoSpace, revive } from '../../core/errors.js';
import type { TetherError } from '../../core/errors.js';
import type { WriteOpName, WriteOps } from './write-ops.js';
import type { FromWriter, ToWriter, WriteError, WriteRequest, WriteResult, WriterInit } from './write-protocol.js';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface SeenEntry {
  at: string;
  waiters: Waiter[];
}

/**
 * Group commit on a writer thread (write-worker.ts). Writes called in one tick (or `delayMs`) go to
 * the thread in one message; the thread commits everything waiting (all the messages that queued
 * up while its last commit ran) in one transaction, fsyncs and answers. Meanwhile this thread keeps
 * serving MQTT, so a burst of thousands of 10/EPMP updates costs a few fsyncs, none of them here.
 *
 * Storage's durability contract holds per caller: a promise settles only after the transaction
 * holding its write committed (or rejects if that write failed). If the thread dies, every write
 * not yet answered, and every later one, rejects with UNAVAILABLE.
 */
export class WriterThread {
  private queue: WriteRequest[] = [];
  private queueWaiters: Waiter[] = [];
  /** lastSeen per endpoint: only the latest time matters, so a batch writes each endpoint once. */
  private seen = new Map<string, SeenEntry>();
  private timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private readonly sent = new Map<number, Waiter[]>();
  private nextId = 1;
  private failure: TetherError | undefined;
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  private closedWaiters: Array<() => void> = [];

  private constructor(
    private readonly worker: Worker,
    private readonly delayMs: number,
    private readonly onFailure: (err: unknown) => void,
  ) {
    worker.on('message', (message: FromWriter) => this.onMessage(message));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closing || this.sent.size > 0) this.fail(new Error(`SQLite writer thread exited (code ${code})`));
      for (const wake of this.closedWaiters.splice(0)) wake();
    });
  }

  /** Starts the thread, which opens (creating or migrating) the database; rejects if that fails. */
  static start(init: WriterInit, delayMs: number, onFailure: (err: unknown) => void): Promise<WriterThread> {
    // Next to this module in compiled output too (dist/src/storage/sqlite/write-worker.js).
    const worker = new Worker(new URL('./write-worker.js', import.meta.url), { workerData: init });
    return new Promise((resolve, reject) => {
      const onError = (err: unknown) => {
        cleanup();
        void worker.terminate();
        reject(err);
      };
      const onExit = (code: number) => onError(new Error(`SQLite writer thread exited (code ${code}) while opening the database`));
      const onMessage = (message: FromWriter) => {
        cleanup();
        if (message.kind === 'ready') {
          const thread = new WriterThread(worker, delayMs, onFailure);
          worker.unref();
          resolve(thread);
        } else if (message.kind === 'init-failed') {
          onError(toError(message.error));
        }
      };
      const cleanup = () => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.off('message', onMessage);
      };
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.on('message', onMessage);
    });
  }

  enqueue<K extends WriteOpName>(op: K, ...args: Parameters<WriteOps[K]>): Promise<ReturnType<WriteOps[K]>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push([op, args]);
      this.queueWaiters.push({ resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Sets lastSeen; folded into a pending write for the same endpoint, the later time winning. */
  recordSeen(endpointId: string, at: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter = { resolve: resolve as (value: unknown) => void, reject };
      const entry = this.seen.get(endpointId);
      // ISO strings order like the times they name.
      if (entry) {
        if (at > entry.at) entry.at = at;
        entry.waiters.push(waiter);
      } else {
        this.seen.set(endpointId, { at, waiters: [waiter] });
      }
      this.schedule();
    });
  }

  /** Sends what is queued and resolves once every write sent so far has been answered. */
  async flush(): Promise<void> {
    this.send();
    if (this.sent.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes, then lets the thread optimize and close the database, and waits for it to end. */
  async close(): Promise<void> {
    await this.flush();
    if (this.closing) return;
    this.closing = true;
    if (this.failure) {
      await this.worker.terminate();
      return;
    }
    const ended = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    this.worker.ref();
    this.post({ kind: 'close' });
    await ended;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = this.delayMs > 0 ? setTimeout(() => this.send(), this.delayMs) : setImmediate(() => this.send());
  }

  private send(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.failure) return;
    const writes = this.queue;
    const waiters = this.queueWaiters;
    for (const [endpointId, entry] of this.seen) {
      writes.push(['recordSeen', [endpointId, entry.at]]);
      const all = entry.waiters;
      waiters.push({
        resolve: (value) => all.forEach((w) => w.resolve(value)),
        reject: (err) => all.forEach((w) => w.reject(err)),
      });
    }
    if (writes.length === 0) return;
    this.queue = [];
    this.queueWaiters = [];
    this.seen = new Map();
    const id = this.nextId++;
    // Kept alive while writes are in flight only: an idle storage never holds the process open.
    if (this.sent.size === 0) this.worker.ref();
    this.sent.set(id, waiters);
    this.post({ kind: 'batch', id, writes });
  }

  private post(message: ToWriter): void {
    this.worker.postMessage(message);
  }

  private onMessage(message: FromWriter): void {
    if (message.kind !== 'done') return;
    const waiters = this.sent.get(message.id);
    if (!waiters) return;
    this.sent.delete(message.id);
    const { results } = message;
    for (let i = 0; i < waiters.length; i++) settle(waiters[i]!, results[i]);
    if (this.sent.size === 0) {
      if (!this.closing) this.worker.unref();
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private fail(cause: unknown): void {
    if (this.failure) return;
    this.failure = errors.unavailable(cause);
    this.onFailure(cause);
    const pending = [...[...this.sent.values()].flat(), ...this.queueWaiters];
    for (const entry of this.seen.values()) pending.push(...entry.waiters);
    this.sent.clear();
    this.queue = [];
    this.queueWaiters = [];
    this.seen = new Map();
    for (const waiter of pending) waiter.reject(this.failure);
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

function settle(waiter: Waiter, result: WriteResult | undefined): void {
  if (result === undefined) waiter.reject(new Error('SQLite writer thread sent no result'));
  else if (result.ok) waiter.resolve(result.value);
  else waiter.reject(toError(result.error));
}

/** An Error as the write connection threw it, with SQLite's `code` (constraint-errors.ts reads it). */
function toError(error: WriteError): Error {
  const catalogError = error.code !== undefined && error.status !== undefined ? revive({ message: error.message, code: error.code, status: error.status }) : undefined;
  if (catalogError) return catalogError;
  if (isNoSpace(error)) return errors.storageFull(Object.assign(new Error(error.message), { code: error.code }));
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}
