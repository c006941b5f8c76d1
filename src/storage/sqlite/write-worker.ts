/**
 * The writer thread of SqliteStorage: owns the write connection and commits batches of writes,
 * one transaction (and one fsync) for everything that arrived while the previous commit ran. The
 * calling thread stays free for MQTT meanwhile; see writer.ts for its side.
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { isTetherError } from '../../core/errors.js';
import { startIdleTrim } from '../../core/idle-trim.js';
import { openDatabase } from './connection.js';
import { migrate } from './schema.js';
import { createWriteOps } from './write-ops.js';
import { WalSync } from './wal-sync.js';
import type { FromWriter, ToWriter, WriteError, WriteRequest, WriteResult, WriterInit } from './write-protocol.js';

const port = parentPort as MessagePort;
// This thread has a heap of its own, grown by busy moments (a connect storm's connectivity writes:
// 27 MB, 8 MB after a collection) and kept while the fleet is idle, like the main thread's.
startIdleTrim();
const send = (message: FromWriter) => port.postMessage(message);

function errorOf(err: unknown): WriteError {
  if (isTetherError(err)) return { message: err.message, code: err.code, status: err.status };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { message: err.message, code } : { message: err.message };
  }
  return { message: String(err) };
}

/** Answers whose fdatasync returned; when it failed, their writes are committed but not known durable, so they fail. */
function deliverSynced(answers: FromWriter[], err: unknown): void {
  for (const answer of answers) {
    if (err && answer.kind === 'done') send({ kind: 'done', id: answer.id, results: answer.results.map(() => ({ ok: false, error: errorOf(err) })) });
    else send(answer);
  }
}

type Connection = { db: Database; writer: ReturnType<typeof createWriteOps>; wal: WalSync<FromWriter> | undefined };

function open(init: WriterInit): Connection {
  // FULL durability with the WAL's fsync off this thread (wal-sync.ts): SQLite commits as NORMAL
  // (no fsync at commit; it still syncs around checkpoints) and a commit is answered once an
  // fdatasync of the WAL that began after it has returned.
  const db = openDatabase(init.file, init.synchronous === 'FULL' ? 'NORMAL' : init.synchronous);
  try {
    // Writes touch a few pages per endpoint; the big cache is the reading connection's (queries).
    db.pragma('cache_size = -16384');
    migrate(db);
    // Refreshes planner statistics where stale (bounded work), so endpoint queries pick the right index.
    db.pragma('optimize=0x10002');
    const writer = createWriteOps(db);
    // Queued search rows of the last run (or of another process) are applied now.
    db.transaction(() => writer.flushSearchIndex()).immediate();
    return { db, writer, wal: init.synchronous === 'FULL' ? new WalSync<FromWriter>(`${init.file}-wal`, deliverSynced) : undefined };
  } catch (err) {
    db.close();
    throw err;
  }
}

let opened: Connection | undefined;
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
function commit(connection: Connection, writes: WriteRequest[]): WriteResult[] {
  const { db, writer } = connection;
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
    return writes.map((write) => commitOne(connection, write));
  }
  return results;
}

function commitOne({ db, writer }: Connection, [op, args]: WriteRequest): WriteResult {
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

/** Messages held back while a commit already waits for the next WAL sync (WalSync.full). */
let heldBack: ToWriter[] = [];

if (opened) {
  const connection = opened;
  port.on('message', (message: ToWriter) => {
    if (connection.wal?.full) heldBack.push(message);
    else serve(connection, [message]);
  });
  connection.wal?.onRoom(() => {
    if (heldBack.length === 0) return;
    const messages = heldBack;
    heldBack = [];
    serve(connection, messages);
  });
}

let searchTimer: NodeJS.Timeout | undefined;

/** Queued search rows are applied when due even if no commit comes along to take them. */
function scheduleSearchFlush(connection: Connection): void {
  const dueIn = connection.writer.searchIndexDueIn();
  if (dueIn === undefined || searchTimer !== undefined) return;
  searchTimer = setTimeout(() => {
    searchTimer = undefined;
    try {
      connection.db.transaction(() => connection.writer.flushSearchIndex()).immediate();
    } catch {
      // A full disk or a busy file: the rows stay queued (searches read them there) for the next commit.
    }
  }, dueIn + 1);
}

function serve(connection: Connection, messages: ToWriter[]): void {
  // Everything that queued up while the last commit ran joins this one.
  for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) {
    messages.push(next.message as ToWriter);
  }
  const batches = messages.filter((m): m is Extract<ToWriter, { kind: 'batch' }> => m.kind === 'batch');
  if (batches.length > 0) {
    const results = commit(connection, batches.length === 1 ? batches[0]!.writes : batches.flatMap((b) => b.writes));
    const answers: FromWriter[] = [];
    let offset = 0;
    for (const batch of batches) {
      answers.push({ kind: 'done', id: batch.id, results: results.slice(offset, offset + batch.writes.length) });
      offset += batch.writes.length;
    }
    if (connection.wal) connection.wal.afterSync(answers);
    else for (const answer of answers) send(answer);
    scheduleSearchFlush(connection);
  }
  if (messages.some((m) => m.kind === 'close')) {
    clearTimeout(searchTimer);
    if (connection.wal) {
      // Answers still waiting for their fdatasync go out first (closing waits for them).
      connection.wal.close(() => closeDatabase(connection));
      return;
    }
    closeDatabase(connection);
  }
}

function closeDatabase({ db, writer }: Connection): void {
  try {
    db.transaction(() => writer.flushSearchIndex()).immediate();
    db.pragma('optimize');
  } finally {
    db.close();
    send({ kind: 'closed' });
    port.close();
  }
}

