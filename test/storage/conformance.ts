import assert from 'node:assert/strict';
import { describe, test } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import type { EndpointQuery, EndpointRecord, JsonValue, Metadata } from '../../src/core/types.js';
import type { Storage } from '../../src/storage/storage.js';
import { T0, application, appVersion, at, endpoint, seedApplication, sha256, token } from './fixtures.js';

/**
 * The behaviour every Storage implementation must have. A backend's test file calls this once with
 * a function that opens a fresh, empty store; `reopen` (when the backend can) opens the same data
 * again after `storage.close()`, to prove durability.
 */
export interface OpenedStorage {
  storage: Storage;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<Storage>;
}

export function storageConformance(name: string, open: () => Promise<OpenedStorage>): void {
  /** Runs `fn` on a fresh store and always cleans up (closing twice is allowed). */
  async function withStorage(fn: (storage: Storage, opened: OpenedStorage) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.storage, opened);
    } finally {
      await opened.cleanup();
    }
  }

  async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(isTetherError(err), `expected a TetherError ${code}, got ${String(err)}`);
      assert.equal(err.code, code);
      return true;
    });
  }

  const query = (extra: Partial<EndpointQuery> = {}): EndpointQuery => ({ offset: 0, limit: 100, includeMetadata: false, ...extra });
  const ids = (page: { content: EndpointRecord[] }) => page.content.map((e) => e.endpointId);

  describe(`Storage conformance: ${name}`, () => {
    describe('lifecycle', () => {
      test('init() is idempotent', () =>
        withStorage(async (storage) => {
          await storage.init();
          await seedApplication(storage);
          await storage.init();
          assert.equal((await storage.listApplications()).length, 1);
          assert.equal(typeof storage.kind, 'string');
        }));

      test('reads and writes after close() reject with UNAVAILABLE', () =>
        withStorage(async (storage) => {
          await storage.close();
          await rejectsWith(storage.insertApplication(application('late')), 'UNAVAILABLE');
          await rejectsWith(storage.getApplication('late'), 'UNAVAILABLE');
          await rejectsWith(storage.changeMetadata('x', { kind: 'merge', metadata: {} }, T0), 'UNAVAILABLE');
          await rejectsWith(storage.recordSeen('x', T0), 'UNAVAILABLE');
          await rejectsWith(storage.queryEndpoints(query()), 'UNAVAILABLE');
        }));

      test('close() commits writes that were still pending', () =>
        withStorage(async (storage, opened) => {
          if (!opened.reopen) return;
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), {});
          const pending = [
            storage.changeMetadata('e1', { kind: 'merge', metadata: { a: 1 } }, at(1)),
            storage.putSetting('s', { x: 1 }),
            storage.recordSeen('e1', at(2)),
          ];
          await storage.close();
          await Promise.all(pending);
          const again = await opened.reopen();
          try {
            assert.deepEqual(await again.getMetadata('e1'), { a: 1 });
            assert.deepEqual(await again.getSetting('s'), { x: 1 });
            assert.equal((await again.getEndpoint('e1', false))?.lastSeen, at(2));
          } finally {
            await again.close();
          }
        }));

      test('reopening keeps everything', () =>
        withStorage(async (storage, opened) => {
          if (!opened.reopen) return;
          const { app, version } = await seedApplication(storage);
          const tok = token('e1', app, 'secret-1');
          await storage.insertEndpoint(endpoint('e1', version, app), { name: 'Ünïcødé ✓', n: 1.5, list: [1, { b: null }] }, tok);
          await storage.recordConnectivity('e1', true, at(5));
          await storage.putSetting('dashboard', { widgets: ['a'] });
          await storage.close();
          const again = await opened.reopen();
          try {
            assert.deepEqual(await again.getApplication(app), application(app));
            assert.deepEqual(await again.getAppVersion(version), appVersion(app, version));
            assert.deepEqual(await again.getEndpoint('e1', true), {
              ...endpoint('e1', version, app, { connected: true, connectivityTs: at(5), lastConnectedDate: at(5), lastSeen: at(5) }),
              metadata: { name: 'Ünïcødé ✓', n: 1.5, list: [1, { b: null }] },
            });
            assert.deepEqual(await again.getToken(tok.tokenId), tok);
            assert.deepEqual(await again.getSetting('dashboard'), { widgets: ['a'] });
            const page = await again.queryEndpoints(query({ search: 'ünïc' }));
            assert.deepEqual(ids(page), ['e1']);
          } finally {
            await again.close();
          }
        }));
    });

    describe('group commit', () => {
      test('500 concurrent changeMetadata calls all resolve and are all stored', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await Promise.all(Array.from({ length: 50 }, (_, i) => storage.insertEndpoint(endpoint(`e${i}`, version, app), {})));
          const results = await Promise.all(
            Array.from({ length: 500 }, (_, i) =>
              storage.changeMetadata(`e${i % 50}`, { kind: 'merge', metadata: { [`k${Math.floor(i / 50)}`]: i } }, at(i)),
            ),
          );
          assert.equal(results.length, 500);
          assert.ok(results.every((m) => m !== undefined));
          for (let e = 0; e < 50; e++) {
            const expected: Metadata = {};
            for (let k = 0; k < 10; k++) expected[`k${k}`] = k * 50 + e;
            assert.deepEqual(await storage.getMetadata(`e${e}`), expected);
          }
          // Each caller sees the document as of its own write: the 10th merge of e0 sees all 10 keys.
          assert.equal(Object.keys(results[450]!).length, 10);
          assert.equal(Object.keys(results[0]!).length, 1);
        }));

      test('a failing write in a batch rejects alone; the others commit', () =>
        withStorage(async (storage) => {
          await storage.insertApplication(application('taken'));
          const outcomes = await Promise.allSettled([
            storage.insertApplication(application('a1')),
            storage.insertApplication(application('taken')),
            storage.putSetting('k', 1),
            storage.insertApplication(application('a2')),
          ]);
          assert.deepEqual(
            outcomes.map((o) => o.status),
            ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
          );
          const rejected = outcomes[1] as PromiseRejectedResult;
          assert.ok(isTetherError(rejected.reason) && rejected.reason.code === 'APPLICATION_CONFLICT');
          assert.deepEqual((await storage.listApplications()).map((a) => a.name), ['a1', 'a2', 'taken']);
          assert.equal(await storage.getSetting('k'), 1);
        }));

      test('concurrent merges of one endpoint lose no keys', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), {});
          await Promise.all(
            Array.from({ length: 200 }, (_, i) => storage.changeMetadata('e1', { kind: 'merge', metadata: { [`k${i}`]: i } }, at(i))),
          );
          assert.equal(Object.keys((await storage.getMetadata('e1'))!).length, 200);
        }));

      test('merges, deletes and replaces of one endpoint issued together apply in order; filters and search agree', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), { gone: 'farewell', kept: 'old' });
          await storage.insertEndpoint(endpoint('e2', version, app), {});
          const steps = await Promise.all([
            storage.changeMetadata('e1', { kind: 'merge', metadata: { a: 1, b: 'transient' } }, at(1)),
            storage.changeMetadata('e1', { kind: 'delete', keys: ['a', 'gone'] }, at(2)),
            storage.changeMetadata('e2', { kind: 'merge', metadata: { other: 'x' } }, at(2)),
            storage.changeMetadata('e1', { kind: 'merge', metadata: { a: 2 } }, at(3)),
            storage.changeMetadata('e1', { kind: 'replace', metadata: { a: 3, kept: 'new', c: 'Hello World' } }, at(4)),
            storage.changeMetadata('e1', { kind: 'merge', metadata: { d: true } }, at(5)),
          ]);
          // Each caller sees the document as of its own step.
          assert.deepEqual(steps, [
            { gone: 'farewell', kept: 'old', a: 1, b: 'transient' },
            { kept: 'old', b: 'transient' },
            { other: 'x' },
            { kept: 'old', b: 'transient', a: 2 },
            { a: 3, kept: 'new', c: 'Hello World' },
            { a: 3, kept: 'new', c: 'Hello World', d: true },
          ]);
          assert.deepEqual(await storage.getMetadata('e1'), { a: 3, kept: 'new', c: 'Hello World', d: true });
          assert.equal((await storage.getEndpoint('e1', false))?.metadataUpdatedDate, at(5));
          assert.deepEqual(await storage.metadataKeysOfApplication(app), ['a', 'c', 'd', 'kept', 'other']);
          const found = async (extra: Partial<EndpointQuery>) => ids(await storage.queryEndpoints(query(extra)));
          assert.deepEqual(await found({ metadataFilters: [{ key: 'a', op: 'eq', value: 3 }] }), ['e1']);
          assert.deepEqual(await found({ metadataFilters: [{ key: 'b', op: 'exists' }] }), []);
          assert.deepEqual(await found({ metadataFilters: [{ key: 'gone', op: 'exists' }] }), []);
          assert.deepEqual(await found({ search: 'hello wor' }), ['e1']);
          assert.deepEqual(await found({ search: 'farewell' }), []);
          assert.deepEqual(await found({ search: 'transient' }), []);
          assert.deepEqual(await found({ metadataFilters: [{ key: 'kept', op: 'contains', value: 'NEW' }] }), ['e1']);
          assert.deepEqual(await found({ metadataFilters: [{ key: 'kept', op: 'contains', value: 'old' }] }), []);
        }));

      test('a change issued together with the deletion of its endpoint applies before it; a change after finds nothing', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), {});
          const [before, deleted, after] = await Promise.all([
            storage.changeMetadata('e1', { kind: 'merge', metadata: { a: 'searchable' } }, at(1)),
            storage.deleteEndpoint('e1'),
            storage.changeMetadata('e1', { kind: 'merge', metadata: { b: 2 } }, at(2)),
          ]);
          assert.deepEqual(before, { a: 'searchable' });
          assert.equal(deleted, true);
          assert.equal(after, undefined);
          assert.deepEqual(await storage.metadataKeysOfApplication(app), []);
          assert.equal((await storage.queryEndpoints(query({ search: 'searchable' }))).totalElements, 0);
        }));
    });

    describe('applications and versions', () => {
      test('insert, get, list sorted by name', () =>
        withStorage(async (storage) => {
          await storage.insertApplication(application('zeta', 'last'));
          await storage.insertApplication(application('alpha', 'first'));
          assert.deepEqual(await storage.getApplication('zeta'), application('zeta', 'last'));
          assert.equal(await storage.getApplication('missing'), undefined);
          assert.deepEqual((await storage.listApplications()).map((a) => a.name), ['alpha', 'zeta']);
        }));

      test('a duplicate application rejects APPLICATION_CONFLICT', () =>
        withStorage(async (storage) => {
          await storage.insertApplication(application('a'));
          await rejectsWith(storage.insertApplication(application('a', 'again')), 'APPLICATION_CONFLICT');
          assert.equal((await storage.getApplication('a'))?.description, '');
        }));

      test('versions: insert, get, list all and per application, duplicate rejects APP_VERSION_CONFLICT', () =>
        withStorage(async (storage) => {
          await storage.insertApplication(application('a'));
          await storage.insertApplication(application('b'));
          const v = appVersion('a', 'a_v1', { extensions: ['epmx', 'x'], metadataKeyAccess: { secret: 'hidden', serial: 'read-only' } });
          await storage.insertAppVersion(v);
          await storage.insertAppVersion(appVersion('a', 'a_v2'));
          await storage.insertAppVersion(appVersion('b', 'b_v1'));
          assert.deepEqual(await storage.getAppVersion('a_v1'), v);
          assert.equal(await storage.getAppVersion('nope'), undefined);
          assert.deepEqual((await storage.listAppVersions('a')).map((x) => x.name), ['a_v1', 'a_v2']);
          assert.deepEqual((await storage.listAppVersions()).map((x) => x.name).sort(), ['a_v1', 'a_v2', 'b_v1']);
          assert.deepEqual(await storage.listAppVersions('none'), []);
          await rejectsWith(storage.insertAppVersion(appVersion('b', 'a_v1')), 'APP_VERSION_CONFLICT');
        }));

      test('updateAppVersion replaces extensions and key access', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          const updated = appVersion(app, version, { extensions: [], metadataKeyAccess: { k: 'read-only' } });
          await storage.updateAppVersion(updated);
          assert.deepEqual(await storage.getAppVersion(version), updated);
        }));

      test('deleteApplication removes versions, endpoints, metadata and tokens, and only those', () =>
        withStorage(async (storage) => {
          const a = await seedApplication(storage, 'app_a');
          const b = await seedApplication(storage, 'app_b');
          const tokA = token('ea', a.app, 'tok-a');
          const tokB = token('eb', b.app, 'tok-b');
          await storage.insertEndpoint(endpoint('ea', a.version, a.app), { k: 1 }, tokA);
          await storage.insertEndpoint(endpoint('eb', b.version, b.app), { k: 2 }, tokB);
          assert.equal(await storage.deleteApplication(a.app), true);
          assert.equal(await storage.deleteApplication(a.app), false);
          assert.equal(await storage.getApplication(a.app), undefined);
          assert.equal(await storage.getAppVersion(a.version), undefined);
          assert.equal(await storage.getEndpoint('ea', true), undefined);
          assert.equal(await storage.getMetadata('ea'), undefined);
          assert.equal(await storage.getToken(tokA.tokenId), undefined);
          assert.equal(await storage.findTokenByHash(a.app, tokA.tokenHash), undefined);
          assert.deepEqual(await storage.metadataKeysOfApplication(a.app), []);
          assert.deepEqual(await storage.getMetadata('eb'), { k: 2 });
          assert.deepEqual(await storage.getToken(tokB.tokenId), tokB);
          // The ID is free again.
          await seedApplication(storage, 'app_a');
          await storage.insertEndpoint(endpoint('ea', a.version, a.app), {}, token('ea', a.app, 'tok-a'));
        }));
    });

    describe('endpoints', () => {
      test('insertEndpoint stores the endpoint, metadata and first token; getEndpoint with and without metadata', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          const record = endpoint('e1', version, app, { createdDate: at(1), metadataUpdatedDate: at(1) });
          const tok = token('e1', app, 'tok-1');
          await storage.insertEndpoint(record, { serial: 'SN1' }, tok);
          const without = await storage.getEndpoint('e1', false);
          assert.deepEqual(without, record);
          assert.equal(Object.hasOwn(without!, 'metadata'), false);
          assert.deepEqual(await storage.getEndpoint('e1', true), { ...record, metadata: { serial: 'SN1' } });
          assert.deepEqual(await storage.listTokens('e1'), [tok]);
          assert.equal(await storage.getEndpoint('nope', true), undefined);
        }));

      test('a duplicate endpoint ID rejects ENDPOINT_CONFLICT and stores nothing of the second insert', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), { a: 1 });
          const second = token('e1', app, 'tok-2');
          await rejectsWith(storage.insertEndpoint(endpoint('e1', version, app), { b: 2 }, second), 'ENDPOINT_CONFLICT');
          assert.deepEqual(await storage.getMetadata('e1'), { a: 1 });
          assert.equal(await storage.getToken(second.tokenId), undefined);
        }));

      test('a token already used in the application rejects TOKEN_CONFLICT and the endpoint is not created', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), {}, token('e1', app, 'same'));
          await rejectsWith(storage.insertEndpoint(endpoint('e2', version, app), { a: 1 }, token('e2', app, 'same')), 'TOKEN_CONFLICT');
          assert.equal(await storage.getEndpoint('e2', false), undefined);
          assert.deepEqual(await storage.metadataKeysOfApplication(app), []);
        }));

      test('deleteEndpoint removes its metadata and tokens and reports whether it existed', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          const tok = token('e1', app, 'tok-1');
          await storage.insertEndpoint(endpoint('e1', version, app), { k: 'v' }, tok);
          await storage.insertEndpoint(endpoint('e2', version, app), { other: 'v' });
          assert.equal(await storage.deleteEndpoint('e1'), true);
          assert.equal(await storage.deleteEndpoint('e1'), false);
          assert.equal(await storage.getEndpoint('e1', true), undefined);
          assert.equal(await storage.getMetadata('e1'), undefined);
          assert.equal(await storage.getToken(tok.tokenId), undefined);
          assert.deepEqual(await storage.listTokens('e1'), []);
          assert.deepEqual(await storage.metadataKeysOfApplication(app), ['other']);
          assert.equal((await storage.queryEndpoints(query({ metadataFilters: [{ key: 'k', op: 'exists' }] }))).totalElements, 0);
          // The token can be used again.
          await storage.insertEndpoint(endpoint('e3', version, app), {}, token('e3', app, 'tok-1'));
        }));
    });

    describe('metadata', () => {
      const values: Record<string, JsonValue> = {
        text: 'plain',
        unicode: 'Grüße, 世界 🌍 "quoted" \\ back\nslash',
        empty: '',
        int: 42,
        negative: -7,
        float: 3.141592653589793,
        big: 1e300,
        yes: true,
        no: false,
        nothing: null,
        list: [1, 'two', [3], { four: 4 }, null],
        emptyList: [],
        object: { nested: { deep: [true, { x: 'y' }] }, 'weird key ✓': 1 },
        emptyObject: {},
        __proto__: { polluted: true },
      };
      const allValues = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(values)))) as Metadata;
      // JSON.parse keeps "__proto__" as an ordinary key; make sure the fixture has it.
      Object.defineProperty(allValues, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });

      test('values round-trip any JSON, including a __proto__ key', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), allValues);
          assert.deepEqual(await storage.getMetadata('e1'), allValues);
          await storage.insertEndpoint(endpoint('e2', version, app), {});
          const merged = await storage.changeMetadata('e2', { kind: 'merge', metadata: allValues }, at(1));
          assert.deepEqual(merged, allValues);
          const stored = await storage.getMetadata('e2');
          assert.deepEqual(stored, allValues);
          assert.equal(Object.getPrototypeOf(stored), Object.prototype);
          assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
          assert.deepEqual((await storage.getEndpoint('e2', true))?.metadata, allValues);
        }));

      test('replace sets the whole document; absent keys are removed (10/EPMP update)', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), { a: 1, b: 2 });
          const result = await storage.changeMetadata('e1', { kind: 'replace', metadata: { b: 3, c: 4 } }, at(7));
          assert.deepEqual(result, { b: 3, c: 4 });
          assert.deepEqual(await storage.getMetadata('e1'), { b: 3, c: 4 });
          assert.equal((await storage.getEndpoint('e1', false))?.metadataUpdatedDate, at(7));
          assert.deepEqual(await storage.metadataKeysOfApplication(app), ['b', 'c']);
          assert.equal((await storage.queryEndpoints(query({ metadataFilters: [{ key: 'a', op: 'exists' }] }))).totalElements, 0);
        }));

      test('merge creates or updates only the given keys (10/EPMP update/keys)', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), { a: 1, b: 2 });
          assert.deepEqual(await storage.changeMetadata('e1', { kind: 'merge', metadata: { b: 'two', c: [3] } }, at(2)), {
            a: 1,
            b: 'two',
            c: [3],
          });
          assert.equal((await storage.queryEndpoints(query({ metadataFilters: [{ key: 'b', op: 'eq', value: 'two' }] }))).totalElements, 1);
          assert.equal((await storage.queryEndpoints(query({ metadataFilters: [{ key: 'b', op: 'eq', value: 2 }] }))).totalElements, 0);
        }));

      test('delete removes the given keys and ignores unknown ones (10/EPMP delete/keys)', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), { a: 1, b: 2, c: 3 });
          assert.deepEqual(await storage.changeMetadata('e1', { kind: 'delete', keys: ['a', 'zzz'] }, at(3)), { b: 2, c: 3 });
          assert.deepEqual(await storage.getMetadata('e1'), { b: 2, c: 3 });
          assert.equal((await storage.getEndpoint('e1', false))?.metadataUpdatedDate, at(3));
        }));

      test('changeMetadata of a missing endpoint resolves undefined', () =>
        withStorage(async (storage) => {
          assert.equal(await storage.changeMetadata('ghost', { kind: 'merge', metadata: { a: 1 } }, T0), undefined);
          assert.equal(await storage.getMetadata('ghost'), undefined);
        }));

      test('metadataKeysOfApplication lists distinct keys of that application, sorted', () =>
        withStorage(async (storage) => {
          const a = await seedApplication(storage, 'app_a');
          const b = await seedApplication(storage, 'app_b');
          await storage.insertEndpoint(endpoint('e1', a.version, a.app), { zeta: 1, alpha: 2 });
          await storage.insertEndpoint(endpoint('e2', a.version, a.app), { alpha: 3, Mid: 4 });
          await storage.insertEndpoint(endpoint('e3', b.version, b.app), { onlyB: 1 });
          assert.deepEqual(await storage.metadataKeysOfApplication(a.app), ['Mid', 'alpha', 'zeta']);
          assert.deepEqual(await storage.metadataKeysOfApplication(b.app), ['onlyB']);
          assert.deepEqual(await storage.metadataKeysOfApplication('none'), []);
          await storage.changeMetadata('e1', { kind: 'delete', keys: ['zeta'] }, at(1));
          assert.deepEqual(await storage.metadataKeysOfApplication(a.app), ['Mid', 'alpha']);
        }));
    });

    describe('tokens', () => {
      test('insert, get, find by hash within its application, list, update status', () =>
        withStorage(async (storage) => {
          const a = await seedApplication(storage, 'app_a');
          const b = await seedApplication(storage, 'app_b');
          await storage.insertEndpoint(endpoint('e1', a.version, a.app), {});
          await storage.insertEndpoint(endpoint('e2', b.version, b.app), {});
          const t1 = token('e1', a.app, 'shared-token');
          const t2 = { ...token('e1', a.app, 'second'), createdDate: at(1), statusUpdatedDate: at(1) };
          await storage.insertToken(t1);
          await storage.insertToken(t2);
          // The same token in another application is a different token.
          const t3 = token('e2', b.app, 'shared-token');
          await storage.insertToken(t3);
          assert.deepEqual(await storage.getToken(t1.tokenId), t1);
          assert.equal(await storage.getToken('nope'), undefined);
          assert.deepEqual(await storage.findTokenByHash(a.app, sha256('shared-token')), t1);
          assert.deepEqual(await storage.findTokenByHash(b.app, sha256('shared-token')), t3);
          assert.equal(await storage.findTokenByHash(a.app, sha256('unknown')), undefined);
          assert.deepEqual(await storage.listTokens('e1'), [t1, t2]);
          await storage.updateTokenStatus(t1.tokenId, 'SUSPENDED', at(9));
          assert.deepEqual(await storage.getToken(t1.tokenId), { ...t1, status: 'SUSPENDED', statusUpdatedDate: at(9) });
        }));

      test('a token hash already used in the application rejects TOKEN_CONFLICT', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), {}, token('e1', app, 'dup'));
          await storage.insertEndpoint(endpoint('e2', version, app), {});
          await rejectsWith(storage.insertToken(token('e2', app, 'dup')), 'TOKEN_CONFLICT');
          assert.deepEqual(await storage.listTokens('e2'), []);
        }));
    });

    describe('connectivity', () => {
      test('recordConnectivity sets connected, connectivityTs, the last connect or disconnect and (on connect) lastSeen', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), {});
          await storage.recordConnectivity('e1', true, at(1));
          assert.deepEqual(
            await storage.getEndpoint('e1', false),
            endpoint('e1', version, app, { connected: true, connectivityTs: at(1), lastConnectedDate: at(1), lastSeen: at(1) }),
          );
          await storage.recordConnectivity('e1', false, at(5));
          const both = endpoint('e1', version, app, {
            connected: false,
            connectivityTs: at(5),
            lastConnectedDate: at(1),
            lastDisconnectedDate: at(5),
            lastSeen: at(1),
          });
          assert.deepEqual(await storage.getEndpoint('e1', false), both);
          // Lists return the same record as single reads.
          assert.deepEqual((await storage.queryEndpoints(query({ endpointIds: ['e1'] }))).content, [both]);
          // A reconnect moves only the last connect; the last disconnect stays.
          await storage.recordConnectivity('e1', true, at(7));
          const again = await storage.getEndpoint('e1', false);
          assert.equal(again?.lastConnectedDate, at(7));
          assert.equal(again?.lastDisconnectedDate, at(5));
          // An unknown endpoint is not an error.
          await storage.recordConnectivity('ghost', true, at(1));
        }));

      test('recordSeen sets lastSeen; concurrent calls keep the latest time', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), {});
          await storage.insertEndpoint(endpoint('e2', version, app), {});
          await Promise.all([
            storage.recordSeen('e1', at(3)),
            storage.recordSeen('e1', at(9)),
            storage.recordSeen('e1', at(4)),
            storage.recordSeen('e2', at(2)),
            storage.recordSeen('ghost', at(2)),
          ]);
          assert.equal((await storage.getEndpoint('e1', false))?.lastSeen, at(9));
          assert.equal((await storage.getEndpoint('e2', false))?.lastSeen, at(2));
          assert.equal((await storage.getEndpoint('e2', false))?.connected, false);
          // Issued together with metadata changes (one batch), every write applies.
          const [changed] = await Promise.all([
            storage.changeMetadata('e1', { kind: 'merge', metadata: { k: 1 } }, at(20)),
            storage.recordSeen('e1', at(21)),
            storage.recordSeen('e2', at(22)),
            storage.recordConnectivity('e2', true, at(19)),
          ]);
          assert.deepEqual(changed, { k: 1 });
          const e1 = await storage.getEndpoint('e1', true);
          assert.deepEqual([e1?.lastSeen, e1?.metadataUpdatedDate, e1?.metadata], [at(21), at(20), { k: 1 }]);
          const e2 = await storage.getEndpoint('e2', false);
          assert.deepEqual([e2?.lastSeen, e2?.connected], [at(22), true]);
        }));

      test('resetConnectivity disconnects every connected endpoint and counts them', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          for (const id of ['e1', 'e2', 'e3']) await storage.insertEndpoint(endpoint(id, version, app), {});
          await storage.recordConnectivity('e1', true, at(1));
          await storage.recordConnectivity('e2', true, at(1));
          assert.equal(await storage.resetConnectivity(at(10)), 2);
          for (const id of ['e1', 'e2']) {
            const e = await storage.getEndpoint(id, false);
            assert.equal(e?.connected, false);
            assert.equal(e?.connectivityTs, at(10));
            assert.equal(e?.lastConnectedDate, at(1));
            assert.equal(e?.lastDisconnectedDate, at(10));
            assert.equal(e?.lastSeen, at(1));
          }
          const untouched = await storage.getEndpoint('e3', false);
          assert.equal(untouched?.connectivityTs, null);
          assert.equal(untouched?.lastDisconnectedDate, null);
          assert.equal(await storage.resetConnectivity(at(11)), 0);
        }));
    });

    describe('connectivity across nodes', () => {
      test('a connect remembers its node; a disconnect from another node changes nothing; disconnectNode releases only that node', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          for (const id of ['e1', 'e2', 'e3', 'e4']) await storage.insertEndpoint(endpoint(id, version, app), {});
          await storage.recordConnectivity('e1', true, at(1), 'node-a');
          await storage.recordConnectivity('e2', true, at(1), 'node-a');
          await storage.recordConnectivity('e3', true, at(1), 'node-b');
          // e2 moved to node-b (takeover); node-a's late disconnect must not undo that.
          await storage.recordConnectivity('e2', true, at(2), 'node-b');
          await storage.recordConnectivity('e2', false, at(3), 'node-a');
          assert.equal((await storage.getEndpoint('e2', false))?.connected, true);
          const released = await storage.disconnectNode('node-a', at(10));
          assert.deepEqual(released, [{ endpointId: 'e1', applicationName: app }]);
          const e1 = await storage.getEndpoint('e1', false);
          assert.equal(e1?.connected, false);
          assert.equal(e1?.lastDisconnectedDate, at(10));
          assert.equal((await storage.getEndpoint('e3', false))?.connected, true);
          assert.deepEqual(await storage.disconnectNode('node-a', at(11)), []);
          // Edges without a node (one node) always apply.
          await storage.recordConnectivity('e3', false, at(12));
          assert.equal((await storage.getEndpoint('e3', false))?.connected, false);
          // Edges issued together fold in order: a connect then a disconnect from the same node ends disconnected.
          await Promise.all([storage.recordConnectivity('e4', true, at(20), 'node-c'), storage.recordConnectivity('e4', false, at(21), 'node-c')]);
          const e4 = await storage.getEndpoint('e4', false);
          assert.equal(e4?.connected, false);
          assert.equal(e4?.lastConnectedDate, at(20));
          assert.equal(e4?.lastDisconnectedDate, at(21));
          assert.deepEqual(await storage.disconnectNode('node-b', at(30)), [{ endpointId: 'e2', applicationName: app }]);
        }));
    });

    describe('settings', () => {
      test('put, get, overwrite and delete JSON documents', () =>
        withStorage(async (storage) => {
          assert.equal(await storage.getSetting('k'), undefined);
          const doc = { widgets: [{ type: 'map', '✓': 'ünï' }], n: 1, off: false, none: null } as unknown as JsonValue;
          await storage.putSetting('k', doc);
          assert.deepEqual(await storage.getSetting('k'), doc);
          await storage.putSetting('k', 'just a string');
          assert.equal(await storage.getSetting('k'), 'just a string');
          await storage.putSetting('n', null);
          assert.equal(await storage.getSetting('n'), null);
          assert.equal(await storage.deleteSetting('k'), true);
          assert.equal(await storage.deleteSetting('k'), false);
          assert.equal(await storage.getSetting('k'), undefined);
        }));
    });

    describe('queryEndpoints', () => {
      /** Two applications; app_a has 12 endpoints with varied metadata and connectivity. */
      async function seedQueryData(storage: Storage): Promise<{ app: string; version: string; version2: string }> {
        const a = await seedApplication(storage, 'app_a');
        await storage.insertAppVersion(appVersion(a.app, 'app_a_v2'));
        const b = await seedApplication(storage, 'app_b');
        for (let i = 0; i < 12; i++) {
          const id = `dev-${String(i).padStart(2, '0')}`;
          const metadata: Metadata = { serial: `SN-${i}`, temp: 20 + ((i * 7) % 12), room: i % 3 === 0 ? 'Küche' : `room ${i % 3}` };
          if (i % 4 === 0) metadata['tags'] = { floor: i / 4, kind: 'sensor' };
          if (i === 5) metadata['label'] = 'Greenhouse Öst';
          await storage.insertEndpoint(
            endpoint(id, i < 8 ? a.version : 'app_a_v2', a.app, { createdDate: at(100 - i), lastSeen: i % 2 ? at(i) : null }),
            metadata,
          );
        }
        for (const i of [1, 4, 7]) await storage.recordConnectivity(`dev-0${i}`, true, at(50 + i));
        await storage.insertEndpoint(endpoint('other-app', b.version, b.app), { serial: 'SN-1', room: 'Küche' });
        return { app: a.app, version: a.version, version2: 'app_a_v2' };
      }

      test('filters by application, version, endpoint IDs and connected', () =>
        withStorage(async (storage) => {
          const { app, version, version2 } = await seedQueryData(storage);
          assert.equal((await storage.queryEndpoints(query())).totalElements, 13);
          assert.equal((await storage.queryEndpoints(query({ applicationName: app }))).totalElements, 12);
          assert.equal((await storage.queryEndpoints(query({ applicationName: 'none' }))).totalElements, 0);
          assert.equal((await storage.queryEndpoints(query({ appVersionName: version }))).totalElements, 8);
          assert.deepEqual(ids(await storage.queryEndpoints(query({ appVersionName: version2, sort: { field: 'endpointId', direction: 'asc' } }))), [
            'dev-08',
            'dev-09',
            'dev-10',
            'dev-11',
          ]);
          assert.deepEqual(
            ids(await storage.queryEndpoints(query({ endpointIds: ['dev-03', 'other-app', 'missing'], sort: { field: 'endpointId', direction: 'asc' } }))),
            ['dev-03', 'other-app'],
          );
          assert.equal((await storage.queryEndpoints(query({ endpointIds: [] }))).totalElements, 0);
          const connected = await storage.queryEndpoints(query({ applicationName: app, connected: true, sort: { field: 'endpointId', direction: 'asc' } }));
          assert.deepEqual(ids(connected), ['dev-01', 'dev-04', 'dev-07']);
          assert.ok(connected.content.every((e) => e.connected));
          assert.equal((await storage.queryEndpoints(query({ applicationName: app, connected: false }))).totalElements, 9);
        }));

      test('metadata filters: eq is JSON equality, contains is case-insensitive, exists checks presence; filters combine', () =>
        withStorage(async (storage) => {
          const { app } = await seedQueryData(storage);
          const count = async (extra: Partial<EndpointQuery>) => (await storage.queryEndpoints(query({ applicationName: app, ...extra }))).totalElements;
          assert.equal(await count({ metadataFilters: [{ key: 'serial', op: 'eq', value: 'SN-1' }] }), 1);
          assert.equal(await count({ metadataFilters: [{ key: 'serial', op: 'eq', value: 'sn-1' }] }), 0);
          assert.equal(await count({ metadataFilters: [{ key: 'temp', op: 'eq', value: 20 }] }), 1);
          assert.equal(await count({ metadataFilters: [{ key: 'temp', op: 'eq', value: '20' }] }), 0);
          // Key order does not matter for object equality.
          assert.equal(await count({ metadataFilters: [{ key: 'tags', op: 'eq', value: { kind: 'sensor', floor: 1 } }] }), 1);
          assert.equal(await count({ metadataFilters: [{ key: 'tags', op: 'exists' }] }), 3);
          assert.equal(await count({ metadataFilters: [{ key: 'room', op: 'contains', value: 'KÜCHE' }] }), 4);
          assert.equal(await count({ metadataFilters: [{ key: 'room', op: 'contains', value: 'room' }] }), 8);
          assert.equal(await count({ metadataFilters: [{ key: 'tags', op: 'contains', value: 'SENSOR' }] }), 3);
          assert.equal(
            await count({
              connected: true,
              metadataFilters: [
                { key: 'room', op: 'contains', value: 'room 1' },
                { key: 'serial', op: 'exists' },
              ],
            }),
            3,
          );
          // Without an application the filters still work.
          assert.equal((await storage.queryEndpoints(query({ metadataFilters: [{ key: 'serial', op: 'eq', value: 'SN-1' }] }))).totalElements, 2);
          // null is a value: eq null matches only a stored null.
          await storage.changeMetadata('dev-00', { kind: 'merge', metadata: { maybe: null } }, at(1));
          assert.equal(await count({ metadataFilters: [{ key: 'maybe', op: 'eq', value: null }] }), 1);
          assert.equal(await count({ metadataFilters: [{ key: 'maybe', op: 'exists' }] }), 1);
        }));

      test('search matches the endpoint ID and metadata values case-insensitively, optionally only in searchKeys', () =>
        withStorage(async (storage) => {
          const { app } = await seedQueryData(storage);
          const search = async (term: string, searchKeys?: string[]) =>
            ids(await storage.queryEndpoints(query({ applicationName: app, search: term, searchKeys, sort: { field: 'endpointId', direction: 'asc' } })));
          assert.deepEqual(await search('DEV-1'), ['dev-10', 'dev-11']);
          assert.deepEqual(await search('greenhouse öST'), ['dev-05']);
          assert.deepEqual(await search('sn-11'), ['dev-11']);
          assert.deepEqual(await search('greenhouse', ['serial']), []);
          assert.deepEqual(await search('greenhouse', ['label', 'serial']), ['dev-05']);
          assert.deepEqual(await search('dev-02', ['label']), ['dev-02']);
          // Search terms are data, never SQL or LIKE patterns.
          assert.deepEqual(await search("%' OR 1=1 --"), []);
          assert.deepEqual(await search('_'), []);
          assert.equal((await storage.queryEndpoints(query({ applicationName: app, search: '' }))).totalElements, 12);
          // Keys can contain quotes without breaking anything either.
          assert.equal(
            (await storage.queryEndpoints(query({ metadataFilters: [{ key: "x'); DROP TABLE endpoints; --", op: 'exists' }] }))).totalElements,
            0,
          );
          assert.equal((await storage.queryEndpoints(query())).totalElements, 13);
        }));

      test('search and contains take every needle literally: quotes, FTS operators, LIKE wildcards, short needles', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          const texts: Record<string, string> = {
            q1: 'say "hi" there',
            q2: 'star*glob and ^caret',
            q3: 'x OR y AND z NOT w NEAR(v)',
            q4: '100% of_it',
            q5: "it's o'clock",
            q6: 'col:umn (paren) {brace} -minus +plus',
            q7: 'plain text',
          };
          for (const [id, text] of Object.entries(texts)) await storage.insertEndpoint(endpoint(id, version, app), { note: text, other: 'zzz' });
          const search = async (needle: string, extra: Partial<EndpointQuery> = {}) =>
            ids(await storage.queryEndpoints(query({ applicationName: app, search: needle, sort: { field: 'endpointId', direction: 'asc' }, ...extra }))).sort();
          const contains = async (needle: string, key = 'note') =>
            ids(await storage.queryEndpoints(query({ applicationName: app, metadataFilters: [{ key, op: 'contains', value: needle }] }))).sort();
          const expected = (needle: string) =>
            Object.entries(texts)
              .filter(([id, text]) => text.toLowerCase().includes(needle.toLowerCase()) || id.includes(needle.toLowerCase()))
              .map(([id]) => id)
              .sort();
          const needles = ['"', '""', '"hi"', 'y "hi', '*', 'r*g', '^ca', 'OR', ' or y', 'AND', 'NOT w', 'NEAR(', '%', '0% ', '_', 'f_i', "'", "'s o'", "o'c", ':', 'col:u', '(paren)', '{', '-minus +', 'q1', 'Q3', 'xx', 'x', ' ', '  ', 'PLAIN TEXT', '\\'];
          for (const needle of needles) {
            assert.deepEqual(await search(needle), expected(needle), `search ${JSON.stringify(needle)}`);
            assert.deepEqual(await search(needle, { searchKeys: ['note'] }), expected(needle), `search in note ${JSON.stringify(needle)}`);
            const inNote = Object.entries(texts)
              .filter(([, text]) => text.toLowerCase().includes(needle.toLowerCase()))
              .map(([id]) => id)
              .sort();
            assert.deepEqual(await contains(needle), inNote, `contains ${JSON.stringify(needle)}`);
          }
          // The needle is searched in the named keys only (and the endpoint ID).
          assert.deepEqual(await search('plain', { searchKeys: ['other'] }), []);
          assert.deepEqual(await search('q7', { searchKeys: ['other'] }), ['q7']);
          assert.deepEqual(await search('zzz', { searchKeys: ['other'] }), Object.keys(texts).sort());
          assert.deepEqual(await search('zzz', { searchKeys: ['missing'] }), []);
          assert.deepEqual(await contains('plain', 'other'), []);
          assert.deepEqual(await contains('plain', 'missing'), []);
          // A match never spans two values or a value and the ID.
          assert.deepEqual(await search('zzzsay'), []);
          assert.deepEqual(await search('q1say'), []);
          // A NUL character is data too.
          assert.deepEqual(await search('a\u0000b'), []);
        }));

      test('search and contains follow metadata changes, deletions and non-string values', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e1', version, app), { name: 'Alpha Kitchen', n: 12345, flag: true, obj: { City: 'Zürich' } });
          await storage.insertEndpoint(endpoint('e2', version, app), { name: 'Beta Garage' });
          const search = async (needle: string, searchKeys?: string[]) =>
            ids(await storage.queryEndpoints(query({ applicationName: app, search: needle, searchKeys, sort: { field: 'endpointId', direction: 'asc' } })));
          const contains = async (key: string, value: JsonValue) =>
            ids(await storage.queryEndpoints(query({ applicationName: app, metadataFilters: [{ key, op: 'contains', value }], sort: { field: 'endpointId', direction: 'asc' } })));
          assert.deepEqual(await search('KITCHEN'), ['e1']);
          assert.deepEqual(await search('234'), ['e1']);
          assert.deepEqual(await contains('n', 234), ['e1']);
          assert.deepEqual(await contains('flag', 'TRUE'), ['e1']);
          // Objects are rendered as JSON text; case folding is Unicode-aware.
          assert.deepEqual(await contains('obj', '"city":"zÜRICH"'), ['e1']);
          assert.deepEqual(await search('ZÜRICH', ['obj']), ['e1']);
          await storage.changeMetadata('e1', { kind: 'merge', metadata: { name: 'Alpha Office' } }, at(1));
          assert.deepEqual(await search('kitchen'), []);
          assert.deepEqual(await search('office', ['name']), ['e1']);
          await storage.changeMetadata('e2', { kind: 'replace', metadata: { room: 'Kitchen' } }, at(2));
          assert.deepEqual(await search('garage'), []);
          assert.deepEqual(await contains('room', 'itche'), ['e2']);
          assert.deepEqual(await contains('name', 'itche'), []);
          await storage.changeMetadata('e2', { kind: 'delete', keys: ['room'] }, at(3));
          assert.deepEqual(await search('kitchen'), []);
          // Several changes of one key in one batch: the last one wins.
          await Promise.all([
            storage.changeMetadata('e2', { kind: 'merge', metadata: { room: 'Cellar' } }, at(4)),
            storage.changeMetadata('e2', { kind: 'merge', metadata: { room: 'Attic' } }, at(4)),
            storage.changeMetadata('e2', { kind: 'delete', keys: ['room'] }, at(4)),
            storage.changeMetadata('e2', { kind: 'merge', metadata: { room: 'Basement' } }, at(4)),
          ]);
          assert.deepEqual(await search('cellar'), []);
          assert.deepEqual(await search('attic'), []);
          assert.deepEqual(await search('basement'), ['e2']);
          // Deleting an endpoint (or its application) removes it from the index; a new one may reuse its internal key.
          assert.equal(await storage.deleteEndpoint('e2'), true);
          assert.deepEqual(await search('basement'), []);
          await storage.insertEndpoint(endpoint('e3', version, app), { room: 'Hall' });
          assert.deepEqual(await search('basement'), []);
          assert.deepEqual(await search('hall'), ['e3']);
          // The endpoint ID is always searched, by the short-needle scan and by the index alike.
          assert.deepEqual(await search('e3'), ['e3']);
          assert.deepEqual(await search('e3', []), ['e3']);
          await storage.insertEndpoint(endpoint('e3-x', version, app), {});
          assert.deepEqual(await search('E3-', []), ['e3-x']);
          assert.equal(await storage.deleteApplication(app), true);
          await seedApplication(storage);
          await storage.insertEndpoint(endpoint('e9', version, app), {});
          assert.deepEqual(await search('hall'), []);
          assert.deepEqual(await search('office'), []);
        }));

      test('search and contains combine with filters, sorting and pagination; totalElements counts all matches', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          const other = await seedApplication(storage, 'other_app');
          const rooms = ['Kitchen', 'Living room', 'Garage'];
          const all: Array<{ id: string; name: string; room: string; temp: number; connected: boolean }> = [];
          for (let i = 0; i < 30; i++) {
            const row = { id: `ep-${String(i).padStart(2, '0')}`, name: `Sensor ${i}`, room: rooms[i % 3]!, temp: (i * 7) % 11, connected: i % 2 === 0 };
            all.push(row);
            await storage.insertEndpoint(endpoint(row.id, version, app, { connected: row.connected }), { name: row.name, room: row.room, temp: row.temp });
          }
          await storage.insertEndpoint(endpoint('foreign', other.version, other.app), { name: 'Sensor 1', room: 'Kitchen' });
          const cases: Array<{ extra: Partial<EndpointQuery>; match: (r: (typeof all)[number]) => boolean }> = [
            { extra: { search: 'SENSOR 1' }, match: (r) => r.name.toLowerCase().includes('sensor 1') },
            { extra: { search: 'kitchen', connected: true }, match: (r) => r.room === 'Kitchen' && r.connected },
            { extra: { search: 'ep-1', searchKeys: ['room'] }, match: (r) => r.id.startsWith('ep-1') },
            { extra: { search: 'sensor 2', searchKeys: ['name'] }, match: (r) => r.name.startsWith('Sensor 2') },
            { extra: { metadataFilters: [{ key: 'room', op: 'contains', value: 'ROOM' }] }, match: (r) => r.room === 'Living room' },
            {
              extra: { search: 'sensor', metadataFilters: [{ key: 'room', op: 'contains', value: 'arag' }, { key: 'temp', op: 'exists' }] },
              match: (r) => r.room === 'Garage',
            },
          ];
          const sorts = [
            { field: 'metadata.temp', direction: 'asc' },
            { field: 'metadata.name', direction: 'desc' },
            { field: 'endpointId', direction: 'desc' },
          ] as const;
          for (const { extra, match } of cases) {
            const expectedIds = all.filter(match).map((r) => r.id);
            for (const sort of sorts) {
              const full = ids(await storage.queryEndpoints(query({ applicationName: app, sort, ...extra })));
              assert.deepEqual([...full].sort(), expectedIds, `${JSON.stringify(extra)} ${sort.field}`);
              for (const limit of [1, 4]) {
                const pages: string[] = [];
                for (let offset = 0; offset < expectedIds.length + limit; offset += limit) {
                  const page = await storage.queryEndpoints(query({ applicationName: app, sort, offset, limit, ...extra }));
                  assert.equal(page.totalElements, expectedIds.length);
                  pages.push(...ids(page));
                }
                assert.deepEqual(pages, full, `${JSON.stringify(extra)} ${sort.field} limit ${limit}`);
              }
            }
          }
          // Without an application filter other applications' endpoints match too.
          assert.equal((await storage.queryEndpoints(query({ search: 'sensor 1' }))).totalElements, 12);
        }));

      test('unfiltered counts follow inserts, deletes and connectivity changes', () =>
        withStorage(async (storage) => {
          const a = await seedApplication(storage, 'app_a');
          const b = await seedApplication(storage, 'app_b');
          for (let i = 0; i < 5; i++) await storage.insertEndpoint(endpoint(`a${i}`, a.version, a.app, { connected: i < 2 }), {});
          await storage.insertEndpoint(endpoint('b0', b.version, b.app), {});
          const count = async (extra: Partial<EndpointQuery>) => (await storage.queryEndpoints(query(extra))).totalElements;
          assert.deepEqual([await count({}), await count({ applicationName: a.app }), await count({ applicationName: a.app, connected: true }), await count({ connected: false })], [6, 5, 2, 4]);
          await storage.recordConnectivity('a4', true, at(1));
          await storage.recordConnectivity('a4', true, at(2));
          await storage.recordConnectivity('a0', false, at(3));
          await storage.deleteEndpoint('a1');
          assert.deepEqual([await count({ applicationName: a.app }), await count({ applicationName: a.app, connected: true }), await count({ connected: false })], [4, 1, 4]);
          assert.equal(await storage.resetConnectivity(at(4)), 1);
          assert.deepEqual([await count({ connected: true }), await count({ applicationName: a.app, connected: false })], [0, 4]);
          await storage.deleteApplication(a.app);
          assert.deepEqual([await count({}), await count({ applicationName: a.app }), await count({ connected: false })], [1, 0, 1]);
        }));

      test('sorts by endpoint fields in both directions', () =>
        withStorage(async (storage) => {
          const { app } = await seedQueryData(storage);
          const sorted = async (field: EndpointQuery['sort'] & object) => ids(await storage.queryEndpoints(query({ applicationName: app, sort: field })));
          const all = Array.from({ length: 12 }, (_, i) => `dev-${String(i).padStart(2, '0')}`);
          assert.deepEqual(await sorted({ field: 'endpointId', direction: 'asc' }), all);
          assert.deepEqual(await sorted({ field: 'endpointId', direction: 'desc' }), [...all].reverse());
          assert.deepEqual(await sorted({ field: 'createdDate', direction: 'asc' }), [...all].reverse());
          assert.deepEqual(await sorted({ field: 'createdDate', direction: 'desc' }), all);
          const byConnected = await sorted({ field: 'connected', direction: 'desc' });
          assert.deepEqual(byConnected.slice(0, 3).sort(), ['dev-01', 'dev-04', 'dev-07']);
          const byConnectivity = await sorted({ field: 'connectivityTs', direction: 'desc' });
          assert.deepEqual(byConnectivity.slice(0, 3), ['dev-07', 'dev-04', 'dev-01']);
          // Endpoints never seen come last in both directions.
          const byLastSeenAsc = await sorted({ field: 'lastSeen', direction: 'asc' });
          assert.deepEqual(byLastSeenAsc, ['dev-03', 'dev-05', 'dev-09', 'dev-11', 'dev-01', 'dev-04', 'dev-07', 'dev-00', 'dev-02', 'dev-06', 'dev-08', 'dev-10']);
          const byLastSeen = await sorted({ field: 'lastSeen', direction: 'desc' });
          // Connecting sets lastSeen too (dev-01/04/07 at 51/54/57 s).
          assert.deepEqual(byLastSeen.slice(0, 5), ['dev-07', 'dev-04', 'dev-01', 'dev-11', 'dev-09']);
          await storage.changeMetadata('dev-03', { kind: 'merge', metadata: { x: 1 } }, at(500));
          assert.equal((await sorted({ field: 'metadataUpdatedDate', direction: 'desc' }))[0], 'dev-03');
        }));

      test('sorts by a metadata key: numbers numerically, endpoints without the key included', () =>
        withStorage(async (storage) => {
          const { app } = await seedQueryData(storage);
          const page = await storage.queryEndpoints(query({ applicationName: app, includeMetadata: true, sort: { field: 'metadata.temp', direction: 'asc' } }));
          const temps = page.content.map((e) => e.metadata?.['temp'] as number);
          assert.deepEqual(temps, [...temps].sort((x, y) => x - y));
          assert.equal(temps.length, 12);
          const desc = await storage.queryEndpoints(query({ applicationName: app, includeMetadata: true, sort: { field: 'metadata.temp', direction: 'desc' } }));
          assert.deepEqual(desc.content.map((e) => e.metadata?.['temp']), [...temps].reverse());
          // Numbers of different magnitude sort as numbers, not as text.
          await storage.changeMetadata('dev-00', { kind: 'merge', metadata: { temp: 100 } }, at(1));
          await storage.changeMetadata('dev-01', { kind: 'merge', metadata: { temp: 9 } }, at(1));
          const again = await storage.queryEndpoints(query({ applicationName: app, sort: { field: 'metadata.temp', direction: 'asc' } }));
          assert.equal(ids(again)[0], 'dev-01');
          assert.equal(ids(again)[11], 'dev-00');
          const byLabel = await storage.queryEndpoints(query({ applicationName: app, sort: { field: 'metadata.label', direction: 'desc' } }));
          assert.equal(byLabel.totalElements, 12);
          assert.equal(ids(byLabel)[0], 'dev-05');
          // Endpoints without the key come last in both directions.
          const byLabelAsc = await storage.queryEndpoints(query({ applicationName: app, sort: { field: 'metadata.label', direction: 'asc' } }));
          assert.equal(ids(byLabelAsc)[0], 'dev-05');
        }));

      test('pagination: pages partition the result, totalElements counts every match', () =>
        withStorage(async (storage) => {
          const { app } = await seedQueryData(storage);
          for (const sort of [
            undefined,
            { field: 'endpointId', direction: 'desc' },
            { field: 'connected', direction: 'asc' },
            { field: 'metadata.room', direction: 'asc' },
          ] as const) {
            const seen: string[] = [];
            for (let offset = 0; offset < 12; offset += 5) {
              const page = await storage.queryEndpoints(query({ applicationName: app, offset, limit: 5, sort }));
              assert.equal(page.totalElements, 12);
              assert.equal(page.content.length, Math.min(5, 12 - offset));
              seen.push(...ids(page));
            }
            assert.equal(new Set(seen).size, 12, `sort ${JSON.stringify(sort)}`);
          }
          const beyond = await storage.queryEndpoints(query({ applicationName: app, offset: 50, limit: 5 }));
          assert.deepEqual(beyond, { totalElements: 12, content: [] });
          const none = await storage.queryEndpoints(query({ applicationName: app, limit: 0 }));
          assert.deepEqual(none, { totalElements: 12, content: [] });
          const filtered = await storage.queryEndpoints(query({ applicationName: app, connected: true, limit: 2 }));
          assert.equal(filtered.totalElements, 3);
          assert.equal(filtered.content.length, 2);
        }));

      test('pagination by a metadata key that only some endpoints have, in both directions and at every page size', () =>
        withStorage(async (storage) => {
          const { app, version } = await seedApplication(storage);
          // 7 with a number, 2 with null, 5 without the key; ties on purpose.
          const values: Array<JsonValue | undefined> = [3, undefined, 1, null, 3, undefined, 2, undefined, 10, null, undefined, 1, undefined, 0];
          for (const [i, value] of values.entries()) {
            await storage.insertEndpoint(endpoint(`e${String(i).padStart(2, '0')}`, version, app), value === undefined ? { other: i } : { v: value });
          }
          const full = async (direction: 'asc' | 'desc', applicationName: string | undefined) =>
            ids(await storage.queryEndpoints(query({ applicationName, sort: { field: 'metadata.v', direction }, limit: 100 })));
          const valueOf = (id: string) => values[Number(id.slice(1))] ?? null;
          const byValue = (direction: 'asc' | 'desc') => {
            const keyed = values.flatMap((v, i) => (typeof v === 'number' ? [i] : []));
            const unkeyed = values.flatMap((v, i) => (typeof v === 'number' ? [] : [i]));
            const sign = direction === 'asc' ? 1 : -1;
            keyed.sort((x, y) => sign * ((values[x] as number) - (values[y] as number) || x - y));
            unkeyed.sort((x, y) => sign * (x - y));
            return [...keyed, ...unkeyed].map((i) => `e${String(i).padStart(2, '0')}`);
          };
          // Numbers in order, then endpoints with null or no value, in both directions.
          const asc = await full('asc', app);
          assert.deepEqual(asc, byValue('asc'));
          assert.deepEqual(asc.slice(-7).map(valueOf), [null, null, null, null, null, null, null]);
          const desc = await full('desc', app);
          assert.deepEqual(desc, byValue('desc'));
          // Without an application filter the same order comes out.
          assert.deepEqual(await full('asc', undefined), asc);
          assert.deepEqual(await full('desc', undefined), desc);
          for (const direction of ['asc', 'desc'] as const) {
            const expected = direction === 'asc' ? asc : desc;
            for (const limit of [1, 2, 3, 5, 13]) {
              const pages: string[] = [];
              for (let offset = 0; offset < values.length + limit; offset += limit) {
                const page = await storage.queryEndpoints(query({ applicationName: app, offset, limit, sort: { field: 'metadata.v', direction } }));
                assert.equal(page.totalElements, values.length);
                pages.push(...ids(page));
              }
              assert.deepEqual(pages, expected, `${direction} limit ${limit}`);
            }
          }
          // Combined with a filter the runs are counted over matching endpoints only.
          await storage.recordConnectivity('e01', true, at(1));
          await storage.recordConnectivity('e08', true, at(1));
          await storage.recordConnectivity('e13', true, at(1));
          const connected = async (offset: number, direction: 'asc' | 'desc') =>
            ids(await storage.queryEndpoints(query({ applicationName: app, connected: true, offset, limit: 1, sort: { field: 'metadata.v', direction } })));
          assert.deepEqual([...(await connected(0, 'asc')), ...(await connected(1, 'asc')), ...(await connected(2, 'asc'))], ['e13', 'e08', 'e01']);
          assert.deepEqual([...(await connected(0, 'desc')), ...(await connected(1, 'desc')), ...(await connected(2, 'desc'))], ['e08', 'e13', 'e01']);
        }));

      test('includeMetadata controls whether records carry their metadata', () =>
        withStorage(async (storage) => {
          const { app } = await seedQueryData(storage);
          const withMeta = await storage.queryEndpoints(query({ endpointIds: ['dev-05'], includeMetadata: true }));
          assert.deepEqual(withMeta.content[0]?.metadata, { serial: 'SN-5', temp: 20 + 35 % 12, room: 'room 2', label: 'Greenhouse Öst' });
          const without = await storage.queryEndpoints(query({ applicationName: app, includeMetadata: false }));
          assert.ok(without.content.every((e) => !Object.hasOwn(e, 'metadata')));
        }));
    });
  });
}
