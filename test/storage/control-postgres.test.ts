import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { freePort, startPostgres } from '../../src/cluster/local/processes.js';
import type { CommandRecord } from '../../src/core/control.js';
import { isTetherError } from '../../src/core/errors.js';
import { openPostgresControlStorage } from '../../src/storage/postgres/control.js';
import { freshDatabase } from '../helpers/engines.js';

// The conformance suite runs on PostgreSQL from control-conformance.test.ts; these are the cases of
// several nodes sharing one database, and of the database going away.

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';
const T2 = '2026-01-03T00:00:00.000Z';

const command = (over: Partial<Omit<CommandRecord, 'id'>> = {}): Omit<CommandRecord, 'id'> => ({
  endpointId: 'e1', applicationName: 'app', commandType: 'reboot', status: 'PENDING', requestPayload: {}, responsePayload: null,
  statusCode: null, reasonPhrase: null, createdAt: T0, updatedAt: T0, expiresAt: T1, lastDispatchedAt: null, taskId: null, ...over,
});

test('postgres control: nodes opening at once migrate once; commands inserted by both get distinct IDs; results and expiry sweeps racing across nodes apply once', async (t) => {
  const database = await freshDatabase();
  t.after(() => database.drop());
  const stores = await Promise.all(Array.from({ length: 3 }, () => openPostgresControlStorage({ url: database.url, maxConnections: 2 })));
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const [a, b] = stores as [(typeof stores)[0], (typeof stores)[0]];

  const batches = await Promise.all([a.insertCommands(Array.from({ length: 200 }, () => command())), b.insertCommands(Array.from({ length: 200 }, () => command()))]);
  const ids = batches.flat().map((c) => c.id);
  assert.equal(new Set(ids).size, 400);
  assert.equal((await a.queryCommands({ offset: 0, limit: 1 })).totalElements, 400);

  // The same 200 results reported through every node at once: each command executes once.
  const results = batches[0]!.map((c) => ({ id: c.id, statusCode: 200 }));
  const outcomes = await Promise.all(stores.map((s) => s.completeCommands('e1', 'reboot', results, T0)));
  assert.equal(outcomes.reduce((n, o) => n + o.executed.length, 0), 200);
  assert.equal(outcomes.reduce((n, o) => n + o.finished.length, 0), 400);
  assert.ok(outcomes.every((o) => o.unknown.length === 0));

  // Every node sweeps: the other 200 expire once between them.
  const swept = await Promise.all(stores.map((s) => s.expireCommands(T2, 1000)));
  const expired = swept.flat().map((c) => c.id);
  assert.equal(expired.length, 200);
  assert.deepEqual(new Set(expired), new Set(batches[1]!.map((c) => c.id)));

  // If-Match across nodes: of two writers holding the same ID, one wins.
  const base = { endpointId: 'e1', appVersionName: 'v1', name: '', config: {}, createdDate: T0, updatedDate: T0 };
  await a.putConfiguration({ ...base, configId: 'c0' });
  const answers = await Promise.all([a.putConfiguration({ ...base, configId: 'ca' }, 'c0'), b.putConfiguration({ ...base, configId: 'cb' }, 'c0')]);
  assert.deepEqual([...answers].sort(), ['conflict', 'ok']);
});

test('postgres control: while the database is down calls reject UNAVAILABLE and the process keeps running; when it is back they work again', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-pg-control-'));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  let server = await startPostgres({ dir: path.join(dir, 'pg'), port, fast: true });
  t.after(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const store = await openPostgresControlStorage({ url: server.url, connectTimeoutMs: 2000, maxConnections: 2 });
  t.after(() => store.close().catch(() => undefined));
  // Idle pooled connections exist when the server goes away: their errors must not crash the process.
  await Promise.all([store.insertCommands([command()]), store.queryCommands({ offset: 0, limit: 1 }), store.pruneCommands(T0)]);

  await server.stop();
  await assert.rejects(store.insertCommands([command()]), (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE');
  await assert.rejects(store.deleteEndpoint('e1'), (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE');

  server = await startPostgres({ dir: path.join(dir, 'pg'), port, fast: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await store.insertCommands([command()]);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await store.deleteEndpoint('e1');
  assert.equal((await store.queryCommands({ offset: 0, limit: 1 })).totalElements, 0);
});

test('postgres control: an unreachable database fails the open with one line naming the URL (without password)', async () => {
  const port = await freePort();
  await assert.rejects(openPostgresControlStorage({ url: `postgres://tether:hunter2@127.0.0.1:${port}/tether`, connectTimeoutMs: 2000 }), (err: Error) => {
    assert.ok(isTetherError(err));
    assert.equal(err.code, 'DEPENDENCY_UNREACHABLE');
    assert.doesNotMatch(err.message, /hunter2/);
    assert.match(err.message, /--database-url/);
    return true;
  });
});
