import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import { freePort, startPostgres } from '../../src/cluster/local/processes.js';
import { openPostgresStorage } from '../../src/storage/postgres/index.js';
import { endpoint, seedApplication } from './fixtures.js';

// The conformance suite runs on PostgreSQL from conformance.test.ts; these are PostgreSQL's own cases.

test('postgres: an unreachable database fails the open with one line naming the URL (without password) and the setting', async () => {
  const port = await freePort();
  await assert.rejects(openPostgresStorage({ url: `postgres://tether:hunter2@127.0.0.1:${port}/tether`, connectTimeoutMs: 2000 }), (err: Error) => {
    assert.ok(isTetherError(err));
    assert.equal(err.code, 'DEPENDENCY_UNREACHABLE');
    assert.match(err.message, new RegExp(`Cannot reach PostgreSQL at postgres://tether:\\*\\*\\*@127\\.0\\.0\\.1:${port}/tether: connection refused`));
    assert.match(err.message, /--database-url/);
    assert.doesNotMatch(err.message, /hunter2/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
});

// Longer than the 30 s default: it stops and restarts a real PostgreSQL server.
test('postgres: while the database is down writes reject UNAVAILABLE (nothing is acknowledged); when it is back they commit again', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-pg-'));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  let server = await startPostgres({ dir: path.join(dir, 'pg'), port, fast: true });
  t.after(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const storage = await openPostgresStorage({ url: server.url, connectTimeoutMs: 2000, maxConnections: 2 });
  t.after(() => storage.close().catch(() => undefined));
  const { app, version } = await seedApplication(storage);
  await storage.insertEndpoint(endpoint('e1', version, app), {});
  assert.deepEqual(await storage.changeMetadata('e1', { kind: 'merge', metadata: { a: 1 } }, '2026-01-01T00:00:01.000Z'), { a: 1 });

  await server.stop();
  await assert.rejects(storage.changeMetadata('e1', { kind: 'merge', metadata: { b: 2 } }, '2026-01-01T00:00:02.000Z'), (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE');
  assert.equal(await storage.ping(), false);

  server = await startPostgres({ dir: path.join(dir, 'pg'), port, fast: true });
  // The pool opens fresh connections: no restart of Tether needed.
  const deadline = Date.now() + 30_000;
  let result: unknown;
  for (;;) {
    try {
      result = await storage.changeMetadata('e1', { kind: 'merge', metadata: { c: 3 } }, '2026-01-01T00:00:03.000Z');
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  assert.deepEqual(result, { a: 1, c: 3 });
  assert.equal(await storage.ping(), true);
});
