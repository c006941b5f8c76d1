/** The behaviour every AccountStorage must have; accounts-conformance.test.ts runs it on every backend of backends.ts. */
import assert from 'node:assert/strict';
import { describe, test } from '../helpers/test.js';
import type { ApiKeyRecord, NewAuditEntry, SessionRecord, UserRecord } from '../../src/core/accounts.js';
import { isTetherError } from '../../src/core/errors.js';
import type { AccountStorage } from '../../src/storage/accounts.js';

export interface OpenedAccountStorage {
  store: AccountStorage;
  cleanup: () => Promise<void>;
  /** Opens the same data again (durability); absent when the backend cannot. */
  reopen?: () => Promise<AccountStorage>;
}

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';
const T2 = '2026-01-03T00:00:00.000Z';

const user = (username: string, role: UserRecord['role'] = 'viewer'): UserRecord => ({
  username, role, passwordHash: `{"hash":"${username}"}`, createdDate: T0, passwordChangedDate: T0, lastSignInDate: null,
});

const key = (keyId: string, created = T0): ApiKeyRecord => ({
  keyId, name: `key ${keyId}`, role: 'operator', keyHash: `hash-${keyId}`, hint: '…abcd', createdDate: created, createdBy: 'admin',
  lastUsedDate: null, status: 'ACTIVE', revokedDate: null,
});

const session = (digest: string, username: string, expiresDate = T2): SessionRecord => ({ digest, username, createdDate: T0, expiresDate });

const entry = (over: Partial<NewAuditEntry> = {}): NewAuditEntry => ({
  at: T0, actor: { kind: 'user', name: 'alice', role: 'admin' }, clientAddress: '10.0.0.1', action: 'metadata.update', method: 'PUT',
  path: '/epr/api/v1/endpoints/e1/metadata', endpointId: 'e1', target: 'e1', before: { metadata: { a: 1 } }, after: { metadata: { a: 2 } }, ...over,
});

