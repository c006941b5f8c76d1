/** The behaviour every SoftwareStorage must have; software-conformance.test.ts runs it on every backend. */
import assert from 'node:assert/strict';
import { describe, test } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import { HISTORY_PER_ENDPOINT } from '../../src/storage/software-rows.js';
import type { SoftwareOffer, SoftwareReport, SoftwareStorage, StoredSoftware } from '../../src/storage/software.js';

export interface OpenedSoftwareStorage {
  store: SoftwareStorage;
  cleanup: () => Promise<void>;
  /** Opens the same data again (durability). */
  reopen: () => Promise<SoftwareStorage>;
}

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';
const T2 = '2026-01-03T00:00:00.000Z';
const T3 = '2026-01-04T00:00:00.000Z';

const software = (over: Partial<StoredSoftware> = {}): StoredSoftware => ({
  applicationName: 'app', version: '1.0.0', upgradableFrom: ['*'], specification: { url: 'x', retries: [1, 2] }, metadata: { notes: 'first' },
  rolloutStrategy: 'suspended', filters: [], createdDate: T0, updatedDate: T0, ...over,
});

const report = (over: Partial<SoftwareReport> = {}): SoftwareReport => ({
  endpointId: 'e1', applicationName: 'app', version: '1.0.0', statusCode: 200, reasonPhrase: null, at: T0, ...over,
});

const offer = (over: Partial<SoftwareOffer> = {}): SoftwareOffer => ({
  endpointId: 'e1', applicationName: 'app', version: '1.1.0', rolloutId: 'r1', offeredAt: T0, ...over,
});

