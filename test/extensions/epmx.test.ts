import assert from 'node:assert/strict';
import { after, before, describe, it } from '../helpers/test.js';
import { Ajv } from 'ajv';
import { getMetadataKeysResponseSchema, getMetadataResponseSchema } from '../../src/extensions/epmx/schemas/index.js';
import { DEMO_APP, DEMO_VERSION, Inbox, connect, createEndpoint, kpTopic, request, startHarness } from '../transport/harness.js';
import type { Harness } from '../transport/harness.js';
import { waitFor } from '../helpers/wait.js';

const ajv = new Ajv({ strict: false });
const { $schema: _a, ...keysResponse } = getMetadataKeysResponseSchema;
const { $schema: _b, ...getResponse } = getMetadataResponseSchema;
const validKeysResponse = ajv.compile(keysResponse);
const validGetResponse = ajv.compile(getResponse);

let nextId = 1;
const id = () => nextId++;

describe('10/EPMP over MQTT', () => {
  let h: Harness;
  let client: Awaited<ReturnType<typeof connect>>;
  let inbox: Inbox;

  before(async () => {
    h = await startHarness({
      declare: [
        {
          name: DEMO_APP,
          versions: [
            { name: DEMO_VERSION, extensions: ['epmx'] },
            {
              name: 'restricted_v1',
              extensions: ['epmx'],
              metadataKeyAccess: { secret: 'hidden', serial: 'read-only' },
            },
            { name: 'no_epmx_v1', extensions: [] },
          ],
        },
      ],
    });
    client = await connect(h);
    inbox = new Inbox(client);
  });
  after(() => h.close());

  const metadataOf = (endpointId: string) => h.services.registry.getMetadata(endpointId, 'operator');

  describe('get/keys', () => {
    it('returns the keys as a JSON array and ignores the payload', async () => {
      const ep = await createEndpoint(h, { name: 'Sensor 1', model: 'A300' });
      const reply = await request(client, inbox, kpTopic(ep.token, 'get/keys', id()), 'garbage that is not JSON');
      assert.equal(reply.kind, 'status');
      const keys = reply.json() as string[];
      assert.ok(validKeysResponse(keys));
      assert.deepEqual([...keys].sort(), ['model', 'name']);
    });

    it('leaves out hidden keys', async () => {
      const ep = await createEndpoint(h, { name: 'n', secret: 's', serial: 'x1' }, 'restricted_v1');
      const reply = await request(client, inbox, kpTopic(ep.token, 'get/keys', id(), 'restricted_v1'), '');
      assert.deepEqual((reply.json() as string[]).sort(), ['name', 'serial']);
    });
  });

  describe('get', () => {
    it('returns all metadata for a zero-byte payload and for {}', async () => {
      const ep = await createEndpoint(h, { name: 'Sensor 1', location: { lat: 1.5 }, tags: ['a'] });
      for (const payload of ['', '{}']) {
        const reply = await request(client, inbox, kpTopic(ep.token, 'get', id()), payload);
        assert.equal(reply.kind, 'status');
        const body = reply.json();
        assert.ok(validGetResponse(body));
        assert.deepEqual(body, { name: 'Sensor 1', location: { lat: 1.5 }, tags: ['a'] });
      }
    });

    it('returns only the requested keys, leaving out absent ones', async () => {
      const ep = await createEndpoint(h, { name: 'Sensor 1', model: 'A300', fw: '1.0' });
      const reply = await request(client, inbox, kpTopic(ep.token, 'get', id()), JSON.stringify({ keys: ['name', 'fw', 'nope'] }));
      assert.deepEqual(reply.json(), { name: 'Sensor 1', fw: '1.0' });
    });

    it('filters hidden keys from a full get and refuses an explicit hidden key with 403', async () => {
      const ep = await createEndpoint(h, { name: 'n', secret: 's', serial: 'x1' }, 'restricted_v1');
      const all = await request(client, inbox, kpTopic(ep.token, 'get', id(), 'restricted_v1'), '{}');
      assert.deepEqual(all.json(), { name: 'n', serial: 'x1' });
      const denied = await request(client, inbox, kpTopic(ep.token, 'get', id(), 'restricted_v1'), '{"keys":["name","secret"]}');
      assert.equal(denied.kind, 'error');
      const body = denied.json() as { statusCode: number; reasonPhrase: string };
      assert.equal(body.statusCode, 403);
      assert.match(body.reasonPhrase, /secret/);
    });

    it('rejects a schema-invalid request with 400', async () => {
      const ep = await createEndpoint(h);
      for (const payload of ['{"keys":"name"}', '{"other":1}', '{"keys":["bad key"]}', '[]']) {
        const reply = await request(client, inbox, kpTopic(ep.token, 'get', id()), payload);
        assert.equal(reply.kind, 'error', payload);
        assert.equal((reply.json() as { statusCode: number }).statusCode, 400, payload);
      }
    });
  });

  describe('update (full)', () => {
    it('replaces the metadata and replies with a zero-length payload', async () => {
      const ep = await createEndpoint(h, { name: 'Device 1', description: 'first', location: { lat: 27.6 } });
      const reply = await request(client, inbox, kpTopic(ep.token, 'update', id()), JSON.stringify({ name: 'Device 1', location: { lat: 27.1 }, vendorId: 2 }));
      assert.equal(reply.kind, 'status');
      assert.equal(reply.payload.length, 0);
      // 10/EPMP example: location updated, vendorId added, description removed.
      assert.deepEqual(await metadataOf(ep.endpointId), { name: 'Device 1', location: { lat: 27.1 }, vendorId: 2 });
    });

    it('keeps keys the device may not write, and refuses writing a read-only key with 403', async () => {
      const ep = await createEndpoint(h, { name: 'n', secret: 's', serial: 'x1' }, 'restricted_v1');
      const ok = await request(client, inbox, kpTopic(ep.token, 'update', id(), 'restricted_v1'), '{"name":"m"}');
      assert.equal(ok.kind, 'status');
      assert.deepEqual(await metadataOf(ep.endpointId), { name: 'm', secret: 's', serial: 'x1' });
      const denied = await request(client, inbox, kpTopic(ep.token, 'update', id(), 'restricted_v1'), '{"name":"m","serial":"x2"}');
      assert.equal(denied.kind, 'error');
      assert.equal((denied.json() as { statusCode: number }).statusCode, 403);
      assert.deepEqual(await metadataOf(ep.endpointId), { name: 'm', secret: 's', serial: 'x1' });
    });
  });

  describe('update/keys (partial)', () => {
    it('creates and updates only the given keys', async () => {
      const ep = await createEndpoint(h, { name: 'old', keep: true });
      const reply = await request(client, inbox, kpTopic(ep.token, 'update/keys', id()), '{"name":"new","mac":"00-14"}');
      assert.equal(reply.kind, 'status');
      assert.equal(reply.payload.length, 0);
      assert.deepEqual(await metadataOf(ep.endpointId), { name: 'new', keep: true, mac: '00-14' });
    });

    it('refuses writing a hidden or read-only key with 403 and changes nothing', async () => {
      const ep = await createEndpoint(h, { secret: 's', serial: 'x1' }, 'restricted_v1');
      for (const payload of ['{"secret":"t"}', '{"serial":"x2","name":"n"}']) {
        const reply = await request(client, inbox, kpTopic(ep.token, 'update/keys', id(), 'restricted_v1'), payload);
        assert.equal(reply.kind, 'error', payload);
        const body = reply.json() as { statusCode: number; reasonPhrase: string };
        assert.equal(body.statusCode, 403, payload);
      }
      assert.deepEqual(await metadataOf(ep.endpointId), { secret: 's', serial: 'x1' });
    });

    it('rejects malformed JSON, invalid UTF-8 and schema-invalid payloads with 400 saying what to send', async () => {
      const ep = await createEndpoint(h, { a: 1 });
      const cases: Array<string | Buffer> = ['{"name":', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), '{}', '[1]', '"x"', '{"bad key":1}', ''];
      for (const payload of cases) {
        const reply = await request(client, inbox, kpTopic(ep.token, 'update/keys', id()), payload);
        assert.equal(reply.kind, 'error', String(payload));
        const body = reply.json() as { statusCode: number; reasonPhrase: string };
        assert.equal(body.statusCode, 400, String(payload));
        assert.ok(body.reasonPhrase.length > 10);
      }
      const notJson = await request(client, inbox, kpTopic(ep.token, 'update/keys', id()), 'not json');
      assert.match((notJson.json() as { reasonPhrase: string }).reasonPhrase, /UTF-8 JSON.*Send .*JSON object/);
      assert.deepEqual(await metadataOf(ep.endpointId), { a: 1 });
    });
  });

  describe('delete/keys', () => {
    it('deletes the given keys', async () => {
      const ep = await createEndpoint(h, { a: 1, b: 2, c: 3 });
      const reply = await request(client, inbox, kpTopic(ep.token, 'delete/keys', id()), '["a","c"]');
      assert.equal(reply.kind, 'status');
      assert.equal(reply.payload.length, 0);
      assert.deepEqual(await metadataOf(ep.endpointId), { b: 2 });
    });

    it('refuses deleting a read-only key with 403, and invalid payloads with 400', async () => {
      const ep = await createEndpoint(h, { serial: 'x1', name: 'n' }, 'restricted_v1');
      const denied = await request(client, inbox, kpTopic(ep.token, 'delete/keys', id(), 'restricted_v1'), '["serial"]');
      assert.equal((denied.json() as { statusCode: number }).statusCode, 403);
      for (const payload of ['[]', '{"a":1}', '["a","a"]', 'nope']) {
        const reply = await request(client, inbox, kpTopic(ep.token, 'delete/keys', id(), 'restricted_v1'), payload);
        assert.equal((reply.json() as { statusCode: number }).statusCode, 400, payload);
      }
      assert.deepEqual(await metadataOf(ep.endpointId), { serial: 'x1', name: 'n' });
    });
  });

  describe('without a request ID', () => {
    it('applies every operation without a success reply', async () => {
      const ep = await createEndpoint(h, { a: 1, b: 2 });
      const watched = ['update/keys', 'update', 'delete/keys', 'get', 'get/keys'].map((r) => kpTopic(ep.token, r));
      await client.publishAsync(kpTopic(ep.token, 'update/keys'), '{"c":3}', { qos: 1 });
      assert.deepEqual(await metadataOf(ep.endpointId), { a: 1, b: 2, c: 3 });
      await client.publishAsync(kpTopic(ep.token, 'delete/keys'), '["a"]', { qos: 1 });
      assert.deepEqual(await metadataOf(ep.endpointId), { b: 2, c: 3 });
      await client.publishAsync(kpTopic(ep.token, 'update'), '{"z":0}', { qos: 1 });
      assert.deepEqual(await metadataOf(ep.endpointId), { z: 0 });
      await client.publishAsync(kpTopic(ep.token, 'get'), '', { qos: 1 });
      await client.publishAsync(kpTopic(ep.token, 'get/keys'), '', { qos: 1 });
      // A request with an ID on the same connection is answered after the earlier ones: a barrier.
      const barrier = await request(client, inbox, kpTopic(ep.token, 'get/keys', id()), '');
      assert.equal(barrier.kind, 'status');
      for (const topic of watched) {
        assert.equal(inbox.on(`${topic}/status`).length, 0, topic);
        assert.equal(inbox.on(`${topic}/error`).length, 0, topic);
      }
    });

    it('still sends errors to <topic>/error', async () => {
      const ep = await createEndpoint(h);
      const topic = kpTopic(ep.token, 'update/keys');
      await client.publishAsync(topic, '{bad', { qos: 1 });
      const m = await inbox.next(`${topic}/error`);
      assert.equal((JSON.parse(m.payload.toString()) as { statusCode: number }).statusCode, 400);
    });
  });

  it('answers an unknown resource with 404', async () => {
    const ep = await createEndpoint(h);
    for (const resource of ['update/all', 'get/keys/more', 'status']) {
      const reply = await request(client, inbox, kpTopic(ep.token, resource, id()), '{}');
      assert.equal(reply.kind, 'error', resource);
      assert.equal((reply.json() as { statusCode: number }).statusCode, 404, resource);
    }
  });

  it('answers with 404 when the extension is not enabled for the version', async () => {
    const ep = await createEndpoint(h, {}, 'no_epmx_v1');
    const reply = await request(client, inbox, kpTopic(ep.token, 'get', id(), 'no_epmx_v1'), '');
    assert.deepEqual(reply.json(), {
      statusCode: 404,
      reasonPhrase: 'Extension instance "epmx" is not enabled for application version "no_epmx_v1". Enable it for the version, or use one of its enabled extensions.',
    });
  });

  it('reads its own writes when requests are pipelined on one token', async () => {
    const ep = await createEndpoint(h);
    const n = 20;
    const ids = Array.from({ length: n }, () => id());
    for (let i = 0; i < n; i++) client.publish(kpTopic(ep.token, 'update/keys', ids[i]), JSON.stringify({ counter: i }), { qos: 1 });
    const getTopic = kpTopic(ep.token, 'get', id());
    client.publish(getTopic, '{"keys":["counter"]}', { qos: 1 });
    await inbox.next(`${getTopic}/status`);
    assert.deepEqual(inbox.json(`${getTopic}/status`), { counter: n - 1 });
    await waitFor('all update replies', () => ids.every((i) => inbox.on(`${kpTopic(ep.token, 'update/keys', i)}/status`).length === 1));
  });
});
