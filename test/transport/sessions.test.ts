/**
 * The session layer: takeover, keepalive (with the injected clock), persistent sessions and their
 * retransmissions, and the MQTT 5 properties devices rely on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import { DEMO_VERSION, createEndpoint, kpTopic, startSecure } from '../security/harness.js';
import type { SecureHarness } from '../security/harness.js';
import { RawClient, quietFor } from './raw.js';
import { waitFor } from '../helpers/wait.js';

describe('sessions', () => {
  let h: SecureHarness;
  before(async () => {
    h = await startSecure({ limits: { maxConnectionsPerIp: 1000, maxInflight: 20 } });
  });
  after(() => h.close());

  for (const version of [4, 5] as const) {
    it(`takeover (MQTT ${version === 5 ? '5.0' : '3.1.1'}): the old connection's requests in flight are stored, it ends, the new one serves`, async () => {
      const ep = await createEndpoint(h);
      const clientId = `takeover-${version}`;
      const { client: old } = await RawClient.connected(h.port, version, { clientId });
      for (let i = 1; i <= 30; i++) old.send({ cmd: 'publish', topic: kpTopic(ep.token, 'update/keys'), payload: JSON.stringify({ n: i }), qos: 1, messageId: i, retain: false, dup: false });
      const { client: fresh, connack } = await RawClient.connected(h.port, version, { clientId });
      assert.equal(version === 5 ? connack.reasonCode : connack.returnCode, 0);
      await old.waitClosed();
      if (version === 5) {
        const disconnect = old.all('disconnect')[0];
        assert.equal(disconnect?.reasonCode, 0x8e);
        assert.match(String(disconnect?.properties?.reasonString), /same client ID/);
      }
      // Every PUBACK the old connection got means stored; the last one it got is what is stored at least.
      const acked = old.all('puback').map((p) => p.messageId ?? 0);
      const stored = (await h.services.registry.getMetadata(ep.endpointId, 'operator'))['n'] as number;
      assert.ok(stored >= Math.max(0, ...acked), `stored ${stored}, acknowledged up to ${Math.max(0, ...acked)}`);
      fresh.send({ cmd: 'publish', topic: kpTopic(ep.token, 'get', 1), payload: '', qos: 1, messageId: 1, retain: false, dup: false });
      const reply = await fresh.next('publish');
      assert.equal(reply.topic, `${kpTopic(ep.token, 'get', 1)}/status`);
      // Connectivity stays right: the endpoint is connected through the new session.
      await waitFor('endpoint connected', async () => (await h.services.registry.getEndpoint(ep.endpointId, false)).connected === true);
      fresh.close();
      await waitFor('endpoint disconnected', async () => (await h.services.registry.getEndpoint(ep.endpointId, false)).connected === false);
    });
  }

  it('keepalive: nothing for 1.5 periods ends the connection (injected clock; MQTT 5 says 0x8D), activity resets it', async () => {
    const { client: idle } = await RawClient.connected(h.port, 5, { keepalive: 10 });
    const { client: pinging } = await RawClient.connected(h.port, 4, { keepalive: 10 });
    h.clock.advance(14_000);
    h.server.sweep();
    pinging.send({ cmd: 'pingreq' });
    await pinging.next('pingresp');
    await quietFor(50);
    assert.equal(idle.isClosed(), false, 'within 1.5 keepalive periods');
    h.clock.advance(2_000);
    h.server.sweep();
    await idle.waitClosed();
    assert.equal(idle.all('disconnect')[0]?.reasonCode, 0x8d);
    assert.equal(pinging.isClosed(), false, 'its PINGREQ counted as activity');
    h.clock.advance(16_000);
    h.server.sweep();
    await pinging.waitClosed();
  });

  it('persistent session (3.1.1 clean session 0): subscriptions and unacknowledged QoS 1 replies survive a reconnect and are sent again', async () => {
    const ep = await createEndpoint(h);
    const clientId = 'persistent-311';
    const replies = `${kpTopic(ep.token, 'get')}/#`;
    const first = await RawClient.connected(h.port, 4, { clientId, clean: false });
    assert.equal(first.connack.sessionPresent, false);
    first.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: replies, qos: 1 }] });
    assert.deepEqual((await first.client.next('suback')).granted, [1]);
    first.client.send({ cmd: 'publish', topic: kpTopic(ep.token, 'get', 1), payload: '', qos: 1, messageId: 2, retain: false, dup: false });
    const original = await first.client.next('publish');
    assert.equal(original.qos, 1);
    // Gone without acknowledging the reply.
    first.client.close();
    await quietFor(50);

    // Meanwhile another connection asks the same endpoint: the away session's subscription keeps that reply too.
    const other = await RawClient.connected(h.port, 4);
    other.client.send({ cmd: 'publish', topic: kpTopic(ep.token, 'get', 2), payload: '', qos: 1, messageId: 1, retain: false, dup: false });
    await other.client.next('puback');
    other.client.close();

    const second = await RawClient.connected(h.port, 4, { clientId, clean: false });
    assert.equal(second.connack.sessionPresent, true);
    const resent = await second.client.next('publish');
    assert.equal(resent.topic, original.topic);
    assert.equal(resent.dup, true);
    assert.equal(resent.messageId, original.messageId);
    const queued = await second.client.next('publish');
    assert.equal(queued.topic, `${kpTopic(ep.token, 'get', 2)}/status`);
    second.client.send({ cmd: 'puback', messageId: resent.messageId! });
    second.client.send({ cmd: 'puback', messageId: queued.messageId! });
    // The subscription is still there: a new request's reply comes through it (at its QoS 1).
    second.client.send({ cmd: 'publish', topic: kpTopic(ep.token, 'get', 3), payload: '', qos: 1, messageId: 9, retain: false, dup: false });
    const third = await second.client.next('publish');
    assert.equal(third.topic, `${kpTopic(ep.token, 'get', 3)}/status`);
    second.client.close();

    // A clean session discards it all.
    const clean = await RawClient.connected(h.port, 4, { clientId, clean: true });
    assert.equal(clean.connack.sessionPresent, false);
    await quietFor(100);
    assert.equal(clean.client.all('publish').length, 0);
    clean.client.close();
  });

  it('MQTT 5 session expiry: a session with expiry 0 is not kept; one with an expiry is, and says so', async () => {
    const gone = await RawClient.connected(h.port, 5, { clientId: 'expiry-0', clean: false, properties: { sessionExpiryInterval: 0 } });
    gone.client.close();
    await quietFor(50);
    assert.equal((await RawClient.connected(h.port, 5, { clientId: 'expiry-0', clean: false })).connack.sessionPresent, false);
    const kept = await RawClient.connected(h.port, 5, { clientId: 'expiry-60', clean: true, properties: { sessionExpiryInterval: 60 } });
    kept.client.close();
    await quietFor(50);
    const back = await RawClient.connected(h.port, 5, { clientId: 'expiry-60', clean: false, properties: { sessionExpiryInterval: 60 } });
    assert.equal(back.connack.sessionPresent, true);
    back.client.close();
    // Past its expiry the sweep discards it.
    await quietFor(50);
    h.clock.advance(61_000);
    for (let i = 0; i < 10; i++) h.server.sweep();
    assert.equal((await RawClient.connected(h.port, 5, { clientId: 'expiry-60', clean: false, properties: { sessionExpiryInterval: 60 } })).connack.sessionPresent, false);
  });

  it('MQTT 5: correlation data and user properties come back on the reply; PUBACK reason codes say what was refused', async () => {
    const ep = await createEndpoint(h);
    const { client } = await RawClient.connected(h.port, 5);
    const correlationData = Buffer.from('req-42');
    client.send({
      cmd: 'publish',
      topic: kpTopic(ep.token, 'update/keys', 1),
      payload: '{"a":1}',
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
      properties: { correlationData, userProperties: { trace: 'abc' } },
    });
    const reply = await client.next('publish');
    assert.equal(reply.topic, `${kpTopic(ep.token, 'update/keys', 1)}/status`);
    assert.deepEqual(reply.properties?.correlationData, correlationData);
    assert.deepEqual({ ...reply.properties?.userProperties }, { trace: 'abc' });
    assert.equal((await client.next('puback')).reasonCode ?? 0, 0);

    const cases: Array<[string, string, number]> = [
      [kpTopic('no-such-token', 'update/keys', 2), '{"a":1}', 0x87],
      [kpTopic(ep.token, 'update/keys', 3), 'not json', 0x99],
      ['not/a/kp/topic', '{}', 0x90],
      [kpTopic(ep.token, 'update/keys', 4, DEMO_VERSION, 'cmx'), '{}', 0x90],
    ];
    for (const [i, [topic, payload, reason]] of cases.entries()) {
      client.send({ cmd: 'publish', topic, payload, qos: 1, messageId: 10 + i, retain: false, dup: false });
      const puback = await client.next('puback');
      assert.equal(puback.messageId, 10 + i);
      assert.equal(puback.reasonCode, reason, topic);
    }
    client.close();
  });

  it('MQTT 5 Receive Maximum: Tether sends no more unacknowledged QoS 1 replies than the device allows', async () => {
    const ep = await createEndpoint(h);
    const { client } = await RawClient.connected(h.port, 5, { properties: { receiveMaximum: 1 } });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${kpTopic(ep.token, 'get')}/#`, qos: 1 }] });
    await client.next('suback');
    for (let i = 1; i <= 3; i++) client.send({ cmd: 'publish', topic: kpTopic(ep.token, 'get', i), payload: '', qos: 1, messageId: i, retain: false, dup: false });
    await waitFor('three PUBACKs', () => client.all('puback').length === 3);
    await quietFor(100);
    assert.equal(client.all('publish').length, 1, 'one reply in flight at a time');
    for (let i = 1; i <= 3; i++) {
      const reply = await client.next('publish');
      assert.equal(reply.topic, `${kpTopic(ep.token, 'get', i)}/status`);
      client.send({ cmd: 'puback', messageId: reply.messageId! });
    }
    client.close();
  });

  it('MQTT 5 inbound topic alias: set once, then used with an empty topic; an unknown alias ends the connection', async () => {
    const ep = await createEndpoint(h);
    const { client } = await RawClient.connected(h.port, 5);
    client.send({ cmd: 'publish', topic: kpTopic(ep.token, 'update/keys'), payload: '{"x":1}', qos: 1, messageId: 1, retain: false, dup: false, properties: { topicAlias: 3 } });
    await client.next('puback');
    client.send({ cmd: 'publish', topic: '', payload: '{"x":2}', qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 3 } });
    await client.next('puback');
    assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), { x: 2 });
    client.send({ cmd: 'publish', topic: '', payload: '{"x":3}', qos: 1, messageId: 3, retain: false, dup: false, properties: { topicAlias: 4 } });
    await client.waitClosed();
    assert.equal(client.all('disconnect')[0]?.reasonCode, 0x82);
  });

  it('MQTT 5: a revoked token ends the session with DISCONNECT 0x98 and the reason', async () => {
    const ep = await createEndpoint(h);
    const device = await connectAsync(`mqtt://127.0.0.1:${h.port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    h.clients.push(device);
    await device.publishAsync(kpTopic(ep.token, 'update/keys'), '{"a":1}', { qos: 1 });
    const disconnect = new Promise<{ reasonCode?: number; properties?: { reasonString?: string } }>((resolve) => device.once('disconnect', resolve));
    await h.services.credentials.changeTokenStatus(ep.endpointId, ep.tokenId, 'revoke');
    const packet = await disconnect;
    assert.equal(packet.reasonCode, 0x98);
    assert.equal(packet.properties?.reasonString, 'token revoked');
  });
});
