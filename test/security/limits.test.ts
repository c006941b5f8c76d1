import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from '../helpers/test.js';
import { loadConfig } from '../../src/config/index.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import { isTetherError } from '../../src/core/errors.js';
import { ConnectionCounter, TokenBucket } from '../../src/transport/limits.js';
import { PacketFramer } from '../../src/transport/framing.js';
import { DEMO_VERSION, Inbox, RawConnection, connect, createEndpoint, kpTopic, mqttPacket, request, snapshot, startSecure } from './harness.js';
import type { SecureHarness } from './harness.js';
import { createTestClock } from '../helpers/clock.js';
import { waitFor } from '../helpers/wait.js';

type ErrorBody = { statusCode: number; reasonPhrase: string };

describe('limit building blocks', () => {
  it('token bucket: a burst, then one message per refill interval', () => {
    const clock = createTestClock();
    const bucket = new TokenBucket(clock, 2, 3);
    assert.deepEqual([1, 2, 3, 4].map(() => bucket.take()), [true, true, true, false]);
    clock.advance(499);
    assert.equal(bucket.take(), false);
    clock.advance(1);
    assert.equal(bucket.take(), true);
    clock.advance(60_000);
    assert.deepEqual([1, 2, 3, 4].map(() => bucket.take()), [true, true, true, false], 'refill stops at the burst size');
  });

  it('connection counter: per address and in total, released once', () => {
    const counter = new ConnectionCounter(3, 2);
    const a1 = counter.admit('10.0.0.1');
    const a2 = counter.admit('10.0.0.1');
    assert.deepEqual(counter.admit('10.0.0.1'), { refused: 'address' });
    const b1 = counter.admit('10.0.0.2');
    assert.deepEqual(counter.admit('10.0.0.3'), { refused: 'total' });
    for (const admitted of [a1, a2, b1]) assert.ok('release' in admitted);
    if ('release' in a1) {
      a1.release();
      a1.release();
    }
    assert.equal(counter.size, 2);
    assert.ok('release' in counter.admit('10.0.0.1'));
  });

  it('packet framer: whole packets across chunks, oversized refused from the fixed header, malformed lengths', () => {
    const small = mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(100), qos: 0, retain: false, dup: false });
    const big = mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(1000), qos: 0, retain: false, dup: false });
    const framer = new PacketFramer(200);
    const frames: Buffer[] = [];
    const sink = { onFrame: (bytes: Buffer) => frames.push(Buffer.from(bytes)) };
    const stream = Buffer.concat([small, small, small]);
    for (let i = 0; i < stream.length; i += 7) assert.equal(framer.push(stream.subarray(i, i + 7), sink), undefined);
    assert.deepEqual(frames, [small, small, small]);
    assert.equal(framer.push(big.subarray(0, 3), sink)?.kind, 'too-large', 'decided from the fixed header alone');
    assert.equal(new PacketFramer(1 << 30).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), sink)?.kind, 'malformed');
  });
});