export function accountStorageConformance(name: string, open: () => Promise<OpenedAccountStorage>): void {
  async function withStore(fn: (store: AccountStorage, opened: OpenedAccountStorage) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.store, opened);
    } finally {
      await opened.cleanup();
    }
  }

  describe(`AccountStorage conformance: ${name}`, () => {
    test('users: insert, get, list sorted, update, count by role, delete; a taken username is USER_CONFLICT', () =>
      withStore(async (store) => {
        await store.insertUser(user('zoe', 'admin'));
        await store.insertUser(user('adam'));
        await assert.rejects(store.insertUser(user('adam')), (err: unknown) => isTetherError(err) && err.code === 'USER_CONFLICT');
        assert.deepEqual((await store.listUsers()).map((u) => u.username), ['adam', 'zoe']);
        assert.deepEqual(await store.getUser('zoe'), user('zoe', 'admin'));
        assert.equal(await store.getUser('nobody'), undefined);
        assert.equal(await store.updateUser('adam', { role: 'operator', passwordHash: 'h2', passwordChangedDate: T1, lastSignInDate: T2 }), true);
        assert.deepEqual(await store.getUser('adam'), { ...user('adam'), role: 'operator', passwordHash: 'h2', passwordChangedDate: T1, lastSignInDate: T2 });
        assert.equal(await store.updateUser('nobody', { role: 'admin' }), false);
        assert.equal(await store.countUsers(), 2);
        assert.equal(await store.countUsers('admin'), 1);
        assert.equal(await store.deleteUser('adam'), true);
        assert.equal(await store.deleteUser('adam'), false);
        assert.equal(await store.countUsers(), 1);
      }));

    test('API keys: insert, find by hash, list newest first, touch, revoke once', () =>
      withStore(async (store) => {
        await store.insertApiKey(key('k1', T0));
        await store.insertApiKey(key('k2', T1));
        assert.deepEqual((await store.listApiKeys()).map((k) => k.keyId), ['k2', 'k1']);
        assert.deepEqual(await store.findApiKeyByHash('hash-k1'), key('k1', T0));
        assert.equal(await store.findApiKeyByHash('nope'), undefined);
        await store.touchApiKey('k1', T1);
        assert.equal((await store.getApiKey('k1'))?.lastUsedDate, T1);
        assert.equal(await store.revokeApiKey('k1', T2), true);
        assert.equal(await store.revokeApiKey('k1', T2), false);
        assert.equal(await store.revokeApiKey('nope', T2), false);
        const revoked = await store.getApiKey('k1');
        assert.equal(revoked?.status, 'REVOKED');
        assert.equal(revoked?.revokedDate, T2);
      }));

    test('dashboard sessions: insert, get by digest, end one, end all of a user but one, prune the expired', () =>
      withStore(async (store) => {
        await store.insertSession(session('d1', 'alice'));
        await store.insertSession(session('d2', 'alice', T1));
        await store.insertSession(session('d3', 'alice'));
        await store.insertSession(session('d4', 'bob', T1));
        assert.deepEqual(await store.getSession('d1'), session('d1', 'alice'));
        assert.equal(await store.getSession('nope'), undefined);
        assert.equal(await store.deleteSession('d1'), true);
        assert.equal(await store.deleteSession('d1'), false);
        assert.equal(await store.getSession('d1'), undefined);
        assert.equal(await store.deleteUserSessions('alice', 'd3'), 1, 'd2 ends, d3 is kept');
        assert.deepEqual(await store.getSession('d3'), session('d3', 'alice'));
        assert.equal(await store.getSession('d2'), undefined);
        assert.equal((await store.getSession('d4'))?.username, 'bob', "another user's session stays");
        assert.equal(await store.pruneSessions(T1), 1, "bob's session expired at T1");
        assert.equal(await store.getSession('d4'), undefined);
        assert.equal(await store.deleteUserSessions('alice'), 1, 'without a kept one, all go');
        assert.equal(await store.getSession('d3'), undefined);
      }));

    test('audit: append with increasing ids, newest first, filters, paging, prune by age', () =>
      withStore(async (store) => {
        const a = await store.appendAudit(entry());
        const b = await store.appendAudit(entry({ at: T1, actor: { kind: 'api-key', name: 'ci', role: 'operator' }, endpointId: 'e2', target: 'e2', action: 'token.revoke' }));
        const c = await store.appendAudit(entry({ at: T2, endpointId: null, target: 'bob', action: 'user.create', before: null, after: { role: 'viewer' }, clientAddress: null }));
        assert.ok(a < b && b < c);
        const all = await store.queryAudit({ limit: 10 });
        assert.deepEqual(all.map((e) => e.id), [c, b, a]);
        assert.deepEqual(all[2], { id: a, ...entry() });
        assert.deepEqual((await store.queryAudit({ limit: 10, endpointId: 'e2' })).map((e) => e.id), [b]);
        assert.deepEqual((await store.queryAudit({ limit: 10, actor: 'alice' })).map((e) => e.id), [c, a]);
        assert.deepEqual((await store.queryAudit({ limit: 10, action: 'user.create' })).map((e) => e.id), [c]);
        assert.deepEqual((await store.queryAudit({ limit: 10, from: T1 })).map((e) => e.id), [c, b]);
        assert.deepEqual((await store.queryAudit({ limit: 10, to: T1 })).map((e) => e.id), [a]);
        assert.deepEqual((await store.queryAudit({ limit: 1, before: c })).map((e) => e.id), [b]);
        assert.equal(await store.pruneAudit(T1), 1);
        assert.deepEqual((await store.queryAudit({ limit: 10 })).map((e) => e.id), [c, b]);
      }));

    test('audit: a batch is appended in the order given, each entry whole', () =>
      withStore(async (store) => {
        const first = await store.appendAudit(entry());
        const batch = Array.from({ length: 300 }, (_, i) =>
          entry({ at: T1, endpointId: `e${i}`, target: `e${i}`, action: 'endpoint.import', before: null, after: { metadata: { n: i } }, clientAddress: i % 2 ? null : '10.0.0.1' }),
        );
        await store.appendAuditBatch(batch);
        await store.appendAuditBatch([]);
        const all = await store.queryAudit({ limit: 1000 });
        assert.equal(all.length, 301);
        assert.equal(all.at(-1)!.id, first);
        const appended = all.slice(0, 300).reverse();
        assert.ok(appended.every((e, i) => e.id > first && (i === 0 || e.id > appended[i - 1]!.id)));
        assert.deepEqual(appended.map(({ id: _id, ...rest }) => rest), batch);
        assert.deepEqual((await store.queryAudit({ limit: 10, endpointId: 'e299' }))[0]!.after, { metadata: { n: 299 } });
      }));

    test('metadata history: append in order, per endpoint newest first, trim to the newest N, prune by age', () =>
      withStore(async (store) => {
        await store.appendMetadataHistory([
          { endpointId: 'e1', at: T0, source: 'device', metadata: { v: 1 } },
          { endpointId: 'e2', at: T0, source: 'operator', metadata: { x: 'y' } },
          { endpointId: 'e1', at: T1, source: 'operator', metadata: { v: 2 } },
          { endpointId: 'e1', at: T2, source: 'device', metadata: { v: 3, nested: { a: [1] } } },
        ]);
        const e1 = await store.queryMetadataHistory('e1', { limit: 10 });
        assert.deepEqual(e1.map((h) => [h.source, h.metadata]), [['device', { v: 3, nested: { a: [1] } }], ['operator', { v: 2 }], ['device', { v: 1 }]]);
        assert.deepEqual((await store.queryMetadataHistory('e1', { limit: 10, before: e1[0]!.id })).map((h) => h.metadata), [{ v: 2 }, { v: 1 }]);
        assert.equal(await store.trimMetadataHistory('e1', 2), 1, 'e1 keeps its newest 2');
        assert.equal(await store.trimMetadataHistory('e1', 2), 0);
        assert.equal(await store.trimMetadataHistory('e2', 5), 0, 'fewer than kept: nothing goes');
        assert.deepEqual((await store.queryMetadataHistory('e1', { limit: 10 })).map((h) => h.metadata), [{ v: 3, nested: { a: [1] } }, { v: 2 }]);
        assert.equal(await store.pruneMetadataHistory(T1), 1, 'e2 is older than T1');
        assert.deepEqual(await store.queryMetadataHistory('e2', { limit: 10 }), []);
        assert.equal((await store.queryMetadataHistory('e1', { limit: 10 })).length, 2);
      }));

    test('metadata history: a large batch is stored in the order given', () =>
      withStore(async (store) => {
        const batch = Array.from({ length: 300 }, (_, i) => ({ endpointId: `e${i % 3}`, at: T0, source: 'device' as const, metadata: { i } }));
        await store.appendMetadataHistory(batch);
        await store.appendMetadataHistory([]);
        const e1 = await store.queryMetadataHistory('e1', { limit: 1000 });
        assert.deepEqual(e1.map((h) => h.metadata), batch.filter((e) => e.endpointId === 'e1').map((e) => e.metadata).reverse());
        assert.ok(e1.every((h, i) => i === 0 || h.id < e1[i - 1]!.id));
      }));

    test('durable: what was written is there after reopening', () =>
      withStore(async (store, opened) => {
        if (!opened.reopen) return;
        await store.insertUser(user('kept', 'admin'));
        await store.insertApiKey(key('k1'));
        await store.appendAudit(entry());
        await store.insertSession(session('d1', 'kept'));
        await store.close();
        const again = await opened.reopen();
        try {
          assert.equal((await again.getUser('kept'))?.role, 'admin');
          assert.equal((await again.getApiKey('k1'))?.name, 'key k1');
          assert.equal((await again.queryAudit({ limit: 10 })).length, 1);
          assert.deepEqual(await again.getSession('d1'), session('d1', 'kept'));
        } finally {
          await again.close();
        }
      }));

    test('calls after close reject with UNAVAILABLE', () =>
      withStore(async (store) => {
        await store.close();
        await assert.rejects(store.getUser('x'), (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE');
      }));
  });
}
