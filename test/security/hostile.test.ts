import assert from 'node:assert/strict';
import { after, before, describe, it } from '../helpers/test.js';
import { DEMO_VERSION, Inbox, RawConnection, connect, createEndpoint, kpTopic, mqttPacket, request, snapshot, startSecure } from './harness.js';
import type { SecureHarness } from './harness.js';
import { waitFor } from '../helpers/wait.js';

type ErrorBody = { statusCode: number; reasonPhrase: string };

/** A PUBLISH built by hand, so the topic can hold bytes no client library would send. */
function rawPublish(topic: Buffer, payload: Buffer, qos: 0 | 1 = 1, messageId = 7): Buffer {
  const variable = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, qos > 0 ? Buffer.from([messageId >> 8, messageId & 0xff]) : Buffer.alloc(0)]);
  const body = Buffer.concat([variable, payload]);
  const length: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    length.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1), ...length]), body]);
}

describe('hostile input', () => {
  let h: SecureHarness;
  let good: { endpointId: string; token: string; tokenId: string };
  before(async () => {
    h = await startSecure();
    good = await createEndpoint(h, { model: 'A300', serial: 'S-1' });
    // The good device's first request activates its token in the background; wait for that write
    // here so the snapshots below compare only what an attacker could change.
    await stillServing(1000);
    await waitFor('token activation', async () => (await h.services.credentials.listTokens(good.endpointId)).every((t) => t.status === 'ACTIVE'));
  });
  after(() => h.close());

  /** The well-behaved device still gets /status replies. */
  async function stillServing(id: number): Promise<void> {
    const client = await connect(h);
    const inbox = new Inbox(client);
    const reply = await request(client, inbox, kpTopic(good.token, 'get', id), '');
    assert.equal(reply.kind, 'status');
    assert.deepEqual(reply.json(), { model: 'A300', serial: 'S-1' });
    await client.endAsync();
  }

  it('malformed MQTT packets end only their own connection', async () => {
    const before = await snapshot(h);
    const junk = [
      Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), // Remaining Length of five bytes
      Buffer.from([0x00, 0x00]), // reserved packet type
      Buffer.from([0xf0, 0x00]),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'x' }).subarray(0, 5), // truncated CONNECT
      Buffer.concat([mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'x' }), Buffer.from([0x82, 0x02, 0x00])]), // SUBSCRIBE cut short
    ];
    for (const bytes of junk) {
      const raw = await RawConnection.open(h.port);
      raw.write(bytes);
      raw.socket.end();
      await raw.closed;
    }
    assert.deepEqual(await snapshot(h), before);
    await stillServing(1);
  });

  it('invalid UTF-8 in topics and payloads, deep or huge JSON and wrong JSON types get 400', async () => {
    const before = await snapshot(h);
    const raw = await RawConnection.connected(h.port, 'utf8-attacker');
    // Invalid UTF-8 in the token level: MQTT forbids it; either a 4xx /error or a closed connection is fine.
    raw.write(rawPublish(Buffer.concat([Buffer.from(`kp1/${DEMO_VERSION}/epmx/`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('/update/1')]), Buffer.from('{"x":1}')));
    raw.write(rawPublish(Buffer.from(kpTopic(good.token, 'update', 2)), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 1, 8));
    await new Promise<void>((resolve) => {
      const check = () => (raw.isClosed() || raw.packets.filter((p) => p.cmd === 'publish').length >= 2 ? resolve() : setTimeout(check, 10));
      check();
    });
    raw.close();

    const client = await connect(h);
    const inbox = new Inbox(client);
    const payloads: Array<[string, string | Buffer]> = [
      ['update', Buffer.from([0xc3, 0x28])],
      ['update', '['.repeat(50_000) + ']'.repeat(50_000)],
      ['update', `{"a":${'['.repeat(50_000)}${']'.repeat(50_000)}}`],
      ['update', JSON.stringify({ huge: 'x'.repeat(200 * 1024) })],
      ['update', '"just a string"'],
      ['update', '42'],
      ['update', 'null'],
      ['update', '{}'],
      ['update', '{"bad key":1}'],
      ['get', '{"keys":"model"}'],
      ['get', '{"keys":[1,2]}'],
      ['delete/keys', '{"keys":["model"]}'],
      ['delete/keys', '[]'],
      ['update/keys', '{"a":1'],
    ];
    let id = 100;
    for (const [resource, payload] of payloads) {
      const reply = await request(client, inbox, kpTopic(good.token, resource, id++), payload);
      assert.equal(reply.kind, 'error', `${resource} ${String(payload).slice(0, 30)}`);
      const body = reply.json() as ErrorBody;
      assert.ok([400, 413].includes(body.statusCode), `${resource} ${String(payload).slice(0, 30)}: ${body.statusCode}`);
      assert.doesNotMatch(body.reasonPhrase, /\n\s+at /, 'no stack trace');
    }
    // Request IDs that overflow, and tokens with wildcards, dots or control characters in the topic.
    for (const topic of [kpTopic(good.token, 'get', '9'.repeat(40)), kpTopic(good.token, 'get', '9007199254740993'), kpTopic('tok\u0001en', 'get', 5), kpTopic('a.b', 'get', 6)]) {
      const reply = await request(client, inbox, topic, '');
      assert.equal(reply.kind, 'error', topic);
      assert.ok([400, 401].includes((reply.json() as ErrorBody).statusCode), topic);
    }
    // `__proto__` is a valid 10/EPMP key: stored as plain data on another endpoint, polluting nothing.
    const other = await createEndpoint(h);
    assert.equal((await request(client, inbox, kpTopic(other.token, 'update/keys', id++), '{"__proto__":{"polluted":true}}')).kind, 'status');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.deepEqual(Object.keys(await h.services.registry.getMetadata(other.endpointId, 'operator')), ['__proto__']);
    await h.services.registry.deleteEndpoint(other.endpointId);
    assert.deepEqual(await snapshot(h), before);
    await stillServing(2);
  });

  it('REST: injection attempts in filters, sort and keys are refused or matched literally, and change nothing', async () => {
    const before = await snapshot(h);
    const list = (query: string) => h.call('GET', `/epr/api/v1/endpoints?${query}`);
    const refused = [
      'sort=createdDate;DROP TABLE endpoints',
      `sort=${encodeURIComponent("metadata.x'--")}`,
      `sort=${encodeURIComponent('createdDate,asc;--')}`,
      `filter=${encodeURIComponent("model' OR 1=1 --~x")}`,
      `${encodeURIComponent("metadata.x'--")}=1`,
      `searchKeys=${encodeURIComponent("a'); DROP TABLE endpoints; --")}`,
      'limit=100000',
      'offset=-1',
    ];
    for (const query of refused) {
      const res = await list(query);
      assert.equal(res.status, 400, `${query}: ${res.status} ${res.text}`);
      assert.match((res.json as { code: string }).code, /^[A-Z_]+$/);
    }
    // Values are data: a quote-laden filter value matches nothing and breaks nothing.
    for (const query of [`filter=${encodeURIComponent("model~' OR 1=1 --")}`, `metadata.model=${encodeURIComponent("A300' OR '1'='1")}`, `search=${encodeURIComponent("%' OR 1=1 --")}`]) {
      const res = await list(query);
      assert.equal(res.status, 200, query);
      assert.equal((res.json as { totalElements: number }).totalElements, 0, query);
    }
    // Tokens with MQTT wildcards, separators, dots or control characters are refused at issue.
    for (const token of ['a+b', 'a#', 'a/b', 'a.b', 'tok\u0000', 'tok\u001b[31m', 'x'.repeat(300)]) {
      const res = await h.call('POST', `/cm/api/v1/endpoints/${good.endpointId}/tokens`, { token });
      assert.equal(res.status, 400, JSON.stringify(token));
    }
    const badKey = await h.call('PUT', `/epr/api/v1/endpoints/${good.endpointId}/metadata/${encodeURIComponent("x'--")}`, '1');
    assert.equal(badKey.status, 400);
    assert.deepEqual(await snapshot(h), before);
    await stillServing(3);
  });
});