describe('MQTT limits', () => {
  let h: SecureHarness;
  const limits = {
    maxPacketSize: 4096,
    maxTopicLength: 200,
    maxTopicLevels: 10,
    publishRate: 0.001, // practically no refill: the test clock moves only when a test says so
    publishBurst: 5,
    maxConnectionsPerIp: 1000,
    maxMetadataKeys: 5,
    maxMetadataValueBytes: 100,
    maxMetadataDepth: 4,
  };
  before(async () => {
    h = await startSecure({ limits });
  });
  after(() => h.close());

  it('closes a connection that announces a packet over maxPacketSize, before it is read', async () => {
    const raw = await RawConnection.connected(h.port, 'big-packet');
    const ep = await createEndpoint(h);
    const before = await snapshot(h);
    // Only the fixed header of a 1 MiB PUBLISH: the server must not wait for the rest.
    const header = mqttPacket.generate({ cmd: 'publish', topic: kpTopic(ep.token, 'update'), payload: Buffer.alloc(1024 * 1024), qos: 0, retain: false, dup: false }).subarray(0, 64);
    raw.write(header);
    await raw.closed;
    assert.ok(h.logs.some((r) => r.fields['code'] === 'MQTT_PACKET_TOO_LARGE'));
    assert.deepEqual(await snapshot(h), before);
    // A packet just under the limit is served.
    const client = await connect(h);
    const inbox = new Inbox(client);
    const value = 'x'.repeat(50);
    assert.equal((await request(client, inbox, kpTopic(ep.token, 'update/keys', 1), JSON.stringify({ v: value }))).kind, 'status');
  });

  it('answers a topic over maxTopicLength or maxTopicLevels with 400 and keeps the connection', async () => {
    const ep = await createEndpoint(h);
    const client = await connect(h);
    const inbox = new Inbox(client);
    const long = kpTopic(ep.token, `update/${'k'.repeat(200)}`, 1);
    const deep = kpTopic(ep.token, 'a/b/c/d/e/f/g', 2);
    for (const topic of [long, deep]) {
      const reply = await request(client, inbox, topic, '{"a":1}');
      assert.equal(reply.kind, 'error');
      assert.equal((reply.json() as ErrorBody).statusCode, 400, topic);
    }
    // One line per connection per interval, however many refusals: the first says what, later ones are counted.
    const lines = h.logs.filter((r) => r.fields['code'] === 'KP_TOPIC_TOO_LONG' || r.fields['code'] === 'KP_TOPIC_TOO_DEEP');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.fields['code'], 'KP_TOPIC_TOO_LONG');
    assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), {});
    assert.ok(!client.disconnected);
  });

  it('reads a device over the publish rate more slowly instead of dropping: no PUBACK before the commit, no 429', async () => {
    const ep = await createEndpoint(h);
    h.clock.advance(10_000_000); // a full bucket (publishBurst 5) for this test
    const client = await connect(h);
    const inbox = new Inbox(client);
    const logsBefore = h.logs.length;
    for (let i = 1; i <= 5; i++) assert.equal((await request(client, inbox, kpTopic(ep.token, 'update/keys', i), JSON.stringify({ n: i }))).kind, 'status');
    // Over the burst, QoS 1 updates without a request ID: not acknowledged, not dropped, not yet read.
    const acknowledged: number[] = [];
    const sent = [6, 7, 8].map((i) => client.publishAsync(kpTopic(ep.token, 'update/keys'), JSON.stringify({ n: i }), { qos: 1 }).then(() => acknowledged.push(i)));
    const qos0 = client.publishAsync(kpTopic(ep.token, 'update/keys'), '{"n":"qos0"}', { qos: 0 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(acknowledged, [], 'no PUBACK while the bucket is empty');
    assert.equal((await h.services.registry.getMetadata(ep.endpointId, 'operator'))['n'], 5);
    // Once the bucket refills, the device is read again: every acknowledged update is stored, in order.
    h.clock.advance(10_000_000);
    await Promise.all([...sent, qos0]);
    await waitFor('the QoS 0 update stored, last', async () => (await h.services.registry.getMetadata(ep.endpointId, 'operator'))['n'] === 'qos0');
    assert.deepEqual(acknowledged, [6, 7, 8]);
    assert.equal(inbox.messages.filter((m) => m.topic.endsWith('/error')).length, 0, 'nothing was refused');
    assert.equal(h.logs.slice(logsBefore).filter((r) => r.level === 'warn').length, 0, 'pushing back logs nothing');
  });

  it('refuses metadata beyond maxMetadataKeys, maxMetadataValueBytes and maxMetadataDepth, over MQTT and REST', async () => {
    const ep = await createEndpoint(h, { a: 1, b: 2, c: 3 });
    const client = await connect(h);
    const inbox = new Inbox(client);
    const cases: Array<[string, string, number]> = [
      ['update/keys', '{"d":4,"e":5,"f":6}', 400],
      ['update', '{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}', 400],
      ['update/keys', JSON.stringify({ big: 'x'.repeat(200) }), 413],
      ['update/keys', '{"deep":[[[[[1]]]]]}', 400],
    ];
    for (const [i, [resource, payload, status]] of cases.entries()) {
      h.clock.advance(10_000_000); // keep the publish rate out of the way
      const reply = await request(client, inbox, kpTopic(ep.token, resource, 10 + i), payload);
      assert.equal((reply.json() as ErrorBody | undefined)?.statusCode, status, `${resource} ${payload.slice(0, 40)}`);
    }
    h.clock.advance(10_000_000);
    assert.equal((await request(client, inbox, kpTopic(ep.token, 'update/keys', 20), '{"d":4,"e":5}')).kind, 'status', 'exactly the limit is fine');
    assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), { a: 1, b: 2, c: 3, d: 4, e: 5 });

    const rest = await h.call('PUT', `/epr/api/v1/endpoints/${ep.endpointId}/metadata/f`, 6);
    assert.equal(rest.status, 400);
    assert.equal((rest.json as { code: string }).code, 'METADATA_TOO_MANY_KEYS');
    const tooBig = await h.call('PUT', `/epr/api/v1/endpoints/${ep.endpointId}/metadata/a`, JSON.stringify('y'.repeat(500)));
    assert.equal(tooBig.status, 413);
    const created = await h.call('POST', '/epr/api/v1/endpoints', { appVersion: { name: DEMO_VERSION }, metadata: { deep: { a: { b: { c: { d: { e: 1 } } } } } } });
    assert.equal(created.status, 400);
    assert.equal((created.json as { code: string }).code, 'METADATA_VALUE_TOO_DEEP');
    assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), { a: 1, b: 2, c: 3, d: 4, e: 5 });
  });
});

