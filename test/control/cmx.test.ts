import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { Ajv } from 'ajv';
import { configResponseSchema } from '../../src/extensions/cmx/schemas.js';
import { createEndpoint } from '../platform/helpers.js';
import { VERSION, api, connectDevice, startPlatform } from './harness.js';
import { httpCall } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const ajv = new Ajv({ strict: false });
const { $schema: _s, ...responseSchema } = configResponseSchema;
const validResponse = ajv.compile(responseSchema);

type Configuration = { configId: string; name: string; config: unknown; createdDate: string; updatedDate: string };
type StatusPage = { content: Array<{ configId: string; status: string; confirmationStatusCode: number | null; confirmationReasonPhrase: string | null; lastDispatchedDate: string | null }>; totalElements: number };

const endpointPath = (endpointId: string, name?: string) => `/ecr/api/v1/endpoints/${endpointId}/app-versions/${VERSION}${name === undefined ? '' : `?name=${name}`}`;

describe('7/CMP configuration over MQTT (Kaa CMX) and ECR over REST', () => {
  it('answers a request with the configuration, or configId "" and null when there is none', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    const none = await device.request('cmx', 'config/json', {}, 2);
    assert.deepEqual(none, { kind: 'status', json: { configId: '', config: null } });

    const put = await api<Configuration>(running, 'PUT', endpointPath(device.endpointId), { mode: 'eco', interval: 30 });
    assert.equal(put.status, 200);
    assert.equal(put.body.name, 'default');
    const reply = await device.request('cmx', 'config/json', '', 3);
    assert.equal(reply.kind, 'status');
    assert.ok(validResponse(reply.json));
    assert.deepEqual(reply.json, { configId: put.body.configId, config: { mode: 'eco', interval: 30 } });

    // 7/CMP: the device already has it: both fields absent.
    assert.deepEqual((await device.request('cmx', 'config/json', { configId: put.body.configId }, 4)).json, {});
    // A stale configId gets the current one.
    assert.deepEqual((await device.request('cmx', 'config/json', { configId: 'old' }, 5)).json, { configId: put.body.configId, config: { mode: 'eco', interval: 30 } });
  });

  it('pushes a new configuration to a device that never subscribed and never asked, and records what it applied (null fields as absent)', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    const put = await api<Configuration>(running, 'PUT', endpointPath(device.endpointId), { brightness: 80 });
    const pushTopic = device.topic('cmx', 'config/json/status');
    const pushed = await device.inbox.next(pushTopic);
    assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: put.body.configId, config: { brightness: 80 } });
    assert.equal(pushed.qos, 1, 'a device without a subscription gets pushes at QoS 1');

    const dispatched = await api<StatusPage>(running, 'GET', `/ecr/api/v1/statuses?endpointId=${device.endpointId}`);
    assert.equal(dispatched.body.content[0]?.status, 'DISPATCHED');
    assert.ok(dispatched.body.content[0]?.lastDispatchedDate);

    // Kaa's Python client sends null for the fields it leaves unset.
    const applied = await device.request('cmx', 'applied/json', { configId: put.body.configId, statusCode: null, reasonPhrase: null }, 6);
    assert.equal(applied.kind, 'status');
    assert.equal(applied.json, undefined, '7/CMP: the applied response payload is empty');
    const statuses = await api<StatusPage>(running, 'GET', `/ecr/api/v1/statuses?endpointId=${device.endpointId}&configId=${put.body.configId}`);
    assert.equal(statuses.body.content[0]?.status, 'APPLIED');
    assert.equal(statuses.body.content[0]?.confirmationStatusCode, 200);

    // The same document again is the same configId: nothing new is pushed.
    const again = await api<Configuration>(running, 'PUT', endpointPath(device.endpointId), { brightness: 80 });
    assert.equal(again.body.configId, put.body.configId);
    await api(running, 'PUT', endpointPath(device.endpointId), { brightness: 50 });
    await waitFor('the second push', async () => device.inbox.on(pushTopic).length, { until: (n) => n === 2 });
  });

  it('marks a configuration applied when the device names it in a request (7/CMP implicit application)', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    const put = await api<Configuration>(running, 'PUT', endpointPath(device.endpointId), { leds: 'off' });
    await device.inbox.next(device.topic('cmx', 'config/json/status'));
    const before = await api<StatusPage>(running, 'GET', `/ecr/api/v1/statuses?endpointId=${device.endpointId}`);
    assert.equal(before.body.content[0]?.status, 'DISPATCHED');
    assert.deepEqual((await device.request('cmx', 'config/json', { configId: put.body.configId }, 2)).json, {});
    const after = await api<StatusPage>(running, 'GET', `/ecr/api/v1/statuses?endpointId=${device.endpointId}&configId=${put.body.configId}`);
    assert.equal(after.body.content[0]?.status, 'APPLIED');
    assert.equal(after.body.content[0]?.confirmationStatusCode, 200);
  });

  it('records a refusal with its status code and reason', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    const put = await api<Configuration>(running, 'PUT', endpointPath(device.endpointId), { security: 'WPA2' });
    const reply = await device.request('cmx', 'applied/json', { configId: put.body.configId, statusCode: 400, reasonPhrase: 'WPA2 is not supported' }, 2);
    assert.equal(reply.kind, 'status');
    const statuses = await api<StatusPage>(running, 'GET', `/ecr/api/v1/statuses?endpointId=${device.endpointId}`);
    assert.deepEqual(
      { status: statuses.body.content[0]?.status, code: statuses.body.content[0]?.confirmationStatusCode, reason: statuses.body.content[0]?.confirmationReasonPhrase },
      { status: 'FAILED', code: 400, reason: 'WPA2 is not supported' },
    );
  });

  it('serves named configurations on their own topics; ?name=default is the unnamed one', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    const network = await api<Configuration>(running, 'PUT', endpointPath(device.endpointId, 'network'), { ssid: 'Office' });
    assert.equal(network.body.name, 'network');
    const pushed = await device.inbox.next(device.topic('cmx', 'config/json/network/status'));
    assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: network.body.configId, config: { ssid: 'Office' } });
    assert.deepEqual((await device.request('cmx', 'config/json/network', {}, 2)).json, { configId: network.body.configId, config: { ssid: 'Office' } });
    assert.deepEqual((await device.request('cmx', 'config/json', {}, 3)).json, { configId: '', config: null }, 'the default configuration is separate');

    await api(running, 'PUT', endpointPath(device.endpointId, 'default'), { theme: 'dark' });
    assert.deepEqual((await device.request('cmx', 'config/json', {}, 4)).json, { configId: (await api<Configuration>(running, 'GET', endpointPath(device.endpointId))).body.configId, config: { theme: 'dark' } });
    const listed = await api<Configuration[]>(running, 'GET', `${endpointPath(device.endpointId)}/configurations`);
    assert.deepEqual(listed.body.map((c) => c.name).sort(), ['default', 'network']);

    const bad = await device.request('cmx', 'config/json/no.dots', {}, 5);
    assert.equal(bad.kind, 'error');
    assert.equal((bad.json as { statusCode: number }).statusCode, 400);
  });

  it('falls back to the version default, and a new default reaches only endpoints without their own', async (t) => {
    const running = await startPlatform(t);
    const plain = await connectDevice(t, running);
    const own = await connectDevice(t, running);
    await api(running, 'PUT', endpointPath(own.endpointId), { mine: true });
    await own.inbox.next(own.topic('cmx', 'config/json/status'));
    const def = await api<Configuration>(running, 'PUT', `/ecr/api/v1/app-versions/${VERSION}`, { fleet: 1 });
    assert.equal(def.status, 200);
    const pushed = await plain.inbox.next(plain.topic('cmx', 'config/json/status'));
    assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: def.body.configId, config: { fleet: 1 } });
    assert.deepEqual((await own.request('cmx', 'config/json', {}, 2)).json, { configId: (await api<Configuration>(running, 'GET', endpointPath(own.endpointId))).body.configId, config: { mine: true } });
    assert.equal(own.inbox.on(own.topic('cmx', 'config/json/status')).length, 1, 'the endpoint with its own configuration got no default');

    // Removing its own configuration makes the default effective, and pushed.
    const removed = await api(running, 'DELETE', endpointPath(own.endpointId));
    assert.equal(removed.status, 204);
    await waitFor('the default pushed after the removal', async () => own.received(own.topic('cmx', 'config/json/status')), { until: (list) => list.length === 2 });
    assert.deepEqual(own.received(own.topic('cmx', 'config/json/status'))[1], { configId: def.body.configId, config: { fleet: 1 } });
  });

  it('stops pushes for a session that said observe: false, and keeps them for one that observes', async (t) => {
    const running = await startPlatform(t);
    const quiet = await connectDevice(t, running);
    const watcher = await connectDevice(t, running, { endpoint: { endpointId: quiet.endpointId, token: quiet.token } });
    assert.deepEqual((await quiet.request('cmx', 'config/json', { observe: false }, 2)).json, { configId: '', config: null });
    assert.equal((await watcher.request('cmx', 'config/json', { observe: true }, 2)).kind, 'status');
    await api(running, 'PUT', endpointPath(quiet.endpointId), { v: 1 });
    await watcher.inbox.next(watcher.topic('cmx', 'config/json/status'));
    // Both sessions are pushed to in the same pass: once the watcher has it, the quiet one would too.
    await quiet.request('epmx', 'get/keys', '', 3);
    assert.equal(quiet.inbox.on(quiet.topic('cmx', 'config/json/status')).length, 0);
  });

  it('delivers a configuration set while the device was offline when it connects, and not again once applied', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const put = await api<Configuration>(running, 'PUT', endpointPath(endpoint.endpointId), { offline: 'set' });
    const first = await connectDevice(t, running, { endpoint });
    const pushed = await first.inbox.next(first.topic('cmx', 'config/json/status'));
    assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: put.body.configId, config: { offline: 'set' } });
    await first.request('cmx', 'applied/json', { configId: put.body.configId }, 2);
    await first.client.endAsync();

    const second = await connectDevice(t, running, { endpoint });
    await second.request('epmx', 'get/keys', '', 3);
    assert.equal(second.inbox.on(second.topic('cmx', 'config/json/status')).length, 0, 'an applied configuration is not pushed again');
  });

  it('a version first seen without configurations still pushes one set later to a device that connects after it', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const early = await connectDevice(t, running, { endpoint });
    await early.client.endAsync();
    const put = await api<Configuration>(running, 'PUT', endpointPath(endpoint.endpointId), { later: true });
    const late = await connectDevice(t, running, { endpoint });
    const pushed = await late.inbox.next(late.topic('cmx', 'config/json/status'));
    assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: put.body.configId, config: { later: true } });
  });

  it('pushes to a session that only subscribed (the Kaa Node client never asks)', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const put = await api<Configuration>(running, 'PUT', endpointPath(endpoint.endpointId), { node: 'client' });
    const device = await connectDevice(t, running, { endpoint, greet: false });
    await device.client.subscribeAsync(device.topic('cmx', 'config/json/+'), { qos: 0 });
    const pushed = await device.inbox.next(device.topic('cmx', 'config/json/status'));
    assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: put.body.configId, config: { node: 'client' } });
    assert.equal(pushed.qos, 0, 'never above the QoS the subscription was granted');
    assert.equal(device.inbox.messages.length, 1, 'exactly once');
  });

  it('answers malformed requests with /error and changes nothing', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    for (const [resource, payload] of [
      ['config/json', '{"observe":"yes"}'],
      ['config/json', 'not json'],
      ['config/json', '{"extra":1}'],
      ['applied/json', '{}'],
      ['applied/json', '{"configId":5}'],
      ['applied/json', '[1,2]'],
      ['config/yaml', '{}'],
    ] as const) {
      const reply = await device.request('cmx', resource, payload, Math.floor(Math.random() * 1e6) + 10);
      assert.equal(reply.kind, 'error', `${resource} ${payload}`);
      const body = reply.json as { statusCode: number; reasonPhrase: string };
      assert.ok(body.statusCode === 400 || body.statusCode === 404, `${resource} ${payload}: ${JSON.stringify(body)}`);
      assert.match(body.reasonPhrase, /\S/);
    }
    const statuses = await api<StatusPage>(running, 'GET', `/ecr/api/v1/statuses?endpointId=${device.endpointId}`);
    assert.equal(statuses.body.totalElements, 0);
  });

  it('makes writes conditional with If-Match (412 when the configuration changed) and answers with an ETag', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const put = (body: unknown, ifMatch?: string) =>
      httpCall(running, 'PUT', endpointPath(endpoint.endpointId), { auth: running.adminApiKey, body, headers: { ...(ifMatch && { 'if-match': ifMatch }) } });
    const first = await put({ a: 1 });
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);
    assert.equal((await put({ a: 2 }, etag!)).status, 200);
    const stale = await put({ a: 3 }, etag!);
    assert.equal(stale.status, 412);
    assert.equal((stale.json as { code: string }).code, 'CONFIGURATION_PRECONDITION_FAILED');
    assert.deepEqual((await api<Configuration>(running, 'GET', endpointPath(endpoint.endpointId))).body.config, { a: 2 });
    const missing = await fetch(`http://127.0.0.1:${running.httpPort}${endpointPath(endpoint.endpointId, 'nope')}`, { method: 'PUT', headers: { authorization: `Bearer ${running.adminApiKey}`, 'content-type': 'application/json', 'if-match': '*' }, body: '{}' });
    assert.equal(missing.status, 412);
  });

  it('forgets the default configuration of a deleted application: a new one reusing its names starts without it', async (t) => {
    const running = await startPlatform(t);
    assert.equal((await api(running, 'POST', '/api/v1/applications', { name: 'meters' })).status, 201);
    assert.equal((await api(running, 'POST', '/api/v1/applications/meters/versions', { name: 'meters_v1', extensions: ['cmx'] })).status, 201);
    const defaultPath = '/ecr/api/v1/app-versions/meters_v1';
    assert.equal((await api(running, 'PUT', defaultPath, { mode: 'old' })).status, 200);
    assert.equal((await api(running, 'DELETE', '/api/v1/applications/meters')).status, 204);
    assert.equal((await api(running, 'POST', '/api/v1/applications', { name: 'meters' })).status, 201);
    assert.equal((await api(running, 'POST', '/api/v1/applications/meters/versions', { name: 'meters_v1', extensions: ['cmx'] })).status, 201);
    await waitFor('the old default to be gone', async () => (await api(running, 'GET', defaultPath)).status === 404, 5000);
  });

  it('validates configurations against the version schema on write', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const schema = { type: 'object', required: ['interval'], properties: { interval: { type: 'integer', minimum: 1 } } };
    assert.equal((await api(running, 'PUT', `/ecr/api/v1/app-versions/${VERSION}/schema`, schema)).status, 204);
    const bad = await api<{ code: string; message: string }>(running, 'PUT', endpointPath(endpoint.endpointId), { interval: 0 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'CONFIGURATION_INVALID');
    assert.match(bad.body.message, /interval/);
    assert.equal((await api(running, 'PUT', endpointPath(endpoint.endpointId), { interval: 5 })).status, 200);
    assert.equal((await api(running, 'GET', endpointPath(endpoint.endpointId, 'other'))).status, 404);
  });
});
