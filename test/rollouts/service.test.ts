import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { isTetherError } from '../../src/core/errors.js';
import { APP, setup } from './fleet.js';

const code = (expected: string) => (err: unknown) => isTetherError(err) && err.code === expected;

describe('rollouts: targets', () => {
  it('a list of endpoint IDs, in its order; devices already on the version or not upgradable are skipped with the reason', async (t) => {
    const s = await setup(t);
    const [a, b] = s.fleet.add(2);
    const [c] = s.fleet.add(1, { runs: '1.2.0' });
    const [d] = s.fleet.add(1, { runs: '0.9.0' });
    const [e] = s.fleet.add(1, { runs: null });
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { endpointIds: [b!, a!, c!, d!, e!] } });
    assert.equal(r.state, 'running');
    assert.deepEqual(r.counts, { pending: 3, offered: 0, applied: 0, failed: 0, timed_out: 0, skipped: 2 });
    const page = await s.rollouts.devices(r.rolloutId, undefined, 0, 10);
    assert.deepEqual(page.content.map((x) => x.endpointId), [b, a, c, d, e]);
    assert.equal(page.content[2]!.reason, 'already runs 1.2.0');
    assert.equal(page.content[3]!.reason, 'runs 0.9.0; 1.2.0 upgrades 1.1.x, ');
    await s.step(0);
    // No rate: everything at once, in the order given; every device applied: completed.
    assert.deepEqual(s.fleet.offers.map((o) => o.endpointIds), [[b, a, e]]);
    const done = await s.rollouts.get(r.rolloutId);
    assert.equal(done.state, 'completed');
    assert.equal(done.reason, 'completed: 3 applied, 0 failed, 2 skipped');
  });

  it('every endpoint of an application version, or an Endpoint List search; mistakes are refused with the reason', async (t) => {
    const s = await setup(t);
    s.fleet.add(3, { appVersionName: 'app_v1' });
    const v2 = s.fleet.add(2, { appVersionName: 'app_v2' });
    const byVersion = await s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v2' } });
    assert.equal(byVersion.counts.pending, 2);
    assert.deepEqual((await s.rollouts.devices(byVersion.rolloutId, ['pending'], 0, 10)).content.map((d) => d.endpointId), v2);
    const byQuery = await s.rollouts.create(APP, { version: '1.2.0', target: { query: { search: 'ep-00001' } } });
    assert.equal(byQuery.counts.pending, 1);

    await assert.rejects(s.rollouts.create(APP, { version: '9.9.9', target: { appVersionName: 'app_v1' } }), code('SOFTWARE_NOT_FOUND'));
    await assert.rejects(s.rollouts.create('nope', { version: '1.2.0', target: { appVersionName: 'app_v1' } }), code('APPLICATION_NOT_FOUND'));
    await assert.rejects(s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'other_v1' } }), /belongs to application "other"/);
    await assert.rejects(s.rollouts.create(APP, { version: '1.2.0', target: { endpointIds: ['ep-00000', 'ghost'] } }), /1 of the endpoint IDs \("ghost"\) are not endpoints/);
    await assert.rejects(s.rollouts.create(APP, { version: '1.2.0', target: { query: { search: 'nothing-like-this' } } }), /matches no endpoint/);
    await assert.rejects(s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, rate: { perMinute: 0 } }), code('ROLLOUT_INVALID'));
    await assert.rejects(s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, abort: { failurePercent: 120, minAttempted: 10 } }), /between 0 and 100/);
    await assert.rejects(s.rollouts.get('nope'), code('ROLLOUT_NOT_FOUND'));
  });
});

describe('rollouts: rate', () => {
  it('offers devices per minute as the clock moves: one at once, then the rate', async (t) => {
    const s = await setup(t);
    s.fleet.add(1000);
    s.fleet.behaviour = () => 'silent';
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, rate: { perMinute: 600 } });
    await s.step(0);
    assert.equal(s.fleet.offeredCount, 1);
    await s.step(1000);
    assert.equal(s.fleet.offeredCount, 11);
    await s.step(500);
    assert.equal(s.fleet.offeredCount, 16);
    await s.step(6000);
    assert.equal(s.fleet.offeredCount, 76);
    // A stall of ten minutes releases at most a minute's worth.
    await s.step(600_000);
    assert.equal(s.fleet.offeredCount, 676);
    assert.equal((await s.rollouts.get(r.rolloutId)).counts.offered, 676);
  });

  it('grows: the rate doubles after every 10 applied', async (t) => {
    const s = await setup(t);
    s.fleet.add(200);
    await s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, rate: { perMinute: 60, growth: { factor: 2, everySuccesses: 10 } } });
    await s.step(0);
    const perStep: number[] = [];
    let before = s.fleet.offeredCount;
    for (let i = 0; i < 20; i++) {
      await s.step(1000);
      perStep.push(s.fleet.offeredCount - before);
      before = s.fleet.offeredCount;
    }
    // Per second: 1 until 10 applied, 2 from 10, 4 from 20, 8 from 30 (at 32), 16 from 40, 32 from 50 (at 56).
    assert.deepEqual(perStep, [1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 4, 4, 4, 8, 16, 32]);
  });
});