describe('connection limits', () => {
  let h: SecureHarness;
  before(async () => {
    h = await startSecure({ limits: { maxConnectionsPerIp: 2, maxConnections: 3, connectTimeoutMs: 200, maxInflight: 1 } });
  });
  after(() => h.close());

  it('closes a connection that sends no CONNECT within connectTimeoutMs', async () => {
    const raw = await RawConnection.open(h.port);
    h.clock.advance(100);
    h.server.sweep();
    assert.equal(raw.isClosed(), false, 'still within connectTimeoutMs');
    h.clock.advance(150);
    h.server.sweep();
    await raw.closed; // would hang (and the test time out) without the limit
    assert.equal(raw.packets.length, 0);
  });

  it('refuses a third connection from one address and serves again once one closes', async () => {
    const ep = await createEndpoint(h);
    const first = await connect(h, { clientId: 'c1' });
    const second = await connect(h, { clientId: 'c2' });
    const third = await RawConnection.open(h.port);
    await third.closed;
    assert.ok(h.logs.some((r) => r.fields['code'] === 'TOO_MANY_CONNECTIONS'));
    await second.endAsync();
    await waitFor('second connection gone', () => h.server.sessionCount() === 1);
    const again = await connect(h, { clientId: 'c3' });
    const inbox = new Inbox(again);
    assert.equal((await request(again, inbox, kpTopic(ep.token, 'get', 1), '')).kind, 'status');
    assert.ok(!first.disconnected);
  });

  it('processes one request at a time with maxInflight 1, in order, none lost', async () => {
    await Promise.all(h.clients.splice(0).map((c) => c.endAsync(true)));
    const ep = await createEndpoint(h);
    const client = await connect(h, { clientId: 'pipeliner' });
    const inbox = new Inbox(client);
    for (let i = 0; i < 20; i++) client.publish(kpTopic(ep.token, 'update/keys'), JSON.stringify({ n: i }), { qos: 0 });
    const reply = await request(client, inbox, kpTopic(ep.token, 'get', 1), '');
    assert.deepEqual(reply.json(), { n: 19 });
  });
});

describe('REST limits and headers', () => {
  let h: SecureHarness;
  before(async () => {
    h = await startSecure({ limits: { tokenIssuePerMinute: 3, httpBodyLimit: 2048 } });
  });
  after(() => h.close());

  it('rate-limits token issue per client with a 429 catalog error', async () => {
    const ep = await createEndpoint(h);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<SecureHarness['call']>> | undefined;
    for (let i = 0; i < 4; i++) {
      last = await h.call('POST', `/cm/api/v1/endpoints/${ep.endpointId}/tokens`, {});
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [201, 201, 201, 429]);
    assert.equal((last!.json as { code: string }).code, 'RATE_LIMITED');
    assert.ok(last!.headers.get('retry-after'));
    assert.equal((await h.services.credentials.listTokens(ep.endpointId)).length, 4, 'the refused request issued nothing');
    // Other routes are not limited.
    assert.equal((await h.call('GET', `/cm/api/v1/endpoints/${ep.endpointId}/tokens`)).status, 200);
  });

  it('refuses a body over httpBodyLimit with 413', async () => {
    const res = await h.call('POST', '/epr/api/v1/endpoints', { appVersion: { name: DEMO_VERSION }, metadata: { pad: 'x'.repeat(4096) } });
    assert.equal(res.status, 413);
    assert.equal((res.json as { code: string }).code, 'PAYLOAD_TOO_LARGE');
  });

  it('sends nosniff, a CSP with frame-ancestors and no stack traces, on success and on errors', async () => {
    for (const res of [await h.call('GET', '/epr/api/v1/endpoints'), await h.call('GET', '/epr/api/v1/endpoints/nope'), await h.call('GET', '/nowhere')]) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.doesNotMatch(res.text, /at .*\.js:\d+/);
    }
  });
});

describe('limit options', () => {
  it('reads limits from the config file and environment, with defaults for the rest', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'tether.yaml');
    fs.writeFileSync(file, 'limits:\n  maxPacketSize: 65536\n  publishRate: 2.5\n  maxConnectionsPerIp: 10\n');
    const config = await loadConfig([], { TETHER_CONFIG: file, TETHER_LIMITS_MAX_CONNECTIONS_PER_IP: '20' }, { cwd: dir });
    assert.equal(config.limits.maxPacketSize, 65536);
    assert.equal(config.limits.publishRate, 2.5);
    assert.equal(config.limits.maxConnectionsPerIp, 20, 'environment beats file');
    assert.equal(config.limits.maxMetadataKeys, DEFAULT_LIMITS.maxMetadataKeys);

    for (const [env, value] of [['TETHER_LIMITS_MAX_PACKET_SIZE', '0'], ['TETHER_LIMITS_MAX_INFLIGHT', '1.5'], ['TETHER_LIMITS_PUBLISH_BURST', 'lots']]) {
      await assert.rejects(loadConfig([], { [env!]: value! }, { cwd: dir }), (err) => isTetherError(err) && err.code === 'CONFIG_INVALID' && err.message.includes(env!));
    }
    fs.writeFileSync(file, 'limits:\n  maxPackets: 1\n');
    await assert.rejects(loadConfig([], { TETHER_CONFIG: file }, { cwd: dir }), /limits\.maxPackets/);
  });
});
