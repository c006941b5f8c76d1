import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from '../helpers/test.js';
import mqttPacket from 'mqtt-packet';
import { createEndpoint, kpTopic, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { createTestClock } from '../helpers/clock.js';
import { waitFor, within } from '../helpers/wait.js';

/**
 * The Kaa tutorial's paho client sends CONNECT, PUBLISH and DISCONNECT back to back and closes the
 * socket without waiting for CONNACK. These tests do the same with raw bytes.
 */
describe('pipelined CONNECT / PUBLISH / DISCONNECT', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  function packets(clientId: string, topic: string, payload: string, qos: 0 | 1): Buffer[] {
    return [
      mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 }),
      mqttPacket.generate({
        cmd: 'publish',
        topic,
        payload: Buffer.from(payload),
        qos,
        retain: false,
        dup: false,
        ...(qos > 0 ? { messageId: 1 } : {}),
      }),
      mqttPacket.generate({ cmd: 'disconnect' }),
    ];
  }

  /** Opens a socket, sends the chunks as told, then closes its side. Resolves when the socket is closed. */
  function send(chunks: Buffer[], mode: 'one-write' | 'separate-writes'): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const received: Buffer[] = [];
      const socket = net.connect(h.port, '127.0.0.1', () => {
        if (mode === 'one-write') socket.end(Buffer.concat(chunks));
        else {
          for (const chunk of chunks) socket.write(chunk);
          socket.end();
        }
      });
      socket.on('data', (d: Buffer) => received.push(d));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(received)));
    });
  }

  const connectivityEvents = (endpointId: string) =>
    h.services.events.filter((e) => e.type === 'connectivity.changed' && e.endpointId === endpointId).map((e) => (e.type === 'connectivity.changed' ? e.connected : null));

  for (const qos of [0, 1] as const) {
    for (const mode of ['one-write', 'separate-writes'] as const) {
      it(`stores the metadata at QoS ${qos} (${mode}), then disconnects the endpoint`, async () => {
        const ep = await createEndpoint(h);
        const payload = JSON.stringify({ model: 'MySmartMeter A300', mac: '00-14-22-01-23-45', qos, mode });
        await send(packets(`paho-${qos}-${mode}`, kpTopic(ep.token, 'update/keys'), payload, qos), mode);
        await waitFor('metadata stored', async () => Object.keys(await h.services.registry.getMetadata(ep.endpointId, 'operator')).length > 0);
        assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), JSON.parse(payload));
        // Connected by the request, then disconnected by the session's end, in that order.
        await waitFor('connect and disconnect events', () => connectivityEvents(ep.endpointId).length === 2);
        assert.deepEqual(connectivityEvents(ep.endpointId), [true, false]);
        const endpoint = await h.services.registry.getEndpoint(ep.endpointId, false);
        assert.equal(endpoint.connected, false);
        assert.ok(endpoint.lastSeen);
      });
    }
  }

  it('processes a request with an ID and an error without waiting for CONNACK', async () => {
    const ep = await createEndpoint(h, { a: 1 });
    const ok = kpTopic(ep.token, 'update/keys', 5);
    const bad = kpTopic('unknown-token', 'update/keys', 6);
    const chunks = packets('pipelined-ids', ok, '{"b":2}', 1);
    chunks.splice(2, 0, mqttPacket.generate({ cmd: 'publish', topic: bad, payload: Buffer.from('{"b":2}'), qos: 0, retain: false, dup: false }));
    await send(chunks, 'one-write');
    await waitFor('metadata stored', async () => (await h.services.registry.getMetadata(ep.endpointId, 'operator'))['b'] === 2);
  });

  it('drops a connection that closes without sending anything', async () => {
    await waitFor('no sessions', () => h.server.sessionCount() === 0);
    const socket = net.connect(h.port, '127.0.0.1');
    await within('the socket to connect', new Promise<void>((resolve) => socket.once('connect', () => resolve())));
    await waitFor('the session to open', () => h.server.sessionCount() === 1);
    socket.end();
    await waitFor('the session to close', () => h.server.sessionCount() === 0);
  });

  it('answers a pipelined client that stays to read its replies', async () => {
    const ep = await createEndpoint(h, { a: 1 });
    const topic = kpTopic(ep.token, 'get', 9);
    const chunks = packets('pipelined-reader', topic, '', 1).slice(0, 2);
    const socket = net.connect(h.port, '127.0.0.1', () => socket.write(Buffer.concat(chunks)));
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const seen: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => seen.push(p));
    socket.on('data', (d: Buffer) => parser.parse(d));
    await waitFor('reply and PUBACK', () => seen.some((p) => p.cmd === 'publish') && seen.some((p) => p.cmd === 'puback'));
    const reply = seen.find((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish')!;
    assert.equal(reply.topic, `${topic}/status`);
    assert.deepEqual(JSON.parse(reply.payload.toString()), { a: 1 });
    assert.equal(seen[0]!.cmd, 'connack');
    socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    await within('the server to close the socket', new Promise<void>((resolve) => socket.once('close', () => resolve())));
  });

  it('processes a retransmitted QoS 2 request (DUP) once', async () => {
    const ep = await createEndpoint(h);
    const topic = kpTopic(ep.token, 'update/keys', 11);
    const publish = (dup: boolean) =>
      mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from('{"n":1}'), qos: 2, messageId: 7, retain: false, dup });
    const socket = net.connect(h.port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const seen: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => seen.push(p));
    socket.on('data', (d: Buffer) => parser.parse(d));
    await within('the socket to connect', new Promise<void>((resolve) => socket.once('connect', () => resolve())));
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'qos2-dup', keepalive: 60 }));
    socket.write(publish(false));
    await waitFor('PUBREC', () => seen.some((p) => p.cmd === 'pubrec'));
    socket.write(publish(true));
    await waitFor('second PUBREC', () => seen.filter((p) => p.cmd === 'pubrec').length === 2);
    socket.write(mqttPacket.generate({ cmd: 'pubrel', messageId: 7 }));
    await waitFor('PUBCOMP', () => seen.some((p) => p.cmd === 'pubcomp'));
    // A later request's reply is the barrier: a second reply to the first would have come before it.
    const later = kpTopic(ep.token, 'get', 12);
    socket.write(mqttPacket.generate({ cmd: 'publish', topic: later, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }));
    const replies = () => seen.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
    await waitFor('barrier reply', () => replies().some((p) => p.topic === `${later}/status`));
    assert.equal(replies().filter((p) => p.topic === `${topic}/status`).length, 1);
    socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    await within('the server to close the socket', new Promise<void>((resolve) => socket.once('close', () => resolve())));
  });

  it('detaches the session of a client whose keepalive expires', async () => {
    // Its own server on a test clock: the keepalive expires when the test moves the clock, not after real seconds.
    const clock = createTestClock();
    const k = await startHarness({ clock });
    try {
      const ep = await createEndpoint(k);
      const socket = net.connect(k.port, '127.0.0.1');
      socket.on('data', () => {});
      await within('the socket to connect', new Promise<void>((resolve) => socket.once('connect', () => resolve())));
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'silent', keepalive: 1 }));
      socket.write(mqttPacket.generate({ cmd: 'publish', topic: kpTopic(ep.token, 'get'), payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }));
      await waitFor('endpoint connected', async () => (await k.services.registry.getEndpoint(ep.endpointId, false)).connected);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      // [MQTT-3.1.2-24] keepalive 1 s: the server gives up after 1.5 s without a packet.
      clock.advance(1_600);
      k.server.sweep();
      await within('the server to close the silent socket', closed);
      await waitFor('endpoint disconnected', async () => !(await k.services.registry.getEndpoint(ep.endpointId, false)).connected);
    } finally {
      await k.close();
    }
  });

  it('survives garbage bytes and keeps serving', async () => {
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.from([0x30, 0x02, 0x00]), Buffer.alloc(64, 0xff)]) {
      const socket = net.connect(h.port, '127.0.0.1', () => socket.end(junk));
      socket.on('error', () => {});
      socket.on('data', () => {});
      await within('the server to close the socket', new Promise<void>((resolve) => socket.once('close', () => resolve())));
    }
    await waitFor('junk connections closed', () => h.server.sessionCount() === 0, 5000);
    const ep = await createEndpoint(h);
    await send(packets('after-junk', kpTopic(ep.token, 'update/keys'), '{"ok":true}', 1), 'one-write');
    await waitFor('metadata stored', async () => (await h.services.registry.getMetadata(ep.endpointId, 'operator'))['ok'] === true);
  });
});
