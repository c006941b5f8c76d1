/** The behaviour every RolloutStorage must have; rollouts-conformance.test.ts runs it on every backend of backends.ts. */
import assert from 'node:assert/strict';
import { describe, test } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import type { RolloutRecord } from '../../src/core/rollouts.js';
import type { NewRolloutDevice, RolloutStorage } from '../../src/storage/rollouts.js';

export interface OpenedRolloutStorage {
  store: RolloutStorage;
  cleanup: () => Promise<void>;
  /** Opens the same data again (durability). */
  reopen: () => Promise<RolloutStorage>;
}

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:30.000Z';
const T2 = '2026-01-01T00:01:10.000Z';
const T3 = '2026-01-01T00:02:00.000Z';

const rollout = (over: Partial<RolloutRecord> = {}): RolloutRecord => ({
  rolloutId: 'r1',
  applicationName: 'app',
  version: '1.2.0',
  target: { endpointIds: ['e1', 'e2', 'e3'] },
  rate: { perMinute: 60, growth: { factor: 2, everySuccesses: 10 } },
  abort: { failurePercent: 10, minAttempted: 100, reportTimeoutSeconds: 300 },
  state: 'running',
  reason: null,
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

const pending = (...ids: string[]): NewRolloutDevice[] => ids.map((endpointId) => ({ endpointId, state: 'pending', reason: null }));
const unavailable = (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE';

export function rolloutStorageConformance(name: string, open: () => Promise<OpenedRolloutStorage>): void {
  async function withStore(fn: (store: RolloutStorage, opened: OpenedRolloutStorage) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.store, opened);
    } finally {
      await opened.cleanup();
    }
  }

  describe(`RolloutStorage conformance: ${name}`, () => {
    test('a rollout is stored with its settings and devices; counts per state; missing ones are undefined', () =>
      withStore(async (store) => {
        await store.insertRollout(rollout(), [...pending('e1', 'e2'), { endpointId: 'e3', state: 'skipped', reason: 'runs 0.9.0' }]);
        assert.deepEqual(await store.getRollout('r1'), rollout());
        assert.equal(await store.getRollout('nope'), undefined);
        assert.deepEqual(await store.counts('r1'), { pending: 2, offered: 0, applied: 0, failed: 0, timed_out: 0, skipped: 1 });
        assert.deepEqual(await store.counts('nope'), { pending: 0, offered: 0, applied: 0, failed: 0, timed_out: 0, skipped: 0 });
        const devices = await store.queryDevices({ rolloutId: 'r1', offset: 0, limit: 10 });
        assert.equal(devices.totalElements, 3);
        assert.deepEqual(devices.content[2], { endpointId: 'e3', state: 'skipped', reason: 'runs 0.9.0', offeredAt: null, finishedAt: null });
        // No rate, no abort rule: stored as null.
        await store.insertRollout(rollout({ rolloutId: 'r2', rate: null, abort: null, target: { appVersionName: 'v1' } }), []);
        assert.deepEqual(await store.getRollout('r2'), rollout({ rolloutId: 'r2', rate: null, abort: null, target: { appVersionName: 'v1' } }));
      }));

    test('devices are offered in the order given, pending ones only, once', () =>
      withStore(async (store) => {
        await store.insertRollout(rollout(), pending('c', 'a', 'b', 'd'));
        assert.deepEqual(await store.pendingDevices('r1', 2), ['c', 'a']);
        assert.deepEqual(await store.markOffered('r1', ['c', 'a', 'zz'], T1), ['c', 'a']);
        assert.deepEqual(await store.markOffered('r1', ['c'], T2), [], 'offered twice');
        assert.deepEqual(await store.pendingDevices('r1', 10), ['b', 'd']);
        assert.deepEqual(await store.openOffers('r1'), [{ endpointId: 'c', offeredAt: T1 }, { endpointId: 'a', offeredAt: T1 }]);
        assert.deepEqual((await store.counts('r1')).offered, 2);
        // Paging and filtering by state, in the rollout's order.
        const offered = await store.queryDevices({ rolloutId: 'r1', states: ['offered'], offset: 1, limit: 1 });
        assert.equal(offered.totalElements, 2);
        assert.deepEqual(offered.content, [{ endpointId: 'a', state: 'offered', reason: null, offeredAt: T1, finishedAt: null }]);
      }));

    test('outcomes: offered devices take them, pending ones only applied, finished ones are final', () =>
      withStore(async (store) => {
        await store.insertRollout(rollout(), pending('a', 'b', 'c', 'd', 'e'));
        await store.markOffered('r1', ['a', 'b', 'c'], T1);
        const changed = await store.finishDevices('r1', [
          { endpointId: 'a', state: 'applied', reason: null, at: T2 },
          { endpointId: 'b', state: 'failed', reason: 'disk full', at: T2 },
          { endpointId: 'b', state: 'applied', reason: null, at: T2 },
          { endpointId: 'd', state: 'applied', reason: null, at: T2 },
          { endpointId: 'e', state: 'failed', reason: 'x', at: T2 },
          { endpointId: 'nobody', state: 'applied', reason: null, at: T2 },
        ]);
        assert.deepEqual(changed.map((o) => `${o.endpointId}:${o.state}`), ['a:applied', 'b:failed', 'd:applied']);
        assert.deepEqual(await store.finishDevices('r1', [{ endpointId: 'a', state: 'failed', reason: 'late', at: T3 }]), []);
        // Endpoints deleted: a pending or offered device is skipped; a finished one stays finished.
        await store.insertRollout(rollout({ rolloutId: 'r2' }), pending('p', 'o', 'f'));
        await store.markOffered('r2', ['o', 'f'], T1);
        await store.finishDevices('r2', [{ endpointId: 'f', state: 'applied', reason: null, at: T2 }]);
        const gone = ['p', 'o', 'f'].map((endpointId) => ({ endpointId, state: 'skipped' as const, reason: 'endpoint deleted', at: T3 }));
        assert.deepEqual((await store.finishDevices('r2', gone)).map((o) => o.endpointId), ['p', 'o']);
        assert.deepEqual(await store.finishDevices('r2', [{ endpointId: 'p', state: 'applied', reason: null, at: T3 }]), [], 'skipped is final');
        assert.deepEqual(await store.counts('r2'), { pending: 0, offered: 0, applied: 1, failed: 0, timed_out: 0, skipped: 2 });
        assert.deepEqual(await store.counts('r1'), { pending: 1, offered: 1, applied: 2, failed: 1, timed_out: 0, skipped: 0 });
        const b = (await store.queryDevices({ rolloutId: 'r1', states: ['failed'], offset: 0, limit: 10 })).content[0];
        assert.deepEqual(b, { endpointId: 'b', state: 'failed', reason: 'disk full', offeredAt: T1, finishedAt: T2 });
      }));

    test('silent devices offered before the limit time out; the timeline counts them as failed, per minute', () =>
      withStore(async (store) => {
        await store.insertRollout(rollout(), pending('a', 'b', 'c', 'd'));
        await store.markOffered('r1', ['a', 'b'], T0);
        await store.markOffered('r1', ['c'], T2);
        await store.finishDevices('r1', [{ endpointId: 'a', state: 'applied', reason: null, at: T1 }]);
        assert.deepEqual(await store.timeOut('r1', T1, T2, 'no report within 30 s'), ['b']);
        assert.deepEqual(await store.timeOut('r1', T1, T3, 'again'), []);
        assert.deepEqual(await store.counts('r1'), { pending: 1, offered: 1, applied: 1, failed: 0, timed_out: 1, skipped: 0 });
        await store.finishDevices('r1', [{ endpointId: 'c', state: 'failed', reason: 'no', at: T2 }]);
        assert.deepEqual(await store.timeline('r1'), [
          { at: '2026-01-01T00:00:00.000Z', applied: 1, failed: 0 },
          { at: '2026-01-01T00:01:00.000Z', applied: 0, failed: 2 },
        ]);
        assert.deepEqual(await store.timeline('nope'), []);
      }));

    test('state changes only from the given states; list newest first by application and state', () =>
      withStore(async (store) => {
        await store.insertRollout(rollout(), []);
        await store.insertRollout(rollout({ rolloutId: 'r2', createdAt: T1, updatedAt: T1 }), []);
        await store.insertRollout(rollout({ rolloutId: 'r3', applicationName: 'other', createdAt: T2, updatedAt: T2 }), []);
        const paused = await store.setState('r1', ['running'], 'paused', 'paused by an operator', T2);
        assert.deepEqual(paused, rollout({ state: 'paused', reason: 'paused by an operator', updatedAt: T2 }));
        assert.equal(await store.setState('r1', ['running'], 'aborted', 'x', T3), undefined);
        assert.equal(await store.setState('nope', ['running'], 'paused', null, T3), undefined);
        assert.equal((await store.getRollout('r1'))?.state, 'paused');

        const all = await store.listRollouts({ offset: 0, limit: 10 });
        assert.deepEqual(all.content.map((r) => r.rolloutId), ['r3', 'r2', 'r1']);
        const app = await store.listRollouts({ applicationName: 'app', offset: 0, limit: 1 });
        assert.equal(app.totalElements, 2);
        assert.deepEqual(app.content.map((r) => r.rolloutId), ['r2']);
        assert.deepEqual((await store.listRollouts({ applicationName: 'app', states: ['paused', 'aborted'], offset: 0, limit: 10 })).content.map((r) => r.rolloutId), ['r1']);
      }));

    test('drivers: open rollouts are claimed by one node until its lease ends, renewed by it, released', () =>
      withStore(async (store) => {
        await store.insertRollout(rollout(), []);
        await store.insertRollout(rollout({ rolloutId: 'r2', state: 'paused' }), []);
        await store.insertRollout(rollout({ rolloutId: 'r3', state: 'completed' }), []);
        assert.deepEqual((await store.claimRollouts('n1', T0, T1)).sort(), ['r1', 'r2']);
        assert.deepEqual(await store.claimRollouts('n2', T0, T1), [], 'leased to n1');
        assert.deepEqual((await store.claimRollouts('n1', T0, T2)).sort(), ['r1', 'r2'], 'renewed');
        // n1 stops renewing: after its lease, n2 takes over.
        assert.deepEqual((await store.claimRollouts('n2', T3, '2026-01-01T00:03:00.000Z')).sort(), ['r1', 'r2']);
        assert.deepEqual(await store.claimRollouts('n1', T3, T3), []);
        await store.releaseRollout('r1', 'n1');
        assert.deepEqual(await store.claimRollouts('n1', T3, T3), [], 'n1 does not hold it: nothing released');
        await store.releaseRollout('r1', 'n2');
        assert.deepEqual(await store.claimRollouts('n1', T3, T3), ['r1']);
      }));

    test('two nodes claiming at once: each open rollout goes to exactly one', () =>
      withStore(async (store) => {
        for (let i = 0; i < 10; i++) await store.insertRollout(rollout({ rolloutId: `r${i}` }), []);
        const [a, b] = await Promise.all([store.claimRollouts('n1', T0, T1), store.claimRollouts('n2', T0, T1)]);
        assert.equal(a.length + b.length, 10);
        assert.equal(new Set([...a, ...b]).size, 10);
      }));

    test('10,000 devices: offered and finished in a few calls', () =>
      withStore(async (store) => {
        const ids = Array.from({ length: 10_000 }, (_, i) => `ep-${i}`);
        await store.insertRollout(rollout(), pending(...ids));
        assert.equal((await store.markOffered('r1', ids, T1)).length, 10_000);
        const outcomes = ids.map((endpointId, i) => ({ endpointId, state: i % 10 === 0 ? ('failed' as const) : ('applied' as const), reason: null, at: T2 }));
        // As the service sends them: many calls in one event-loop turn.
        const parts = await Promise.all(Array.from({ length: 10 }, (_, i) => store.finishDevices('r1', outcomes.slice(i * 1000, (i + 1) * 1000))));
        assert.equal(parts.flat().length, 10_000);
        assert.deepEqual(await store.counts('r1'), { pending: 0, offered: 0, applied: 9000, failed: 1000, timed_out: 0, skipped: 0 });
      }));

    test('durable: what was written is there after reopening; calls after close are UNAVAILABLE', () =>
      withStore(async (store, opened) => {
        await store.insertRollout(rollout(), pending('a', 'b'));
        await store.markOffered('r1', ['a'], T1);
        await store.finishDevices('r1', [{ endpointId: 'a', state: 'applied', reason: null, at: T2 }]);
        await store.close();
        await assert.rejects(store.getRollout('r1'), unavailable);
        await assert.rejects(store.markOffered('r1', ['b'], T2), unavailable);
        const again = await opened.reopen();
        try {
          assert.equal((await again.getRollout('r1'))?.version, '1.2.0');
          assert.deepEqual(await again.counts('r1'), { pending: 1, offered: 0, applied: 1, failed: 0, timed_out: 0, skipped: 0 });
        } finally {
          await again.close();
        }
      }));
  });
}
