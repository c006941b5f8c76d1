/**
 * The writer thread of SqliteStorage: owns the write connection and commits batches of writes,
 * one transaction (and one fsync) for everything that arrived while the previous commit ran. The
 * calling thread stays free for MQTT meanwhile; see writer.ts for its side.
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { openDatabase } from './connection.js';
import { migrate } from './schema.js';
import { createWriteOps } from './write-ops.js';
import type { FromWriter, ToWriter, WriteError, WriteRequest, WriteResult, WriterInit } from './write-protocol.js';

const port = parentPort as MessagePort;
const send = (message: FromWriter) => port.postMessage(message);

function errorOf(err: unknown): WriteError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { message: err.message, code } : { message: err.message };
  }
  return { message: String(err) };
}

function open(init: WriterInit): { db: Database; writer: ReturnType<typeof createWriteOps> } {
  const db = openDatabase(init.file, init.synchronous);
  try {
    migrate(db);
    // Refreshes planner statistics where stale (bounded work), so endpoint queries pick the right index.
    db.pragma('optimize=0x10002');
    const writer = createWriteOps(db);
    // Another process may have committed queued search rows without applying them.
    db.transaction(() => writer.beforeCommit()).immediate();
    return { db, writer };
  } catch (err) {
    db.close();
    throw err;
  }
}

let opened: ReturnType<typeof open> | undefined;
try {
  opened = open(workerData as WriterInit);
  send({ kind: 'ready' });
} catch (err) {
  // The calling thread rejects init(); closing the port lets this thread end.
  send({ kind: 'init-failed', error: errorOf(err) });
  port.close();
}

/**
 * Group commit: the writes of every batch waiting run in ONE transaction. If anything fails, it
 * is rolled back and each write runs again in a transaction of its own: only the failing one fails.
 */
function commit({ db, writer }: NonNullable<typeof opened>, writes: WriteRequest[]): WriteResult[] {
  const results: WriteResult[] = [];
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const [op, args] of writes) results.push({ ok: true, value: writer.run(op, args) });
      writer.beforeCommit();
      db.exec('COMMIT');
    } catch (err) {
      writer.discard();
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  } catch {
    return writes.map((write) => commitOne({ db, writer }, write));
  }
  return results;
}

function commitOne({ db, writer }: NonNullable<typeof opened>, [op, args]: WriteRequest): WriteResult {
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      const value = writer.run(op, args);
      writer.beforeCommit();
      db.exec('COMMIT');
      return { ok: true, value };
    } catch (err) {
      writer.discard();
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  } catch (err) {
    return { ok: false, error: errorOf(err) };
  }
}

if (opened) port.on('message', (first: ToWriter) => serve(opened!, first));

const STATS = { n: 0, writes: 0, ms: 0, max: 0, last: Date.now() };
function serve(connection: NonNullable<typeof opened>, first: ToWriter): void {
  const { db } = connection;
  // Everything that queued up while the last commit ran joins this one.
  const messages = [first];
  for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) {
    messages.push(next.message as ToWriter);
  }
  const batches = messages.filter((m): m is Extract<ToWriter, { kind: 'batch' }> => m.kind === 'batch');
  if (batches.length > 0) {
    const t0 = performance.now();
    const all = batches.length === 1 ? batches[0]!.writes : batches.flatMap((b) => b.writes);
    const results = commit(connection, all);
    STATS.n++; STATS.writes += all.length; STATS.ms += performance.now() - t0; STATS.max = Math.max(STATS.max, performance.now() - t0);
    if (process.env['TETHER_WRITER_STATS'] && Date.now() - STATS.last > 1000) { console.error(`[writer] ${STATS.n} commits, ${(STATS.writes / STATS.n).toFixed(0)} writes/commit, ${(STATS.ms / STATS.n).toFixed(2)} ms/commit, max ${STATS.max.toFixed(1)}, busy ${(STATS.ms / (Date.now() - STATS.last)).toFixed(2)}`); STATS.n = 0; STATS.writes = 0; STATS.ms = 0; STATS.max = 0; STATS.last = Date.now(); }
    let offset = 0;
    for (const batch of batches) {
      send({ kind: 'done', id: batch.id, results: results.slice(offset, offset + batch.writes.length) });
      offset += batch.writes.length;
    }
  }
  if (messages.some((m) => m.kind === 'close')) {
    try {
      db.pragma('optimize');
    } finally {
      db.close();
      send({ kind: 'closed' });
      port.close();
    }
  }
}
