import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { Users } from '../../src/accounts/users.js';
import { systemClock } from '../../src/core/clock.js';
import { isTetherError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { freePort } from '../../src/cluster/local/processes.js';
import { openPostgresAccountStorage } from '../../src/storage/postgres/accounts.js';
import { freshDatabase } from '../helpers/engines.js';

// The conformance suite runs on PostgreSQL from accounts-conformance.test.ts; these are the cases
// of several nodes sharing one database.

test('postgres accounts: nodes starting at once on an empty database migrate once and create one admin; only the winner has a generated password', async (t) => {
  const database = await freshDatabase();
  t.after(() => database.drop());
  const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresAccountStorage({ url: database.url, maxConnections: 2 })));
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const results = await Promise.all(stores.map((store) => new Users({ store, clock: systemClock, logger: silentLogger, endSessions: async () => undefined }).ensureAdmin()));
  assert.equal(results.filter((r) => r.generatedPassword !== undefined).length, 1, JSON.stringify(results));
  assert.deepEqual((await stores[0]!.listUsers()).map((u) => [u.username, u.role]), [['admin', 'admin']]);
});

test('postgres accounts: a user and a key written through one node are seen by another at once, and so is a revoke', async (t) => {
  const database = await freshDatabase();
  t.after(() => database.drop());
  const [a, b] = await Promise.all([openPostgresAccountStorage({ url: database.url }), openPostgresAccountStorage({ url: database.url })]);
  t.after(() => Promise.all([a!.close(), b!.close()]));
  await a!.insertUser({ username: 'alice', role: 'operator', passwordHash: '{}', createdDate: systemClock.iso(), passwordChangedDate: systemClock.iso(), lastSignInDate: null });
  await assert.rejects(
    b!.insertUser({ username: 'alice', role: 'viewer', passwordHash: '{}', createdDate: systemClock.iso(), passwordChangedDate: systemClock.iso(), lastSignInDate: null }),
    (err: unknown) => isTetherError(err) && err.code === 'USER_CONFLICT',
  );
  assert.equal((await b!.getUser('alice'))?.role, 'operator');
  await a!.insertApiKey({ keyId: 'k1', name: 'ci', role: 'admin', keyHash: 'h1', hint: '…abcd', createdDate: systemClock.iso(), createdBy: 'alice', lastUsedDate: null, status: 'ACTIVE', revokedDate: null });
  assert.equal((await b!.findApiKeyByHash('h1'))?.status, 'ACTIVE');
  assert.equal(await a!.revokeApiKey('k1', systemClock.iso()), true);
  assert.equal((await b!.findApiKeyByHash('h1'))?.status, 'REVOKED');
});

test('postgres accounts: an unreachable database fails the open with one line naming the URL (without password)', async () => {
  const port = await freePort();
  await assert.rejects(openPostgresAccountStorage({ url: `postgres://tether:hunter2@127.0.0.1:${port}/tether`, connectTimeoutMs: 2000 }), (err: Error) => {
    assert.ok(isTetherError(err));
    assert.equal(err.code, 'DEPENDENCY_UNREACHABLE');
    assert.doesNotMatch(err.message, /hunter2/);
    assert.match(err.message, /--database-url/);
    return true;
  });
});
