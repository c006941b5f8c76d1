/**
 * Software updates on the device side: 7/CMP on `cmx_ota` over a real MQTT socket, with the habits
 * of Kaa's official clients (the Python client never subscribes and sends nulls; the Node client
 * subscribes to `…/config/json/+` at QoS 0 and reports its version without a request ID).
 */
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import type { TetherEvent } from '../../src/bus/bus.js';
import type { EndpointSoftware, SoftwareRecord } from '../../src/core/software.js';
import { createEndpoint } from '../platform/helpers.js';
import { VERSION, api, connectDevice, startPlatform } from '../control/harness.js';
import type { Device } from '../control/harness.js';
import { waitFor } from '../helpers/wait.js';

const APP = 'demo_application';
const OTA = 'cmx_ota';
const software = (body: Record<string, unknown>) => ({ upgradableFrom: ['*'], specification: { notes: 'fixes' }, ...body });

type State = EndpointSoftware & { next: { version: string; reason: string } | null };

async function addVersion(running: Parameters<typeof api>[0], body: Record<string, unknown>): Promise<SoftwareRecord> {
  const created = await api<SoftwareRecord>(running, 'POST', `/otao/api/v1/applications/${APP}/software`, software(body));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

async function state(running: Parameters<typeof api>[0], endpointId: string): Promise<State> {
  const reply = await api<State>(running, 'GET', `/otao/api/v1/endpoints/${endpointId}/software`);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

/** Publishes without a request ID, as the Kaa clients report: no reply comes, so wait for the state. */
async function reportBare(device: Device, payload: unknown): Promise<void> {
  await device.client.publishAsync(device.topic(OTA, 'applied/json'), JSON.stringify(payload), { qos: 1 });
}

describe('software updates on cmx_ota (7/CMP)', () => {
  it('a device that never subscribes reports its version, asks, gets {configId, config}, reports it applied; {} when nothing applies', async (t) => {
    const running = await startPlatform(t);
    const events: TetherEvent[] = [];
    t.after(running.bus.subscribe((e) => void (e.type === 'software.reported' && events.push(e))));
    const device = await connectDevice(t, running);

    // Nothing at all yet: {} (not configId "" and config null, which would read as version "").
    assert.deepEqual(await device.request(OTA, 'config/json', {}, 2), { kind: 'status', json: {} });

    await addVersion(running, { version: '1.1.0', upgradableFrom: ['1.0.x'], rolloutStrategy: 'general', specification: { url: 'https://example.com/fw-1.1.0.bin', reboot: true } });
    // Kaa's Node client: reportCurrentSoftwareVersion, no request ID, no statusCode.
    await reportBare(device, { configId: '1.0.0' });
    await waitFor('the reported version', async () => (await state(running, device.endpointId)).version, { until: (v) => v === '1.0.0' });
    assert.deepEqual(events.map((e) => e.type === 'software.reported' && [e.version, e.statusCode, e.appVersionName]), [['1.0.0', 200, VERSION]]);

    const offered = await device.request(OTA, 'config/json', {}, 3);
    assert.deepEqual(offered, { kind: 'status', json: { configId: '1.1.0', config: { url: 'https://example.com/fw-1.1.0.bin', reboot: true } } });
    // Downloads nothing; Kaa's Python client answers with nulls for what it leaves unset.
    assert.equal((await device.request(OTA, 'applied/json', { configId: '1.1.0', statusCode: null, reasonPhrase: null }, 4)).kind, 'status');
    const after = await state(running, device.endpointId);
    assert.equal(after.version, '1.1.0');
    assert.equal(after.lastFailure, null);
    assert.equal(after.next, null);
    assert.deepEqual(await device.request(OTA, 'config/json', {}, 5), { kind: 'status', json: {} });
    // 7/CMP: naming the version it runs is asking "anything newer?": {} again, and no new history.
    assert.deepEqual(await device.request(OTA, 'config/json', { configId: '1.1.0' }, 6), { kind: 'status', json: {} });

    const history = await api<{ content: Array<{ version: string; statusCode: number }>; totalElements: number }>(running, 'GET', `/otao/api/v1/endpoints/${device.endpointId}/software/history`);
    assert.deepEqual(history.body.content.map((h) => [h.version, h.statusCode]), [['1.1.0', 200], ['1.0.0', 200]]);
    assert.equal(device.inbox.messages.filter((m) => m.topic.includes('/cmx_ota/') && m.topic.endsWith('/config/json/status')).length, 0, 'nothing pushed on a topic nobody asked for');
  });

  it('a device reports a failed update with statusCode and reasonPhrase: the version stays, the failure is kept, and it is not offered again by strategy', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    await addVersion(running, { version: '2.0.0', upgradableFrom: ['1.x'], rolloutStrategy: 'general' });
    await device.request(OTA, 'applied/json', { configId: '1.4.0' }, 2);
    assert.equal(((await device.request(OTA, 'config/json', { configId: '1.4.0' }, 3)).json as { configId: string }).configId, '2.0.0');

    const failed = await device.request(OTA, 'applied/json', { configId: '2.0.0', statusCode: 507, reasonPhrase: 'not enough flash' }, 4);
    assert.equal(failed.kind, 'status');
    const after = await state(running, device.endpointId);
    assert.equal(after.version, '1.4.0');
    assert.deepEqual({ ...after.lastFailure, at: undefined }, { version: '2.0.0', statusCode: 507, reasonPhrase: 'not enough flash', at: undefined });
    assert.equal(after.next, null);
    assert.deepEqual((await device.request(OTA, 'config/json', {}, 5)).json, {});

    // Restarted, it says it still runs 1.4.0 (explicitly, and by naming it): the failure stands.
    await device.request(OTA, 'applied/json', { configId: '1.4.0' }, 8);
    assert.deepEqual((await device.request(OTA, 'config/json', { configId: '1.4.0' }, 9)).json, {});
    assert.equal((await state(running, device.endpointId)).lastFailure?.version, '2.0.0');
    // Kaa's Python client reports its version as {configId, config}: accepted, `config` ignored.
    assert.equal((await device.request(OTA, 'applied/json', { configId: '1.4.1', config: { any: 1 } }, 6)).kind, 'status');
    assert.equal((await state(running, device.endpointId)).version, '1.4.1');
    // A success clears the failure: the version may be offered again.
    assert.equal(((await device.request(OTA, 'config/json', {}, 7)).json as { configId: string }).configId, '2.0.0');
  });

  it('answers malformed requests with /error and records nothing', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    for (const [resource, payload] of [
      ['applied/json', '{"statusCode":200}'],
      ['applied/json', 'not json'],
      ['config/json', '{"observe":"yes"}'],
      ['update/json', '{}'],
    ] as const) {
      const reply = await device.request(OTA, resource, payload, 9);
      assert.equal(reply.kind, 'error', `${resource} ${payload}`);
      assert.equal(typeof (reply.json as { reasonPhrase: string }).reasonPhrase, 'string');
      device.inbox.messages.length = 0;
    }
    assert.equal((await state(running, device.endpointId)).reportedAt, null);
  });

  describe('rollout strategies (a device asking gets the version, or not)', () => {
    it('suspended: nobody gets it; general: every endpoint its upgradableFrom admits, newest first', async (t) => {
      const running = await startPlatform(t);
      const device = await connectDevice(t, running);
      await device.request(OTA, 'applied/json', { configId: '1.0.0' }, 2);
      await addVersion(running, { version: '1.5.0', upgradableFrom: ['1.0.0'] });
      assert.deepEqual((await device.request(OTA, 'config/json', {}, 3)).json, {}, 'suspended by default');
      await addVersion(running, { version: '1.2.0', upgradableFrom: ['1.0.0'], rolloutStrategy: 'general' });
      await addVersion(running, { version: '1.3.0', upgradableFrom: ['1.0.0'], rolloutStrategy: 'general' });
      await addVersion(running, { version: '1.4.0', upgradableFrom: ['0.x'], rolloutStrategy: 'general' });
      assert.equal(((await device.request(OTA, 'config/json', {}, 4)).json as { configId: string }).configId, '1.3.0');
      assert.deepEqual((await state(running, device.endpointId)).next, { version: '1.3.0', reason: 'general' });
      // Older than what it runs: never a downgrade by strategy.
      await device.request(OTA, 'applied/json', { configId: '1.3.5' }, 5);
      await addVersion(running, { version: '1.3.1', upgradableFrom: ['*'], rolloutStrategy: 'general' });
      assert.deepEqual((await device.request(OTA, 'config/json', {}, 6)).json, {});
    });

    it('targeted: endpoints matching a filter (an Endpoint List search) whose rollout date has passed', async (t) => {
      const running = await startPlatform(t);
      // connectDevice greets with 10/EPMP metadata {model: "A300"}.
      const a300 = await connectDevice(t, running);
      const other = await connectDevice(t, running);
      await other.request('epmx', 'update/keys', { model: 'B100' }, 2);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      await addVersion(running, {
        version: '3.0.0', upgradableFrom: [''], rolloutStrategy: 'targeted',
        filters: [{ filterId: 'b100-later', rolloutDate: future, query: { filter: ['model=B100'] } }],
      });
      assert.deepEqual((await other.request(OTA, 'config/json', {}, 3)).json, {}, 'its filter\'s rollout date has not come');
      assert.deepEqual((await a300.request(OTA, 'config/json', {}, 3)).json, {}, 'matches no filter');

      const put = await api<SoftwareRecord>(running, 'PUT', `/otao/api/v1/applications/${APP}/software/3.0.0`, software({
        upgradableFrom: [''], rolloutStrategy: 'targeted',
        filters: [{ filterId: 'b100-later', rolloutDate: future, query: { filter: ['model=B100'] } }, { filterId: 'a300-now', rolloutDate: '2020-01-01T00:00:00Z', query: { 'metadata.model': ['A300'] } }],
      }));
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.filters[1]!.rolloutDate, '2020-01-01T00:00:00.000Z');
      assert.equal(((await a300.request(OTA, 'config/json', {}, 4)).json as { configId: string }).configId, '3.0.0');
      assert.deepEqual((await state(running, a300.endpointId)).next, { version: '3.0.0', reason: 'targeted' });
      assert.deepEqual((await other.request(OTA, 'config/json', {}, 4)).json, {});
      // upgradableFrom [""]: only devices that never reported a version.
      await a300.request(OTA, 'applied/json', { configId: '0.9.0' }, 5);
      assert.deepEqual((await a300.request(OTA, 'config/json', {}, 6)).json, {});
    });

    it('an offer (a rollout) reaches a device whatever the strategy, until it reports that version or the rollout withdraws it', async (t) => {
      const running = await startPlatform(t);
      const device = await connectDevice(t, running);
      const other = await connectDevice(t, running);
      await device.request(OTA, 'applied/json', { configId: '1.0.0' }, 2);
      await addVersion(running, { version: '1.1.0', upgradableFrom: ['1.0.0'] });
      await running.software.service.offer(APP, '1.1.0', [device.endpointId], 'r1');
      assert.deepEqual((await device.request(OTA, 'config/json', {}, 3)).json, { configId: '1.1.0', config: { notes: 'fixes' } });
      assert.deepEqual((await state(running, device.endpointId)).next, { version: '1.1.0', reason: 'offer' });
      assert.deepEqual((await other.request(OTA, 'config/json', {}, 3)).json, {});
      await running.software.service.withdraw('r1');
      assert.deepEqual((await device.request(OTA, 'config/json', {}, 4)).json, {});
      await assert.rejects(running.software.service.offer(APP, '9.9.9', [device.endpointId], 'r2'), /no software version "9.9.9"/);
    });
  });

  describe('pushes', () => {
    it('an offer reaches a live session that never subscribed at once, at QoS 1, once', async (t) => {
      const running = await startPlatform(t);
      const device = await connectDevice(t, running);
      await addVersion(running, { version: '1.1.0', specification: { url: 'u' } });
      await running.software.service.offer(APP, '1.1.0', [device.endpointId], 'r1');
      const pushed = await device.inbox.next(device.topic(OTA, 'config/json/status'));
      assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: '1.1.0', config: { url: 'u' } });
      assert.equal(pushed.qos, 1);
      await running.software.service.offer(APP, '1.1.0', [device.endpointId], 'r1');
      await device.request('epmx', 'update/keys', { after: 1 }, 7);
      assert.equal(device.inbox.on(device.topic(OTA, 'config/json/status')).length, 1, 'the same version is not pushed twice to one session');
    });

    it('a device offline when offered gets it when it connects (Node client: subscribed at QoS 0, never asks)', async (t) => {
      const running = await startPlatform(t);
      const endpoint = await createEndpoint(running);
      await addVersion(running, { version: '2.0.0', upgradableFrom: ['1.0.0'], specification: { url: 'v2' } });
      await running.software.service.offer(APP, '2.0.0', [endpoint.endpointId], 'r1');
      const device = await connectDevice(t, running, { endpoint, greet: false });
      await device.client.subscribeAsync(device.topic(OTA, 'config/json/+'), { qos: 0 });
      const pushed = await device.inbox.next(device.topic(OTA, 'config/json/status'));
      assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: '2.0.0', config: { url: 'v2' } });
      assert.equal(pushed.qos, 0, 'never above the QoS the subscription was granted');

      // Applied: the next session gets nothing.
      await reportBare(device, { configId: '2.0.0', statusCode: 200, reasonPhrase: 'ok' });
      await waitFor('the applied report', async () => (await state(running, endpoint.endpointId)).version, { until: (v) => v === '2.0.0' });
      await device.client.endAsync();
      const again = await connectDevice(t, running, { endpoint });
      await again.request(OTA, 'config/json', { observe: true }, 3);
      await again.request('epmx', 'update/keys', { later: true }, 4);
      assert.equal(again.inbox.on(again.topic(OTA, 'config/json/status')).length, 0);
    });

    it('a general version reaches a device on connect; observe:false stops pushes for that session', async (t) => {
      const running = await startPlatform(t);
      const endpoint = await createEndpoint(running);
      await addVersion(running, { version: '1.0.0', upgradableFrom: [''], rolloutStrategy: 'general' });
      const device = await connectDevice(t, running, { endpoint });
      const pushed = await device.inbox.next(device.topic(OTA, 'config/json/status'));
      assert.equal((JSON.parse(pushed.payload.toString()) as { configId: string }).configId, '1.0.0');

      const quiet = await connectDevice(t, running, { endpoint: await createEndpoint(running), greet: false });
      await quiet.request(OTA, 'config/json', { observe: false }, 1);
      await addVersion(running, { version: '1.1.0', upgradableFrom: [''] });
      await running.software.service.offer(APP, '1.1.0', [quiet.endpointId, device.endpointId], 'r1');
      await waitFor('the push to the observing device', () => device.inbox.on(device.topic(OTA, 'config/json/status')).length, { until: (n) => n === 2 });
      assert.equal(quiet.inbox.on(quiet.topic(OTA, 'config/json/status')).length, 0);
    });
  });
});
