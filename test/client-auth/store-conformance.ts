import assert from 'node:assert/strict';
import { describe, test } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import type { ClientCredentialRecord } from '../../src/core/types.js';
import type { ClientCredentialStore } from '../../src/storage/storage.js';

/** The behaviour every ClientCredentialStore must have; `reopen` (when possible) proves durability. */
export interface OpenedStore {
  store: ClientCredentialStore;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<ClientCredentialStore>;
}

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:01.000Z';

export function basic(id: string, username: string, app = 'app_a', created = T0): ClientCredentialRecord {
  return {
    credentialId: id, applicationName: app, kind: 'basic', username, passwordHash: `scrypt$1$1$1$salt$${id}`,
    certificateFingerprint: null, certificateSubject: null, boundEndpoints: [], status: 'ACTIVE', description: '',
    createdDate: created, statusUpdatedDate: created,
  };
}

export function x509(id: string, fingerprint: string, app = 'app_a', created = T0): ClientCredentialRecord {
  return {
    credentialId: id, applicationName: app, kind: 'x509', username: null, passwordHash: null,
    certificateFingerprint: fingerprint, certificateSubject: 'CN=device', boundEndpoints: ['e1', 'e2'], status: 'ACTIVE',
    description: 'a gateway', createdDate: created, statusUpdatedDate: created,
  };
}

export function clientCredentialStoreConformance(name: string, open: () => Promise<OpenedStore>): void {
  async function withStore(fn: (store: ClientCredentialStore, opened: OpenedStore) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.store, opened);
    } finally {
      await opened.cleanup();
    }
  }

  async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(isTetherError(err), `expected TetherError ${code}, got ${String(err)}`);
      assert.equal(err.code, code);
      return true;
    });
  }

  describe(`ClientCredentialStore conformance: ${name}`, () => {
    test('init() is idempotent and an inserted record reads back whole', () =>
      withStore(async (store) => {
        await store.init();
        const a = basic('c1', 'alice');
        const b = x509('c2', 'ab'.repeat(32));
        await store.insert(a);
        await store.insert(b);
        await store.init();
        assert.deepEqual(await store.get('c1'), a);
        assert.deepEqual(await store.get('c2'), b);
        assert.equal(await store.get('nope'), undefined);
      }));

    test('finds by username and by fingerprint, and only those', () =>
      withStore(async (store) => {
        await store.insert(basic('c1', 'alice'));
        await store.insert(x509('c2', 'ab'.repeat(32)));
        assert.equal((await store.findByUsername('alice'))?.credentialId, 'c1');
        assert.equal(await store.findByUsername('ALICE'), undefined);
        assert.equal((await store.findByFingerprint('ab'.repeat(32)))?.credentialId, 'c2');
        assert.equal(await store.findByFingerprint('cd'.repeat(32)), undefined);
      }));

    test('usernames and fingerprints are unique across applications; IDs are unique', () =>
      withStore(async (store) => {
        await store.insert(basic('c1', 'alice', 'app_a'));
        await store.insert(x509('c2', 'ab'.repeat(32), 'app_a'));
        await rejectsWith(store.insert(basic('c3', 'alice', 'app_b')), 'CLIENT_CREDENTIAL_CONFLICT');
        await rejectsWith(store.insert(x509('c4', 'ab'.repeat(32), 'app_b')), 'CLIENT_CREDENTIAL_CONFLICT');
        await rejectsWith(store.insert(basic('c1', 'bob')), 'CLIENT_CREDENTIAL_CONFLICT');
        // Many x509 credentials have no username, many basic ones no fingerprint.
        await store.insert(x509('c5', 'cd'.repeat(32)));
        await store.insert(basic('c6', 'bob'));
        assert.equal((await store.list()).length, 4);
      }));

    test('lists oldest first, all or per application', () =>
      withStore(async (store) => {
        await store.insert(basic('c2', 'bob', 'app_b', T1));
        await store.insert(basic('c1', 'alice', 'app_a', T0));
        await store.insert(basic('c3', 'carol', 'app_a', T1));
        assert.deepEqual((await store.list()).map((r) => r.credentialId), ['c1', 'c2', 'c3']);
        assert.deepEqual((await store.list('app_a')).map((r) => r.credentialId), ['c1', 'c3']);
        assert.deepEqual(await store.list('app_none'), []);
      }));

    test('updates status and bound endpoints; false for unknown IDs', () =>
      withStore(async (store) => {
        await store.insert(basic('c1', 'alice'));
        assert.equal(await store.updateStatus('c1', 'SUSPENDED', T1), true);
        assert.equal(await store.updateBoundEndpoints('c1', ['e9', 'e8']), true);
        const r = await store.get('c1');
        assert.equal(r?.status, 'SUSPENDED');
        assert.equal(r?.statusUpdatedDate, T1);
        assert.deepEqual(r?.boundEndpoints, ['e9', 'e8']);
        assert.equal(await store.updateStatus('nope', 'REVOKED', T1), false);
        assert.equal(await store.updateBoundEndpoints('nope', []), false);
      }));

    test('delete removes the record and frees its username', () =>
      withStore(async (store) => {
        await store.insert(basic('c1', 'alice'));
        assert.equal(await store.delete('c1'), true);
        assert.equal(await store.delete('c1'), false);
        assert.equal(await store.get('c1'), undefined);
        await store.insert(basic('c2', 'alice'));
        assert.equal((await store.findByUsername('alice'))?.credentialId, 'c2');
      }));

    test('calls after close() reject with UNAVAILABLE', () =>
      withStore(async (store) => {
        await store.close();
        await rejectsWith(store.get('c1'), 'UNAVAILABLE');
        await rejectsWith(store.insert(basic('c1', 'alice')), 'UNAVAILABLE');
      }));

    test('acknowledged writes survive a reopen', () =>
      withStore(async (store, opened) => {
        if (!opened.reopen) return;
        await store.insert(basic('c1', 'alice'));
        await store.updateStatus('c1', 'REVOKED', T1);
        await store.close();
        const again = await opened.reopen();
        try {
          assert.equal((await again.get('c1'))?.status, 'REVOKED');
        } finally {
          await again.close();
        }
      }));
  });
}
