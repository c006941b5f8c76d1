import assert from 'node:assert/strict';
import { after, before, describe, it } from '../helpers/test.js';
import type { MqttClient } from 'mqtt';
import { Inbox, OTHER_VERSION, RawConnection, connect, createEndpoint, kpTopic, mqttPacket, request, snapshot, startSecure } from './harness.js';
import type { SecureHarness } from './harness.js';
import { waitFor } from '../helpers/wait.js';

type ErrorBody = { statusCode: number; reasonPhrase: string };

/**
 * The done-when: one scripted attacker tries wildcard subscriptions, another endpoint's
 * token, suspended and revoked tokens, oversized and malformed packets and a flood, while a
 * well-behaved device keeps asking for its metadata. The attack changes nothing it must not, and
 * the device gets a /status reply after every step and after the attack.
 */
describe('scripted attack session', () => {
  let h: SecureHarness;
  before(async () => {
    h = await startSecure({ limits: { maxPacketSize: 8192, publishBurst: 20, publishRate: 0.001, maxConnectionsPerIp: 50 } });
  });
  after(() => h.close());

  it('changes nothing it must not and leaves the server serving other devices', async () => {
    const device = await createEndpoint(h, { name: 'honest' });
    const neighbour = await createEndpoint(h, { name: 'neighbour', pin: '0000' });
    const suspended = await createEndpoint(h, { name: 'suspended' });
    await h.services.credentials.changeTokenStatus(suspended.endpointId, suspended.tokenId, 'suspend');
    const revoked = await createEndpoint(h, { name: 'revoked' });
    await h.services.credentials.changeTokenStatus(revoked.endpointId, revoked.tokenId, 'revoke');
    const foreign = await createEndpoint(h, { name: 'foreign' }, OTHER_VERSION);
    const own = await createEndpoint(h);

    // No keepalive: the flood below moves the hand-driven clock by days to refill the rate bucket.
    const honest = await connect(h, { clientId: 'honest-device', keepalive: 0 });
    const honestInbox = new Inbox(honest);
    let nextId = 1;
    const replies: string[] = [];
    const honestRequest = async (step: string) => {
      const reply = await request(honest, honestInbox, kpTopic(device.token, 'get', nextId++), '');
      replies.push(`${step}:${reply.kind}`);
      assert.deepEqual(reply.json(), { name: 'honest' }, step);
    };
    await honestRequest('before');
    // The first request activates the token in the background; the snapshot must not race that write.
    await waitFor('token activation', async () => (await h.services.credentials.listTokens(device.endpointId)).every((t) => t.status === 'ACTIVE'));
    const before = await snapshot(h);

    const attacker: MqttClient = await connect(h, { clientId: 'attacker' });
    const loot = new Inbox(attacker);

    // 1. Wildcard subscriptions and subscriptions under tokens it does not hold.
    const filters = ['#', 'kp1/#', `kp1/+/epmx/${neighbour.token}/#`, `kp1/demo_application_v1/epmx/+/#`, `kp1/demo_application_v1/epmx/${suspended.token}/#`, `kp1/demo_application_v1/epmx/${revoked.token}/#`, `kp1/demo_application_v1/epmx/${foreign.token}/#`];
    const granted = await attacker.subscribeAsync(filters, { qos: 1 }).then(
      () => assert.fail('granted'),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
    );
    assert.deepEqual(granted, filters.map(() => 128));
    await honestRequest('after wildcard subscriptions');

    // 2. Writes with another application's token, a suspended and a revoked one.
    const tries: Array<[string, number]> = [
      [kpTopic(foreign.token, 'update', 1), 401],
      [kpTopic(suspended.token, 'update', 2), 403],
      [kpTopic(revoked.token, 'update', 3), 403],
      [kpTopic(neighbour.token, 'update', 4, OTHER_VERSION), 401],
    ];
    for (const [topic, status] of tries) {
      const reply = await request(attacker, loot, topic, '{"owned":true}');
      assert.equal((reply.json() as ErrorBody).statusCode, status, topic);
    }
    await honestRequest('after foreign tokens');

    // 3. Oversized and malformed packets, each on its own connection.
    const big = await RawConnection.connected(h.port, 'attacker-big');
    big.write(mqttPacket.generate({ cmd: 'publish', topic: kpTopic(neighbour.token, 'update'), payload: Buffer.alloc(64 * 1024, 0x41), qos: 1, messageId: 1, retain: false, dup: false }));
    await big.closed;
    for (const junk of [Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), Buffer.from([0x82, 0x00]), Buffer.alloc(32, 0xff)]) {
      const raw = await RawConnection.open(h.port);
      raw.write(junk);
      await raw.closed;
    }
    await honestRequest('after malformed packets');

    // 4. A flood from one connection: far more than its burst, QoS 0 and QoS 1. It is read no faster
    //    than its rate allows (the clock here moves only by hand): nothing dropped, nothing refused.
    const flooder = await connect(h, { clientId: 'flooder', keepalive: 0 });
    const floodInbox = new Inbox(flooder);
    for (let i = 0; i < 300; i++) flooder.publish(kpTopic(own.token, 'update/keys', 1000 + i), JSON.stringify({ n: i }), { qos: (i % 2) as 0 | 1 });
    await honestRequest('during the flood');
    const lastReply = request(flooder, floodInbox, kpTopic(own.token, 'update/keys', 5000), '{"n":"last"}');
    let answered = false;
    void lastReply.then(() => (answered = true), () => (answered = true));
    for (let refills = 0; refills < 60 && !answered; refills++) {
      h.clock.advance(1e12);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    assert.equal((await lastReply).kind, 'status');
    assert.equal(floodInbox.messages.filter((m) => m.topic.endsWith('/error')).length, 0, 'nothing of the flood was refused');
    assert.equal((await h.services.registry.getMetadata(own.endpointId, 'operator'))['n'], 'last');
    assert.equal(h.logs.filter((r) => r.level === 'warn' && r.fields['clientId'] === 'flooder').length, 0, 'pushing back logs nothing');
    await honestRequest('after the flood');

    // Nothing it touched changed: only its own endpoint (the flood).
    const afterAttack = await snapshot(h);
    const withoutOwn = (s: typeof before) => ({
      endpoints: s.endpoints.filter((e) => e.endpointId !== own.endpointId),
      metadata: Object.fromEntries(Object.entries(s.metadata).filter(([id]) => id !== own.endpointId)),
      tokens: s.tokens.filter((t) => t.endpointId !== own.endpointId),
    });
    assert.deepEqual(withoutOwn(afterAttack), withoutOwn(before));
    // And it saw nothing of anyone else: only /error replies to its own requests.
    for (const m of [...loot.messages, ...floodInbox.messages]) {
      assert.ok(m.topic.endsWith('/error') || m.topic.split('/')[3] === own.token, m.topic);
      assert.ok(!m.topic.includes(device.token), m.topic);
      assert.doesNotMatch(m.payload.toString(), /honest|neighbour|0000/);
    }
    await waitFor('honest device still connected', () => !honest.disconnected);
    assert.deepEqual(replies.map((r) => r.split(':')[1]), replies.map(() => 'status'));
  });
});