const unavailable = (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE';

export function softwareStorageConformance(name: string, open: () => Promise<OpenedSoftwareStorage>): void {
  async function withStore(fn: (store: SoftwareStorage, opened: OpenedSoftwareStorage) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.store, opened);
    } finally {
      await opened.cleanup();
    }
  }

  describe(`SoftwareStorage conformance: ${name}`, () => {
    test('versions: insert, get, list per application, duplicate refused, update keeps the creation date, delete', () =>
      withStore(async (store) => {
        assert.equal(await store.getSoftware('app', '1.0.0'), undefined);
        assert.equal(await store.insertSoftware(software()), 'ok');
        assert.equal(await store.insertSoftware(software({ specification: { other: true } })), 'exists');
        assert.deepEqual(await store.getSoftware('app', '1.0.0'), software());
        const filtered = software({
          version: '1.1.0', rolloutStrategy: 'targeted', upgradableFrom: ['1.0.x', ''],
          filters: [{ filterId: 'berlin', rolloutDate: T1, query: { filter: ['city=Berlin'], 'metadata.model': ['A300'] } }],
        });
        await store.insertSoftware(filtered);
        await store.insertSoftware(software({ applicationName: 'other' }));
        const listed = (await store.listSoftware('app')).sort((a, b) => a.version.localeCompare(b.version));
        assert.deepEqual(listed, [software(), filtered]);
        assert.deepEqual(await store.listSoftware('nothing'), []);

        assert.equal(await store.updateSoftware(software({ rolloutStrategy: 'general', metadata: null, createdDate: T2, updatedDate: T2 })), true);
        assert.deepEqual(await store.getSoftware('app', '1.0.0'), software({ rolloutStrategy: 'general', metadata: null, createdDate: T0, updatedDate: T2 }));
        assert.equal(await store.updateSoftware(software({ version: '9.9.9' })), false);

        assert.equal(await store.deleteSoftware('app', '1.0.0'), true);
        assert.equal(await store.deleteSoftware('app', '1.0.0'), false);
        assert.equal(await store.getSoftware('app', '1.0.0'), undefined);
        assert.ok(await store.getSoftware('other', '1.0.0'));
      }));

    test('reports: a success of another version sets it and clears the failure, of the same version keeps the failure; a failure keeps the version; all join the history newest first', () =>
      withStore(async (store) => {
        assert.equal(await store.getEndpointSoftware('e1'), undefined);
        // A failure before any success: no version yet.
        await store.recordReports([report({ version: '1.0.0', statusCode: 500, reasonPhrase: 'flash failed', at: T0 })]);
        assert.deepEqual(await store.getEndpointSoftware('e1'), {
          endpointId: 'e1', applicationName: 'app', version: null, reportedAt: null, lastFailure: { version: '1.0.0', statusCode: 500, reasonPhrase: 'flash failed', at: T0 },
        });
        await store.recordReports([report({ version: '1.0.0', at: T1 })]);
        assert.deepEqual(await store.getEndpointSoftware('e1'), { endpointId: 'e1', applicationName: 'app', version: '1.0.0', reportedAt: T1, lastFailure: null });
        await store.recordReports([report({ version: '1.1.0', statusCode: 409, reasonPhrase: 'battery low', at: T2 })]);
        assert.deepEqual(await store.getEndpointSoftware('e1'), {
          endpointId: 'e1', applicationName: 'app', version: '1.0.0', reportedAt: T1, lastFailure: { version: '1.1.0', statusCode: 409, reasonPhrase: 'battery low', at: T2 },
        });

        // Still on 1.0.0 (a device restarting after a failed update says so): the failure is kept.
        await store.recordReports([report({ version: '1.0.0', at: T3 })]);
        assert.deepEqual(await store.getEndpointSoftware('e1'), {
          endpointId: 'e1', applicationName: 'app', version: '1.0.0', reportedAt: T3, lastFailure: { version: '1.1.0', statusCode: 409, reasonPhrase: 'battery low', at: T2 },
        });
        await store.recordReports([report({ version: '1.1.0', at: T3 })]);
        assert.deepEqual(await store.getEndpointSoftware('e1'), { endpointId: 'e1', applicationName: 'app', version: '1.1.0', reportedAt: T3, lastFailure: null });

        const page = await store.history('e1', 2, 10);
        assert.equal(page.totalElements, 5);
        assert.deepEqual(page.content, [
          { version: '1.1.0', statusCode: 409, reasonPhrase: 'battery low', at: T2 },
          { version: '1.0.0', statusCode: 200, reasonPhrase: null, at: T1 },
          { version: '1.0.0', statusCode: 500, reasonPhrase: 'flash failed', at: T0 },
        ]);
        assert.deepEqual((await store.history('e1', 3, 1)).content, [{ version: '1.0.0', statusCode: 200, reasonPhrase: null, at: T1 }]);
        assert.deepEqual(await store.history('nobody', 0, 10), { totalElements: 0, content: [] });
      }));

    test('reports in one call apply in order, per endpoint, and land in one commit', () =>
      withStore(async (store) => {
        await store.recordReports([
          report({ endpointId: 'a', version: '1.0.0', at: T0 }),
          report({ endpointId: 'a', version: '1.1.0', statusCode: 500, reasonPhrase: 'no', at: T1 }),
          report({ endpointId: 'b', version: '1.1.0', statusCode: 500, at: T0 }),
          report({ endpointId: 'b', version: '1.1.0', at: T1 }),
          report({ endpointId: 'c', version: '2.0.0', statusCode: 1e12, at: T0 }),
          report({ endpointId: 'f', version: '1.0.0', at: T0 }),
          report({ endpointId: 'f', version: '2.0.0', statusCode: 500, at: T1 }),
          report({ endpointId: 'f', version: '1.0.0', at: T2 }),
        ]);
        assert.deepEqual(await store.getEndpointSoftware('f'), {
          endpointId: 'f', applicationName: 'app', version: '1.0.0', reportedAt: T2, lastFailure: { version: '2.0.0', statusCode: 500, reasonPhrase: null, at: T1 },
        });
        assert.deepEqual(await store.getEndpointSoftware('a'), {
          endpointId: 'a', applicationName: 'app', version: '1.0.0', reportedAt: T0, lastFailure: { version: '1.1.0', statusCode: 500, reasonPhrase: 'no', at: T1 },
        });
        assert.deepEqual(await store.getEndpointSoftware('b'), { endpointId: 'b', applicationName: 'app', version: '1.1.0', reportedAt: T1, lastFailure: null });
        assert.equal((await store.getEndpointSoftware('c'))?.lastFailure?.statusCode, 1e12);
        assert.deepEqual((await store.history('b', 0, 10)).content.map((h) => h.statusCode), [200, 500]);
        // Reports made in the same tick by many callers all commit.
        await Promise.all(Array.from({ length: 500 }, (_, i) => store.recordReports([report({ endpointId: `d${i}`, version: '3.0.0', at: T2 })])));
        const versions = await store.endpointVersions(Array.from({ length: 500 }, (_, i) => `d${i}`));
        assert.equal([...versions.values()].filter((v) => v === '3.0.0').length, 500);
      }));

    test('endpointVersions: one entry per endpoint asked, null for those that never reported a success', () =>
      withStore(async (store) => {
        await store.recordReports([report({ endpointId: 'a', version: '1.0.0' }), report({ endpointId: 'b', version: '2.0.0', statusCode: 500 })]);
        assert.deepEqual(
          await store.endpointVersions(['a', 'b', 'c']),
          new Map([['a', '1.0.0'], ['b', null], ['c', null]]),
        );
        assert.deepEqual(await store.endpointVersions([]), new Map());
      }));

    test(`history keeps the newest ${HISTORY_PER_ENDPOINT} reports of an endpoint`, () =>
      withStore(async (store) => {
        const many = Array.from({ length: HISTORY_PER_ENDPOINT + 5 }, (_, i) => report({ version: `1.0.${i}`, at: new Date(Date.parse(T0) + i * 1000).toISOString() }));
        await store.recordReports(many.slice(0, 50));
        await store.recordReports(many.slice(50));
        await store.recordReports([report({ endpointId: 'other' })]);
        const page = await store.history('e1', 0, 1000);
        assert.equal(page.totalElements, HISTORY_PER_ENDPOINT);
        assert.equal(page.content[0]!.version, `1.0.${HISTORY_PER_ENDPOINT + 4}`);
        assert.equal(page.content.at(-1)!.version, '1.0.5');
        assert.equal((await store.history('other', 0, 10)).totalElements, 1);
      }));

    test('offers: one open offer per endpoint (the newest replaces it), ended by a report of its version, applied or failed', () =>
      withStore(async (store) => {
        assert.equal(await store.getOffer('e1'), undefined);
        await store.putOffers([offer(), offer({ endpointId: 'e2' }), offer({ endpointId: 'e3', rolloutId: null })]);
        assert.deepEqual(await store.getOffer('e1'), offer());
        assert.deepEqual(await store.getOffer('e3'), offer({ endpointId: 'e3', rolloutId: null }));
        await store.putOffers([offer({ version: '1.2.0', rolloutId: 'r2', offeredAt: T1 })]);
        assert.deepEqual(await store.getOffer('e1'), offer({ version: '1.2.0', rolloutId: 'r2', offeredAt: T1 }));
        // The last offer to an endpoint in one batch wins.
        await store.putOffers([offer({ endpointId: 'e4', version: '1.0.0' }), offer({ endpointId: 'e4', version: '1.3.0' })]);
        assert.equal((await store.getOffer('e4'))?.version, '1.3.0');

        // A report of another version leaves the offer open; of its version (either way) ends it.
        await store.recordReports([report({ endpointId: 'e1', version: '1.0.0' })]);
        assert.ok(await store.getOffer('e1'));
        await store.recordReports([report({ endpointId: 'e1', version: '1.2.0', at: T2 })]);
        assert.equal(await store.getOffer('e1'), undefined);
        await store.recordReports([report({ endpointId: 'e2', version: '1.1.0', statusCode: 500, at: T2 })]);
        assert.equal(await store.getOffer('e2'), undefined);
      }));

    test('withdraw ends a rollout\'s open offers, all or of some endpoints, and no other rollout\'s', () =>
      withStore(async (store) => {
        await store.putOffers(['a', 'b', 'c', 'd'].map((endpointId) => offer({ endpointId })));
        await store.putOffers([offer({ endpointId: 'x', rolloutId: 'r2' }), offer({ endpointId: 'y', rolloutId: null })]);
        assert.equal(await store.withdrawOffers('r1', ['a', 'x']), 1);
        assert.equal(await store.getOffer('a'), undefined);
        assert.ok(await store.getOffer('x'));
        assert.equal(await store.withdrawOffers('r1', []), 0);
        assert.equal(await store.withdrawOffers('r1'), 3);
        assert.equal(await store.withdrawOffers('r1'), 0);
        assert.ok(await store.getOffer('x'));
        assert.ok(await store.getOffer('y'));
      }));

    test('deleting a version ends its open offers', () =>
      withStore(async (store) => {
        await store.insertSoftware(software({ version: '1.1.0' }));
        await store.putOffers([offer({ endpointId: 'a' }), offer({ endpointId: 'b', version: '1.2.0' })]);
        assert.equal(await store.deleteSoftware('app', '1.1.0'), true);
        assert.equal(await store.getOffer('a'), undefined);
        assert.ok(await store.getOffer('b'));
      }));

    test('deleteEndpoint and deleteApplication remove state, history, offers (and versions) of only that endpoint or application', () =>
      withStore(async (store) => {
        await store.insertSoftware(software());
        await store.insertSoftware(software({ applicationName: 'other' }));
        await store.recordReports([report({ endpointId: 'a' }), report({ endpointId: 'b' }), report({ endpointId: 'z', applicationName: 'other' })]);
        await store.putOffers([offer({ endpointId: 'a' }), offer({ endpointId: 'b' }), offer({ endpointId: 'z', applicationName: 'other' })]);

        await store.deleteEndpoint('a');
        assert.equal(await store.getEndpointSoftware('a'), undefined);
        assert.equal((await store.history('a', 0, 10)).totalElements, 0);
        assert.equal(await store.getOffer('a'), undefined);
        assert.ok(await store.getEndpointSoftware('b'));

        await store.deleteApplication('app');
        assert.deepEqual(await store.listSoftware('app'), []);
        assert.equal(await store.getEndpointSoftware('b'), undefined);
        assert.equal((await store.history('b', 0, 10)).totalElements, 0);
        assert.equal(await store.getOffer('b'), undefined);
        assert.equal((await store.listSoftware('other')).length, 1);
        assert.ok(await store.getEndpointSoftware('z'));
        assert.ok(await store.getOffer('z'));
      }));

    test('a 10,000-endpoint offer and its 10,000 reports, one call each and one per endpoint', () =>
      withStore(async (store) => {
        const ids = Array.from({ length: 10_000 }, (_, i) => `ep-${i}`);
        await store.putOffers(ids.map((endpointId) => offer({ endpointId })));
        assert.equal((await store.getOffer('ep-9999'))?.version, '1.1.0');
        await Promise.all(ids.map((endpointId) => store.recordReports([report({ endpointId, version: '1.1.0', at: T3 })])));
        const versions = await store.endpointVersions(ids);
        assert.equal([...versions.values()].filter((v) => v === '1.1.0').length, 10_000);
        assert.equal(await store.getOffer('ep-0'), undefined);
        assert.equal(await store.withdrawOffers('r1'), 0);
      }));

    test('survives a reopen; calls after close reject with UNAVAILABLE', () =>
      withStore(async (store, opened) => {
        await store.insertSoftware(software());
        await store.recordReports([report()]);
        await store.putOffers([offer()]);
        await store.close();
        await assert.rejects(store.getSoftware('app', '1.0.0'), unavailable);
        await assert.rejects(store.recordReports([report()]), unavailable);
        await assert.rejects(store.putOffers([offer()]), unavailable);
        const again = await opened.reopen();
        try {
          assert.deepEqual(await again.getSoftware('app', '1.0.0'), software());
          assert.equal((await again.getEndpointSoftware('e1'))?.version, '1.0.0');
          assert.deepEqual(await again.getOffer('e1'), offer());
        } finally {
          await again.close();
        }
      }));
  });
}
