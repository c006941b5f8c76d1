/**
 * Rollouts on a running Tether with real devices: mqtt.js clients over real sockets speak cmx_ota
 * as the official Kaa clients do (report the version they run on `applied`, install what is pushed
 * on `config/json/status`, report success or failure), driven through the REST API.
 */
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import type { Rollout, RolloutDevice } from '../../src/core/rollouts.js';
import type { RunningTether } from '../../src/platform/tether.js';
import { waitFor } from '../helpers/wait.js';
import type { Cleanup } from '../helpers/tmp.js';
import { type Device, api, connectDevice, startPlatform } from '../control/harness.js';

const APP = 'demo_application';

type Behaviour = 'apply' | 'fail' | 'silent';

interface OtaDevice extends Device {
  /** Versions pushed to it, in order. */
  pushed: string[];
}

/** A device that runs `runs` and answers what it is pushed as told. */
async function otaDevice(t: Cleanup, running: RunningTether, behaviour: Behaviour, runs = '1.1.0', metadata?: { model: string }): Promise<OtaDevice> {
  const device = await connectDevice(t, running);
  if (metadata) assert.equal((await device.request('epmx', 'update/keys', metadata, 2)).kind, 'status');
  const pushed: string[] = [];
  const pushTopic = `${device.topic('cmx_ota', 'config/json')}/status`;
  device.client.on('message', (topic, payload) => {
    if (topic !== pushTopic) return;
    const { configId } = JSON.parse(payload.toString('utf8')) as { configId?: string };
    if (!configId) return;
    pushed.push(configId);
    if (behaviour === 'silent') return;
    const report = behaviour === 'apply' ? { configId } : { configId, statusCode: 500, reasonPhrase: 'checksum mismatch' };
    void device.client.publishAsync(device.topic('cmx_ota', 'applied/json'), JSON.stringify(report), { qos: 1 });
  });
  // 7/CMP applied on cmx_ota: the version it runs now (the Node client's reportCurrentSoftwareVersion).
  await device.client.publishAsync(device.topic('cmx_ota', 'applied/json'), JSON.stringify({ configId: runs }), { qos: 1 });
  await waitFor(`endpoint ${device.endpointId} to run ${runs}`, async () => (await api<{ version: string | null }>(running, 'GET', `/otao/api/v1/endpoints/${device.endpointId}/software`)).body.version === runs);
  return Object.assign(device, { pushed });
}

