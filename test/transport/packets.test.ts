/**
 * Every packet type at both protocol levels, with raw bytes: what a well-formed packet gets, and what
 * malformed, oversize, out-of-order and duplicate packets get (the connection ends, nothing changes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../helpers/test.js';
import mqttPacket from 'mqtt-packet';
import { PacketDecoder } from '../../src/transport/framing.js';
import { encodeAck, encodePublish, PINGRESP } from '../../src/transport/packets/encode.js';
import { DEMO_VERSION, createEndpoint, kpTopic, startSecure } from '../security/harness.js';
import type { SecureHarness } from '../security/harness.js';
import { RawClient, quietFor } from './raw.js';
import { waitFor } from '../helpers/wait.js';

describe('hand-written acknowledgements match mqtt-packet', () => {
  it('PUBACK, PUBREC, PUBREL, PUBCOMP with and without reason codes, and PINGRESP', () => {
    const parse = (bytes: Buffer, version: 4 | 5) => {
      const parsed: mqttPacket.Packet[] = [];
      const parser = mqttPacket.parser({ protocolVersion: version });
      parser.on('packet', (p: mqttPacket.Packet) => parsed.push(p));
      parser.parse(bytes);
      assert.equal(parsed.length, 1);
      const packet = parsed[0] as { cmd: string; messageId?: number; reasonCode?: number };
      return { cmd: packet.cmd, messageId: packet.messageId, reasonCode: packet.reasonCode ?? 0 };
    };
    for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
      for (const id of [1, 255, 256, 4242, 65535]) {
        for (const version of [3, 4] as const) {
          const expected = mqttPacket.generate({ cmd, messageId: id } as mqttPacket.Packet, { protocolVersion: version });
          assert.deepEqual(encodeAck(cmd, id), expected, `${cmd} ${id} v${version}`);
        }
        // MQTT 5 success: the short form (§3.4.2.1) where mqtt-packet writes the reason code and an
        // empty property list; both read back as the same packet.
        const long = mqttPacket.generate({ cmd, messageId: id } as mqttPacket.Packet, { protocolVersion: 5 });
        assert.deepEqual(parse(encodeAck(cmd, id), 5), parse(long, 5), `${cmd} ${id} v5`);
        // A reason code with no properties: the property length may be left out as well (§3.4.2.2).
        const reason = cmd === 'pubrel' || cmd === 'pubcomp' ? 0x92 : 0x87;
        const withReason = mqttPacket.generate({ cmd, messageId: id, reasonCode: reason } as mqttPacket.Packet, { protocolVersion: 5 });
        assert.deepEqual(parse(encodeAck(cmd, id, reason), 5), parse(withReason, 5), `${cmd} ${id} ${reason}`);
        assert.equal(parse(encodeAck(cmd, id, reason), 5).reasonCode, reason);
      }
    }
    assert.deepEqual(PINGRESP, mqttPacket.generate({ cmd: 'pingresp' }));
  });

  it('decoding PUBLISH by hand gives what mqtt-packet gives, for well-formed and broken packets alike', () => {
    const decoder = new PacketDecoder();
    const reference = (bytes: Buffer, version: 3 | 4) => {
      const out: Array<mqttPacket.Packet | Error> = [];
      const parser = mqttPacket.parser({ protocolVersion: version });
      parser.on('packet', (p: mqttPacket.Packet) => out.push(p));
      parser.on('error', (e: Error) => out.push(e));
      parser.parse(bytes);
      return out[0];
    };
    const shape = (p: mqttPacket.Packet | Error | undefined) =>
      p instanceof Error || p === undefined ? `error` : JSON.stringify({ ...p, payload: Buffer.from((p as mqttPacket.IPublishPacket).payload as Buffer).toString('hex') });
    let seed = 20261201;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const frames: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const topic = ['kp1/v/epmx/t/update/keys/7', 'ä/€/x', 'a'.repeat(random(300) + 1)][random(3)]!;
      const qos = random(3) as 0 | 1 | 2;
      frames.push(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(random(200), random(256)), qos, dup: random(2) === 1, retain: random(2) === 1, ...(qos > 0 && { messageId: random(65535) + 1 }) } as mqttPacket.Packet));
    }
    // Broken: QoS 3, a topic length past the end, a packet ID cut off, an empty body; each followed by
    // a good one (the decoder is shared by all connections: a broken packet must leave nothing behind).
    for (const broken of [[0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01], [0x30, 0x03, 0x00, 0x09, 0x61], [0x32, 0x04, 0x00, 0x02, 0x61, 0x62], [0x30, 0x00]]) {
      frames.push(Buffer.from(broken), frames[0]!);
    }
    for (const frame of frames) {
      for (const version of [3, 4] as const) assert.equal(shape(decoder.decode(frame, version)), shape(reference(frame, version)), frame.toString('hex').slice(0, 40));
    }
  });

  it('decoding PUBACK by hand gives what mqtt-packet gives', () => {
    const decoder = new PacketDecoder();
    for (const messageId of [1, 2, 255, 256, 258, 4660, 65535]) {
      const frame = mqttPacket.generate({ cmd: 'puback', messageId } as mqttPacket.Packet);
      for (const version of [3, 4] as const) {
        const out: mqttPacket.Packet[] = [];
        const parser = mqttPacket.parser({ protocolVersion: version });
        parser.on('packet', (p: mqttPacket.Packet) => out.push(p));
        parser.parse(frame);
        assert.deepEqual({ ...(decoder.decode(frame, version) as mqttPacket.Packet) }, { ...out[0]! }, `v${version} ${frame.toString('hex')}`);
      }
    }
    // A PUBACK with a body longer than the packet ID is not taken by hand: mqtt-packet decides.
    const odd = Buffer.from([0x40, 0x03, 0x00, 0x01, 0x00]);
    assert.notEqual((decoder.decode(odd, 4) as mqttPacket.Packet).cmd, undefined);
  });

  it('a packet mqtt-packet refuses leaves nothing behind for the next packet on the shared decoder', () => {
    // mqtt-packet keeps its read position after a failure, and its next Remaining Length is read from there.
    const decoder = new PacketDecoder();
    const fresh = (bytes: Buffer, version: 4 | 5) => {
      let out: mqttPacket.Packet | Error | undefined;
      const parser = mqttPacket.parser({ protocolVersion: version });
      parser.on('packet', (p: mqttPacket.Packet) => (out ??= p));
      parser.on('error', (e: Error) => (out ??= e));
      parser.parse(bytes);
      return out;
    };
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'device-1', clean: true, keepalive: 30 } as mqttPacket.Packet);
    const wrongProtocol = Buffer.from(connect.toString('latin1').replace('MQTT', 'MQTX'), 'latin1');
    const truncatedString = Buffer.from([0x10, 0x04, 0x00, 0x04, 0x4d, 0x51]);
    for (const version of [4, 5] as const) {
      const subscribe = mqttPacket.generate({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'kp1/v/epmx/t/get/status', qos: 1 }] } as mqttPacket.Packet, { protocolVersion: version });
      for (const broken of [wrongProtocol, truncatedString]) {
        assert.ok(decoder.decode(broken, version) instanceof Error, `v${version}: ${broken.toString('hex')}`);
        assert.deepEqual(decoder.decode(subscribe, version), fresh(subscribe, version), `v${version} after ${broken.toString('hex')}`);
      }
    }
  });

  it('PUBLISH without properties, every length class of Remaining Length, QoS, DUP and UTF-8 topics', () => {
    const topics = ['a', 'kp1/demo_application_v1/epmx/tök€n/update/keys/42/status', 'x'.repeat(300)];
    const payloads = [0, 1, 100, 126, 127, 128, 16_380, 16_384, 70_000, 2_100_000].map((n) => Buffer.alloc(n, 0x61));
    for (const version of [3, 4, 5] as const) {
      for (const topic of topics) {
        for (const payload of payloads) {
          for (const qos of [0, 1, 2] as const) {
            for (const dup of [false, true]) {
              const expected = mqttPacket.generate({ cmd: 'publish', topic, payload, qos, dup, retain: false, ...(qos > 0 && { messageId: 4242 }) } as mqttPacket.Packet, { protocolVersion: version });
              assert.deepEqual(encodePublish(topic, payload, qos, 4242, dup, version), expected, `v${version} ${topic.length} ${payload.length} q${qos} dup ${dup}`);
            }
          }
        }
      }
    }
  });
});

for (const version of [4, 5] as const) {
  const v5 = version === 5;
  describe(`raw packets, MQTT ${v5 ? '5.0' : '3.1.1'}`, () => {
    let h: SecureHarness;
    before(async () => {
      h = await startSecure({ limits: { maxPacketSize: 4096, maxConnectionsPerIp: 1000 } });
    });
    after(() => h.close());

    it('CONNECT → CONNACK; MQTT 5 announces Receive Maximum, Maximum Packet Size and Topic Alias Maximum', async () => {
      const { client, connack } = await RawClient.connected(h.port, version);
      assert.equal(connack.cmd, 'connack');
      if (v5) {
        assert.equal(connack.reasonCode, 0);
        assert.equal(connack.properties?.receiveMaximum, 100);
        assert.equal(connack.properties?.maximumPacketSize, 4096);
        assert.ok((connack.properties?.topicAliasMaximum ?? 0) > 0);
        assert.equal(connack.properties?.retainAvailable, false);
      } else assert.equal(connack.returnCode, 0);
      client.close();
    });

    it('an empty client ID: assigned (MQTT 5, or 3.1.1 clean), refused for a 3.1.1 persistent session', async () => {
      const clean = await RawClient.connected(h.port, version, { clientId: '' });
      if (v5) assert.match(String(clean.connack.properties?.assignedClientIdentifier), /^tether-/);
      else assert.equal(clean.connack.returnCode, 0);
      clean.client.close();
      if (!v5) {
        // mqtt-packet will not even write this CONNECT (clean session 0, empty client ID): bytes by hand.
        const persistent = await RawClient.open(h.port, 4);
        persistent.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]));
        assert.equal((await persistent.next('connack')).returnCode, 2, 'identifier rejected');
        await persistent.waitClosed();
      }
    });

    it('PUBLISH QoS 0, 1 and 2: replies at the request QoS, PUBACK / PUBREC → PUBREL → PUBCOMP after the commit', async () => {
      const ep = await createEndpoint(h);
      const { client } = await RawClient.connected(h.port, version);
      client.send({ cmd: 'publish', topic: kpTopic(ep.token, 'update/keys', 1), payload: '{"q":0}', qos: 0, retain: false, dup: false });
      const r0 = await client.next('publish');
      assert.equal(r0.topic, `${kpTopic(ep.token, 'update/keys', 1)}/status`);
      assert.equal(r0.qos, 0);

      client.send({ cmd: 'publish', topic: kpTopic(ep.token, 'update/keys', 2), payload: '{"q":1}', qos: 1, messageId: 11, retain: false, dup: false });
      const r1 = await client.next('publish');
      assert.equal(r1.qos, 1);
      assert.equal((await client.next('puback')).messageId, 11);
      assert.equal((await h.services.registry.getMetadata(ep.endpointId, 'operator'))['q'], 1, 'stored before the PUBACK');
      client.send({ cmd: 'puback', messageId: r1.messageId! });

      client.send({ cmd: 'publish', topic: kpTopic(ep.token, 'update/keys', 3), payload: '{"q":2}', qos: 2, messageId: 12, retain: false, dup: false });
      assert.equal((await client.next('pubrec')).messageId, 12);
      assert.equal((await h.services.registry.getMetadata(ep.endpointId, 'operator'))['q'], 2, 'stored before the PUBREC');
      client.send({ cmd: 'pubrel', messageId: 12 });
      assert.equal((await client.next('pubcomp')).messageId, 12);
      const r2 = await client.next('publish');
      assert.equal(r2.qos, 2);
      client.send({ cmd: 'pubrec', messageId: r2.messageId! });
      assert.equal((await client.next('pubrel')).messageId, r2.messageId);
      client.send({ cmd: 'pubcomp', messageId: r2.messageId! });
      client.close();
    });

    it('QoS 2: a retransmission before PUBREL is not applied again; after PUBREL the ID is new', async () => {
      const ep = await createEndpoint(h);
      const { client } = await RawClient.connected(h.port, version);
      const topic = kpTopic(ep.token, 'update/keys');
      client.send({ cmd: 'publish', topic, payload: '{"n":1}', qos: 2, messageId: 7, retain: false, dup: false });
      await client.next('pubrec');
      // The same packet ID again (a retransmission with other content must not be applied either).
      client.send({ cmd: 'publish', topic, payload: '{"n":2}', qos: 2, messageId: 7, retain: false, dup: true });
      assert.equal((await client.next('pubrec')).messageId, 7);
      await quietFor(100);
      assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), { n: 1 });
      client.send({ cmd: 'pubrel', messageId: 7 });
      await client.next('pubcomp');
      client.send({ cmd: 'publish', topic, payload: '{"n":3}', qos: 2, messageId: 7, retain: false, dup: false });
      await client.next('pubrec');
      assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), { n: 3 });
      client.close();
    });

    it('SUBSCRIBE and UNSUBSCRIBE: SUBACK per filter, UNSUBACK (MQTT 5: per-filter reason codes)', async () => {
      const ep = await createEndpoint(h);
      const { client } = await RawClient.connected(h.port, version);
      const allowed = `${kpTopic(ep.token, 'update/keys')}/#`;
      client.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: allowed, qos: 1 }, { topic: '#', qos: 1 }, { topic: `kp1/${DEMO_VERSION}/epmx/unknown-token/#`, qos: 0 }] });
      const suback = await client.next('suback');
      assert.equal(suback.messageId, 3);
      assert.deepEqual(suback.granted, v5 ? [1, 0x8f, 0x87] : [1, 0x80, 0x80]);
      client.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: [allowed, 'never/subscribed'] });
      const unsuback = await client.next('unsuback');
      assert.equal(unsuback.messageId, 4);
      if (v5) assert.deepEqual(unsuback.granted, [0x00, 0x11]);
      client.close();
    });

    it('a SUBSCRIBE or UNSUBSCRIBE without a topic filter is a protocol error that ends the connection [MQTT-3.8.3-3, 3.10.3-2]', async () => {
      // mqtt-packet parses these and will not write them: bytes by hand (packet ID, MQTT 5: empty properties).
      const tail = v5 ? [0x00] : [];
      for (const [type, id] of [[0x82, 5], [0xa2, 6]] as const) {
        const { client } = await RawClient.connected(h.port, version);
        client.write(Buffer.from([type, 2 + tail.length, 0x00, id, ...tail]));
        await client.waitClosed();
        assert.equal(client.all('suback').length + client.all('unsuback').length, 0, 'no acknowledgement of an empty list');
        if (v5) assert.equal(client.all('disconnect')[0]?.reasonCode, 0x82);
      }
      // The server is still serving.
      const after = await RawClient.connected(h.port, version);
      after.client.send({ cmd: 'pingreq' });
      await after.client.next('pingresp');
      after.client.close();
    });

    it('PINGREQ → PINGRESP; DISCONNECT closes the connection', async () => {
      const { client } = await RawClient.connected(h.port, version);
      client.send({ cmd: 'pingreq' });
      await client.next('pingresp');
      client.send({ cmd: 'disconnect' });
      await client.waitClosed();
    });

    it('a packet before CONNECT, a second CONNECT, or a packet only servers send ends the connection', async () => {
      const early = await RawClient.open(h.port, version);
      early.send({ cmd: 'pingreq' });
      await early.waitClosed();
      assert.equal(early.all('connack').length, 0);

      const twice = await RawClient.connected(h.port, version);
      twice.client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId: 'again', keepalive: 0 });
      await twice.client.waitClosed();
      if (v5) assert.equal(twice.client.all('disconnect')[0]?.reasonCode, 0x82);

      const wrong = await RawClient.connected(h.port, version);
      wrong.client.send({ cmd: 'suback', messageId: 1, granted: [0] });
      await wrong.client.waitClosed();
    });

    it('malformed and oversize packets end the connection before they are buffered; nothing changes', async () => {
      const ep = await createEndpoint(h, { kept: true });
      const big = await RawClient.connected(h.port, version);
      const header = mqttPacket
        .generate({ cmd: 'publish', topic: kpTopic(ep.token, 'update'), payload: Buffer.alloc(1024 * 1024), qos: 0, retain: false, dup: false }, { protocolVersion: version })
        .subarray(0, 64);
      big.client.write(header);
      await big.client.waitClosed();
      if (v5) assert.equal(big.client.all('disconnect')[0]?.reasonCode, 0x95);

      for (const junk of [Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), Buffer.from([0x82, 0x00]), Buffer.alloc(32, 0xff)]) {
        const raw = await RawClient.connected(h.port, version);
        raw.client.write(junk);
        await raw.client.waitClosed();
      }
      // A CONNECT naming an unknown protocol level.
      const unknown = await RawClient.open(h.port, version);
      unknown.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x09, 0x02, 0x00, 0x3c, 0x00, 0x00]));
      await unknown.waitClosed();
      assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), { kept: true });
      await waitFor(`every refused connection released (${h.server.sessionCount()} open)`, () => h.server.sessionCount() === 0);
    });
  });
}