describe('rollouts: the abort rule', () => {
  it('stops a rollout against a 30 % failing fleet after 100 finished devices at 10 %, before 150 are offered, and says why', async (t) => {
    const s = await setup(t);
    const ids = s.fleet.add(1000);
    const failing = new Set(ids.filter((_, i) => i % 10 < 3));
    s.fleet.behaviour = (id) => (failing.has(id) ? 'fail' : 'apply');
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, rate: { perMinute: 600 }, abort: { failurePercent: 10, minAttempted: 100 } });
    for (let i = 0; i < 200 && (await s.rollouts.get(r.rolloutId)).state === 'running'; i++) await s.step(1000);
    const stopped = await s.rollouts.get(r.rolloutId);
    assert.equal(stopped.state, 'aborted');
    assert.match(stopped.reason!, /^aborted: \d+ of 10\d devices failed \(\d+(\.\d)? %\), above the 10 % limit$/);
    assert.ok(s.fleet.offeredCount < 150, `offered ${s.fleet.offeredCount}`);
    assert.ok(s.fleet.offeredCount >= 100);
    assert.deepEqual(s.fleet.withdrawn, [r.rolloutId]);
    assert.equal(s.fleet.log.at(-1), 'withdraw', 'no offer is stored after the withdrawal');
    // Nothing more is offered.
    const offered = s.fleet.offeredCount;
    await s.step(10_000);
    assert.equal(s.fleet.offeredCount, offered);
    assert.ok(stopped.counts.pending > 800);
  });

  it('with no rate, batches of offers stop as soon as the rule trips, and the withdrawal comes after the last offer stored', async (t) => {
    const s = await setup(t, { batchSize: 50 });
    const ids = s.fleet.add(2000);
    const failing = new Set(ids.filter((_, i) => i % 10 < 3));
    s.fleet.behaviour = (id) => (failing.has(id) ? 'fail' : 'apply');
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, abort: { failurePercent: 10, minAttempted: 100 } });
    await s.step(0);
    const stopped = await s.rollouts.get(r.rolloutId);
    assert.equal(stopped.state, 'aborted');
    assert.ok(s.fleet.offeredCount < 2000, `offered ${s.fleet.offeredCount}`);
    assert.equal(s.fleet.log.at(-1), 'withdraw');
    assert.equal(s.fleet.log.filter((x) => x === 'withdraw').length, 1);
  });

  it('devices that report nothing within the timeout are timed out and count as failures', async (t) => {
    const s = await setup(t);
    const ids = s.fleet.add(20);
    s.fleet.behaviour = (id) => (id === ids[0] ? 'apply' : 'silent');
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, abort: { failurePercent: 50, minAttempted: 5, reportTimeoutSeconds: 30 } });
    await s.step(0);
    assert.equal((await s.rollouts.get(r.rolloutId)).counts.offered, 19);
    // A late device still counts within the limit.
    await s.step(29_000);
    await s.fleet.report(ids[1]!, 200);
    await s.rollouts.settled();
    await s.step(2000);
    const after = await s.rollouts.get(r.rolloutId);
    assert.deepEqual(after.counts, { pending: 0, offered: 0, applied: 2, failed: 0, timed_out: 18, skipped: 0 });
    assert.equal(after.state, 'aborted');
    assert.equal(after.reason, 'aborted: 18 of 20 devices failed (18 of them timed out) (90 %), above the 50 % limit');
    const timedOut = (await s.rollouts.devices(r.rolloutId, ['timed_out'], 0, 1)).content[0]!;
    assert.equal(timedOut.reason, 'no report within 30 s of the offer');
  });

  it('a device that reports failure is failed with its reason phrase; the timeline counts per minute', async (t) => {
    const s = await setup(t);
    const [a, b] = s.fleet.add(2);
    s.fleet.behaviour = (id) => (id === a ? 'fail' : 'apply');
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { endpointIds: [a!, b!] } });
    await s.step(0);
    const failed = (await s.rollouts.devices(r.rolloutId, ['failed'], 0, 10)).content;
    assert.deepEqual(failed.map((d) => [d.endpointId, d.reason]), [[a, 'flash write failed']]);
    assert.deepEqual(await s.rollouts.timeline(r.rolloutId), [{ at: '2026-01-01T00:00:00.000Z', applied: 1, failed: 1 }]);
    assert.equal((await s.rollouts.get(r.rolloutId)).reason, 'completed: 1 applied, 1 failed');
  });
});