async function createSoftware(running: RunningTether, version = '1.2.0', upgradableFrom = ['1.1.x']): Promise<void> {
  const created = await api(running, 'POST', `/otao/api/v1/applications/${APP}/software`, { version, upgradableFrom, specification: { url: 'https://example.com/fw.bin' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
}

async function createRollout(running: RunningTether, body: Record<string, unknown>): Promise<Rollout> {
  const created = await api<Rollout>(running, 'POST', `/otao/api/v1/applications/${APP}/rollouts`, { version: '1.2.0', ...body });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

async function rolloutIn(running: RunningTether, rolloutId: string, states: string[]): Promise<Rollout> {
  return waitFor(`rollout ${rolloutId} to be ${states.join(' or ')}`, async () => (await api<Rollout>(running, 'GET', `/otao/api/v1/rollouts/${rolloutId}`)).body, { until: (r) => states.includes(r.state), timeoutMs: 10_000 });
}

describe('rollouts over MQTT', () => {
  it('a list of endpoints: each device is pushed the version and reports it; a failing one is failed with its reason; skipped ones are never pushed', async (t) => {
    const running = await startPlatform(t);
    await createSoftware(running);
    const good = await otaDevice(t, running, 'apply');
    const bad = await otaDevice(t, running, 'fail');
    const old = await otaDevice(t, running, 'apply', '0.9.0');
    const r = await createRollout(running, { target: { endpointIds: [good.endpointId, bad.endpointId, old.endpointId] } });
    assert.deepEqual(r.counts, { pending: 2, offered: 0, applied: 0, failed: 0, timed_out: 0, skipped: 1 });
    const done = await rolloutIn(running, r.rolloutId, ['completed']);
    assert.deepEqual(done.counts, { pending: 0, offered: 0, applied: 1, failed: 1, timed_out: 0, skipped: 1 });
    assert.equal(done.reason, 'completed: 1 applied, 1 failed, 1 skipped');
    assert.deepEqual(good.pushed, ['1.2.0']);
    assert.deepEqual(old.pushed, []);
    const devices = await api<{ content: RolloutDevice[]; totalElements: number }>(running, 'GET', `/otao/api/v1/rollouts/${r.rolloutId}/devices?state=failed,skipped`);
    assert.equal(devices.body.totalElements, 2);
    assert.deepEqual(devices.body.content.map((d) => [d.endpointId, d.state, d.reason]), [
      [bad.endpointId, 'failed', 'checksum mismatch'],
      [old.endpointId, 'skipped', 'runs 0.9.0; 1.2.0 upgrades 1.1.x'],
    ]);
    const timeline = await api<Array<{ applied: number; failed: number }>>(running, 'GET', `/otao/api/v1/rollouts/${r.rolloutId}/timeline`);
    assert.equal(timeline.body.reduce((n, p) => n + p.applied, 0), 1);
    assert.equal(timeline.body.reduce((n, p) => n + p.failed, 0), 1);
    assert.equal((await api<{ version: string }>(running, 'GET', `/otao/api/v1/endpoints/${good.endpointId}/software`)).body.version, '1.2.0');
  });

  it('every endpoint of an application version, and an Endpoint List search', async (t) => {
    const running = await startPlatform(t);
    await createSoftware(running);
    const a = await otaDevice(t, running, 'apply', '1.1.0', { model: 'A300' });
    const b = await otaDevice(t, running, 'apply', '1.1.0', { model: 'B100' });
    const bySearch = await createRollout(running, { target: { query: { filter: ['model=B100'] } } });
    assert.equal((await rolloutIn(running, bySearch.rolloutId, ['completed'])).counts.applied, 1);
    assert.deepEqual([a.pushed, b.pushed], [[], ['1.2.0']]);
    const byVersion = await createRollout(running, { target: { appVersionName: 'demo_application_v1' } });
    const done = await rolloutIn(running, byVersion.rolloutId, ['completed']);
    assert.deepEqual([done.counts.applied, done.counts.skipped], [1, 1]);
    assert.deepEqual(a.pushed, ['1.2.0']);
    const list = await api<{ content: Rollout[]; totalElements: number; number: number }>(running, 'GET', `/otao/api/v1/applications/${APP}/rollouts?state=completed&limit=1`);
    assert.equal(list.status, 200);
    assert.equal(list.body.totalElements, 2);
    assert.deepEqual(list.body.content.map((r) => r.rolloutId), [byVersion.rolloutId]);
  });

  it('the abort rule stops a failing rollout and withdraws its offers; cancel withdraws those of a paused one', async (t) => {
    const running = await startPlatform(t);
    await createSoftware(running);
    const failing: OtaDevice[] = [];
    for (let i = 0; i < 3; i++) failing.push(await otaDevice(t, running, 'fail'));
    const r = await createRollout(running, { target: { appVersionName: 'demo_application_v1' }, abort: { failurePercent: 50, minAttempted: 2 } });
    const aborted = await rolloutIn(running, r.rolloutId, ['aborted']);
    assert.match(aborted.reason!, /^aborted: [23] of [23] devices failed \(100 %\), above the 50 % limit$/);

    const silent: OtaDevice[] = [];
    for (let i = 0; i < 2; i++) silent.push(await otaDevice(t, running, 'silent', '1.1.5'));
    const slow = await createRollout(running, { target: { endpointIds: silent.map((d) => d.endpointId) }, rate: { perMinute: 1 } });
    await waitFor('the first device to be pushed the version', () => silent[0]!.pushed.length === 1);
    const paused = await api<Rollout>(running, 'POST', `/otao/api/v1/rollouts/${slow.rolloutId}/pause`);
    assert.equal(paused.body.state, 'paused');
    const next = async (id: string) => (await api<{ next: { version: string } | null }>(running, 'GET', `/otao/api/v1/endpoints/${id}/software`)).body.next;
    assert.deepEqual(await next(silent[0]!.endpointId), { version: '1.2.0', reason: 'offer' });
    const cancelled = await api<Rollout>(running, 'POST', `/otao/api/v1/rollouts/${slow.rolloutId}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.state, 'cancelled');
    assert.equal(await next(silent[0]!.endpointId), null, 'the open offer was withdrawn');
    assert.deepEqual(silent[1]!.pushed, []);
    const again = await api<{ code: string; message: string }>(running, 'POST', `/otao/api/v1/rollouts/${slow.rolloutId}/resume`);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'ROLLOUT_STATE_CONFLICT');
  });

  it('targets beyond one page of the Endpoint List (the registry answers 1,000 a page): every endpoint is in the rollout', async (t) => {
    const running = await startPlatform(t);
    await api(running, 'POST', `/otao/api/v1/applications/${APP}/software`, { version: '1.2.0', upgradableFrom: ['', '*'], specification: {} });
    const ids: string[] = [];
    for (let i = 0; i < 2100; i++) ids.push((await running.services.registry.createEndpoint({ appVersionName: 'demo_application_v1' })).endpoint.endpointId);
    const paused = { rate: { perMinute: 1 } };
    const byVersion = await createRollout(running, { target: { appVersionName: 'demo_application_v1' }, ...paused });
    assert.equal(byVersion.counts.pending, 2100);
    const bySearch = await createRollout(running, { target: { query: {} }, ...paused });
    assert.equal(bySearch.counts.pending, 2100);
    const byList = await createRollout(running, { target: { endpointIds: ids.slice(0, 2050).reverse() }, ...paused });
    assert.equal(byList.counts.pending, 2050);
    const first = await api<{ content: RolloutDevice[] }>(running, 'GET', `/otao/api/v1/rollouts/${byList.rolloutId}/devices?limit=1`);
    assert.equal(first.body.content[0]!.endpointId, ids[2049]);
  });

  it('REST refuses what cannot be a rollout, saying why', async (t) => {
    const running = await startPlatform(t);
    await createSoftware(running);
    const device = await otaDevice(t, running, 'apply');
    const post = (body: unknown) => api<{ code: string; message: string }>(running, 'POST', `/otao/api/v1/applications/${APP}/rollouts`, body);
    const noVersion = await post({ version: '7.0.0', target: { endpointIds: [device.endpointId] } });
    assert.deepEqual([noVersion.status, noVersion.body.code], [404, 'SOFTWARE_NOT_FOUND']);
    const twoTargets = await post({ version: '1.2.0', target: { endpointIds: [device.endpointId], appVersionName: 'demo_application_v1' } });
    assert.equal(twoTargets.status, 400);
    const badRate = await post({ version: '1.2.0', target: { endpointIds: [device.endpointId] }, rate: { perMinute: 0 } });
    assert.equal(badRate.status, 400);
    const unknown = await post({ version: '1.2.0', target: { endpointIds: ['ghost'] } });
    assert.deepEqual([unknown.status, unknown.body.code], [400, 'ROLLOUT_INVALID']);
    assert.match(unknown.body.message, /"ghost"/);
    const missing = await api<{ code: string }>(running, 'GET', '/otao/api/v1/rollouts/nope');
    assert.deepEqual([missing.status, missing.body.code], [404, 'ROLLOUT_NOT_FOUND']);
    const badState = await api<{ code: string }>(running, 'GET', `/otao/api/v1/applications/${APP}/rollouts?state=finished`);
    assert.equal(badState.status, 400);
  });
});
