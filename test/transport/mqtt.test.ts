import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from '../helpers/test.js';
import { DEMO_VERSION, Inbox, connect, createEndpoint, kpTopic, request, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { waitFor, within } from '../helpers/wait.js';

let nextId = 1;
const id = () => nextId++;

type ErrorBody = { statusCode: number; reasonPhrase: string };

describe('MQTT front door', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  describe('request errors', () => {
    it('answers an unknown application version with 404', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      const ep = await createEndpoint(h);
      const reply = await request(client, inbox, kpTopic(ep.token, 'get', id(), 'no_such_v1'), '');
      assert.equal(reply.kind, 'error');
      const body = reply.json() as ErrorBody;
      assert.equal(body.statusCode, 404);
      assert.match(body.reasonPhrase, /no_such_v1/);
    });

    it('answers an unknown extension instance with 404', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      const ep = await createEndpoint(h);
      const reply = await request(client, inbox, kpTopic(ep.token, 'get', id(), DEMO_VERSION, 'dcx'), '');
      assert.equal((reply.json() as ErrorBody).statusCode, 404);
    });

    it('answers an unknown token with 401, a suspended or revoked one with 403', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      const unknown = await request(client, inbox, kpTopic('no-such-token', 'get', id()), '');
      assert.equal((unknown.json() as ErrorBody).statusCode, 401);

      const suspended = await createEndpoint(h);
      await h.services.credentials.changeTokenStatus(suspended.endpointId, suspended.tokenId, 'suspend');
      const s = await request(client, inbox, kpTopic(suspended.token, 'update/keys', id()), '{"a":1}');
      assert.equal((s.json() as ErrorBody).statusCode, 403);
      assert.match((s.json() as ErrorBody).reasonPhrase, /suspended/);

      const revoked = await createEndpoint(h);
      await h.services.credentials.changeTokenStatus(revoked.endpointId, revoked.tokenId, 'revoke');
      const r = await request(client, inbox, kpTopic(revoked.token, 'update/keys', id()), '{"a":1}');
      assert.equal((r.json() as ErrorBody).statusCode, 403);
      assert.match((r.json() as ErrorBody).reasonPhrase, /revoked/);
      assert.deepEqual(await h.services.registry.getMetadata(suspended.endpointId, 'operator'), {});
      assert.deepEqual(await h.services.registry.getMetadata(revoked.endpointId, 'operator'), {});
      assert.ok(!client.disconnected, 'errors do not end the session');
    });

    it('answers malformed topics and absurd request IDs with 400', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      const ep = await createEndpoint(h);
      for (const topic of [`kp1/${DEMO_VERSION}/epmx/${ep.token}`, `kp1/${DEMO_VERSION}//${ep.token}/get`, kpTopic(ep.token, 'get', '99999999999999999999'), kpTopic(ep.token, 'get', 0)]) {
        await client.publishAsync(topic, '', { qos: 1 });
        const m = await inbox.next(`${topic}/error`);
        assert.equal((JSON.parse(m.payload.toString()) as ErrorBody).statusCode, 400, topic);
      }
    });

    it('logs each refused request once at warn with its code, and never the token', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      const token = 'Very-Secret-Token-123';
      const topic = kpTopic(token, 'get', id());
      const before = h.logs.length;
      await request(client, inbox, topic, '');
      const added = h.logs.slice(before).filter((r) => r.level === 'warn' || r.level === 'error');
      assert.equal(added.length, 1);
      assert.equal(added[0]!.level, 'warn');
      assert.equal(added[0]!.fields['code'], 'TOKEN_UNKNOWN');
      assert.ok(!JSON.stringify(h.logs).includes(token), 'the token appears in a log record');
      const malformed = `kp1/${DEMO_VERSION}/epmx/${token}`;
      await client.publishAsync(malformed, '', { qos: 1 });
      await inbox.next(`${malformed}/error`);
      assert.ok(!JSON.stringify(h.logs).includes(token), 'the token appears in a log record');
    });

    it('survives hostile input and keeps serving', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      const ep = await createEndpoint(h);
      const junk = [
        '$SYS/broker/x',
        'plain/topic',
        'kp1',
        `kp1/${DEMO_VERSION}/epmx/${ep.token}/${'a/'.repeat(90)}b`,
        kpTopic(ep.token, 'update/keys', id()),
        kpTopic(ep.token, 'get', id()),
      ];
      for (const topic of junk) {
        client.publish(topic, Buffer.from([0, 0xff, 0xc3, 0x28, 0x7b]), { qos: 1 });
        client.publish(topic, '{"__proto__":{"x":1},"constructor":1}', { qos: 0 });
      }
      const reply = await request(client, inbox, kpTopic(ep.token, 'update/keys', id()), '{"still":"alive"}');
      assert.equal(reply.kind, 'status');
      assert.equal((await h.services.registry.getMetadata(ep.endpointId, 'operator'))['still'], 'alive');
    });
  });

  describe('response delivery', () => {
    it('reaches the requester without a subscription, at the request QoS', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      const ep = await createEndpoint(h, { a: 1 });
      for (const qos of [0, 1, 2] as const) {
        const reply = await request(client, inbox, kpTopic(ep.token, 'get', id()), '', qos);
        assert.equal(reply.kind, 'status');
        assert.equal(reply.qos, qos);
        const err = await request(client, inbox, kpTopic(ep.token, 'nope', id()), '', qos);
        assert.equal(err.kind, 'error');
        assert.equal(err.qos, qos);
      }
    });

    it('reaches a requester subscribed to the response topic exactly once', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      const ep = await createEndpoint(h, { a: 1 });
      const exact = kpTopic(ep.token, 'get', id());
      await client.subscribeAsync(`${exact}/status`, { qos: 1 });
      await client.subscribeAsync(`kp1/${DEMO_VERSION}/epmx/${ep.token}/+/+/error`, { qos: 1 });
      await request(client, inbox, exact, '');
      const failing = kpTopic(ep.token, 'bad', id());
      await request(client, inbox, failing, '');
      // Replies on one connection come in order: once the barrier's reply is here, duplicates would be too.
      await request(client, inbox, kpTopic(ep.token, 'get/keys', id()), '');
      assert.equal(inbox.on(`${exact}/status`).length, 1);
      assert.equal(inbox.on(`${failing}/error`).length, 1);
    });

    it('reaches other subscribers of the exact topic once, and never forwards the request itself', async () => {
      const device = await connect(h);
      const deviceInbox = new Inbox(device);
      const observer = await connect(h);
      const observerInbox = new Inbox(observer);
      const ep = await createEndpoint(h);
      const topic = kpTopic(ep.token, 'update/keys', id());
      await observer.subscribeAsync(`kp1/${DEMO_VERSION}/epmx/${ep.token}/#`, { qos: 1 });
      await observer.subscribeAsync(`${topic}/status`, { qos: 1 });
      await request(device, deviceInbox, topic, '{"x":1}');
      await observerInbox.next(`${topic}/status`);
      // Barrier for the observer: a later reply it also subscribes to.
      const later = kpTopic(ep.token, 'get', id());
      await request(device, deviceInbox, later, '');
      await observerInbox.next(`${later}/status`);
      assert.equal(observerInbox.on(`${topic}/status`).length, 1);
      assert.equal(observerInbox.on(topic).length, 0, 'the request was forwarded');
      assert.equal(observerInbox.on(later).length, 0, 'the request was forwarded');
      assert.equal(deviceInbox.on(`${topic}/status`).length, 1);
    });

    it('refuses subscriptions that are not below a concrete token', async () => {
      const client = await connect(h);
      // mqtt.js rejects a SUBACK with failure codes and carries the packet on the error.
      const refused = await client.subscribeAsync(['kp1/#', '#', `kp1/${DEMO_VERSION}/epmx/+/#`], { qos: 1 }).then(
        () => assert.fail('the subscriptions were granted'),
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
      );
      assert.deepEqual(refused, [128, 128, 128]);
      // Only a token the server knows for the version's application entitles a subscription.
      const ep = await createEndpoint(h);
      const ok = await client.subscribeAsync(`kp1/${DEMO_VERSION}/epmx/${ep.token}/#`, { qos: 1 });
      assert.equal(ok[0]!.qos, 1);
    });

    it('speaks MQTT 3.1 too', async () => {
      const client = await connect(h, { protocolVersion: 3, protocolId: 'MQIsdp', clientId: 'old-device' });
      const inbox = new Inbox(client);
      const ep = await createEndpoint(h, { v: 31 });
      const reply = await request(client, inbox, kpTopic(ep.token, 'get', id()), '');
      assert.deepEqual(reply.json(), { v: 31 });
    });
  });

  describe('sessions', () => {
    let ep: Awaited<ReturnType<typeof createEndpoint>>;
    beforeEach(async () => {
      ep = await createEndpoint(h);
    });
    afterEach(async () => {
      await Promise.all(h.clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    });

    const connected = async () => (await h.services.registry.getEndpoint(ep.endpointId, false)).connected;

    it('connects the endpoint on its first request and disconnects it when the client leaves', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      assert.equal(await connected(), false);
      await request(client, inbox, kpTopic(ep.token, 'get', id()), '');
      assert.equal(h.services.connectivity.sessionsOf(ep.endpointId).length, 1);
      // The request is answered without waiting for the connectivity record to commit.
      await waitFor('endpoint connected', connected);
      await client.endAsync();
      await waitFor('endpoint disconnected', async () => !(await connected()));
      assert.equal(h.services.connectivity.sessionsOf(ep.endpointId).length, 0);
    });

    it('detaches the old session on takeover and keeps the endpoint connected through the new one', async () => {
      const first = await connect(h, { clientId: 'takeover-device' });
      const firstInbox = new Inbox(first);
      await request(first, firstInbox, kpTopic(ep.token, 'get', id()), '');
      const [oldSession] = h.services.connectivity.sessionsOf(ep.endpointId);
      const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()));

      const second = await connect(h, { clientId: 'takeover-device' });
      const secondInbox = new Inbox(second);
      await within('the first session to be closed by the takeover', firstClosed);
      await request(second, secondInbox, kpTopic(ep.token, 'get', id()), '');
      await waitFor('old session detached', () => !h.services.connectivity.sessionsOf(ep.endpointId).includes(oldSession!));
      const sessions = h.services.connectivity.sessionsOf(ep.endpointId);
      assert.equal(sessions.length, 1);
      assert.notEqual(sessions[0], oldSession);
      await waitFor('endpoint connected', connected);

      await second.endAsync();
      await waitFor('endpoint disconnected', async () => !(await connected()));
    });

    for (const action of ['suspend', 'revoke'] as const) {
      it(`closes sessions that used a token when it is ${action === 'suspend' ? 'suspended' : 'revoked'}`, async () => {
        const other = await createEndpoint(h);
        const user = await connect(h);
        const userInbox = new Inbox(user);
        const bystander = await connect(h);
        const bystanderInbox = new Inbox(bystander);
        await request(user, userInbox, kpTopic(ep.token, 'get', id()), '');
        await request(bystander, bystanderInbox, kpTopic(other.token, 'get', id()), '');
        const closed = new Promise<void>((resolve) => user.once('close', () => resolve()));
        await h.services.credentials.changeTokenStatus(ep.endpointId, ep.tokenId, action);
        await within(`the server to close the session of the ${action === 'suspend' ? 'suspended' : 'revoked'} token`, closed);
        await waitFor('endpoint disconnected', async () => !(await connected()));
        const still = await request(bystander, bystanderInbox, kpTopic(other.token, 'get', id()), '');
        assert.equal(still.kind, 'status');
      });
    }

    it('closes sessions of a deleted endpoint', async () => {
      const client = await connect(h);
      const inbox = new Inbox(client);
      await request(client, inbox, kpTopic(ep.token, 'get', id()), '');
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      await h.services.registry.deleteEndpoint(ep.endpointId);
      await within('the server to close the session of the deleted endpoint', closed);
    });

    it('counts open sessions', async () => {
      const start = h.server.sessionCount();
      const a = await connect(h);
      await connect(h);
      assert.equal(h.server.sessionCount(), start + 2);
      await a.endAsync();
      await waitFor('session count to drop', () => h.server.sessionCount() === start + 1);
    });
  });
});