describe('rollouts: endpoints deleted meanwhile', () => {
  it('are skipped, pending or offered, and the rollout completes without them', async (t) => {
    const s = await setup(t);
    const [a, b, c] = s.fleet.add(3);
    s.fleet.behaviour = (id) => (id === a ? 'silent' : 'apply');
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { endpointIds: [a!, b!, c!] }, rate: { perMinute: 60 } });
    await s.step(0);
    assert.equal((await s.rollouts.get(r.rolloutId)).counts.offered, 1);
    for (const endpointId of [a!, c!]) await s.bus.publish({ type: 'endpoint.deleted', endpointId, applicationName: APP, at: s.clock.iso() });
    await s.rollouts.settled();
    await s.step(1000);
    const done = await s.rollouts.get(r.rolloutId);
    assert.deepEqual(done.counts, { pending: 0, offered: 0, applied: 1, failed: 0, timed_out: 0, skipped: 2 });
    assert.equal(done.state, 'completed');
    assert.deepEqual((await s.rollouts.devices(r.rolloutId, ['skipped'], 0, 10)).content.map((d) => d.reason), ['endpoint deleted', 'endpoint deleted']);
  });
});

describe('rollouts: pause, resume, cancel', () => {
  it('a paused rollout offers nothing until resumed; a cancelled one never again, and its offers are withdrawn', async (t) => {
    const s = await setup(t);
    s.fleet.add(100);
    s.fleet.behaviour = () => 'silent';
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, rate: { perMinute: 60 } });
    await s.step(0);
    assert.equal(s.fleet.offeredCount, 1);
    const paused = await s.rollouts.pause(r.rolloutId);
    assert.equal(paused.state, 'paused');
    assert.equal(paused.reason, 'paused by an operator');
    assert.equal((await s.rollouts.pause(r.rolloutId)).state, 'paused', 'pausing twice is harmless');
    await s.step(10_000);
    assert.equal(s.fleet.offeredCount, 1);
    // Time paused does not count toward the rate.
    assert.equal((await s.rollouts.resume(r.rolloutId)).state, 'running');
    await s.step(1000);
    assert.equal(s.fleet.offeredCount, 2);
    const cancelled = await s.rollouts.cancel(r.rolloutId);
    assert.equal(cancelled.state, 'cancelled');
    assert.deepEqual(s.fleet.withdrawn.slice(0, 1), [r.rolloutId]);
    await s.step(60_000);
    assert.equal(s.fleet.offeredCount, 2);
    await assert.rejects(s.rollouts.resume(r.rolloutId), code('ROLLOUT_STATE_CONFLICT'));
    await assert.rejects(s.rollouts.pause(r.rolloutId), /is cancelled: only a running rollout can be paused/);
    const list = await s.rollouts.list(APP, ['cancelled'], 0, 10);
    assert.deepEqual(list.content.map((x) => x.rolloutId), [r.rolloutId]);
  });
});

describe('rollouts: across nodes', () => {
  it('one node drives a rollout; when it stops renewing its lease another takes over, counting what devices reported meanwhile', async (t) => {
    const s = await setup(t);
    const ids = s.fleet.add(50);
    s.fleet.behaviour = () => 'silent';
    const n2 = s.node('n2');
    const r = await s.rollouts.create(APP, { version: '1.2.0', target: { appVersionName: 'app_v1' }, rate: { perMinute: 60 } });
    await s.step(0);
    await s.step(0, n2);
    assert.deepEqual(s.rollouts.driving(), [r.rolloutId]);
    assert.deepEqual(n2.driving(), []);
    await s.step(4000);
    assert.equal(s.fleet.offeredCount, 5);
    // n1 stalls (no more ticks); a device it offered reports meanwhile; n1's lease ends.
    s.fleet.running.set(ids[0]!, '1.2.0');
    await s.step(31_000, n2);
    assert.deepEqual(n2.driving(), [r.rolloutId]);
    const now = await n2.get(r.rolloutId);
    assert.equal(now.counts.applied, 1);
    assert.ok(s.fleet.offeredCount > 5, 'n2 went on offering');
    // n1 wakes up: it no longer holds the lease and stops driving.
    await s.step(0);
    assert.deepEqual(s.rollouts.driving(), []);
  });
});
