/**
 * Fair service under hostile load: flooding connections do not starve a well-behaved device, are
 * disconnected once they have sent too many refused requests, and cost the log a bounded number of
 * lines. Bounded in time and in count (no timing assertions beyond generous deadlines).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from '../helpers/test.js';
import mqttPacket from 'mqtt-packet';
import { Inbox, connect, createEndpoint, kpTopic, request, startSecure } from '../security/harness.js';
import type { SecureHarness } from '../security/harness.js';

const FLOODERS = 3;
const PUBLISHES_PER_WRITE = 2000;

/** A connection that writes QoS 0 publishes to unknown tokens as fast as the socket takes them, never reading. */
function flood(port: number, id: number, stop: () => boolean): Promise<{ writes: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let writes = 0;
    socket.on('error', () => {});
    // Never reads what the server answers: its /error replies pile up unread, like an attacker's.
    socket.pause();
    const chunk = Buffer.concat(
      Array.from({ length: PUBLISHES_PER_WRITE }, (_, i) =>
        mqttPacket.generate({ cmd: 'publish', topic: kpTopic(`flood-${id}-${i}`, 'update/keys', 1), payload: '{"x":1}', qos: 0, retain: false, dup: false }),
      ),
    );
    const pump = () => {
      while (!stop() && !socket.destroyed && socket.write(chunk)) writes++;
      if (stop() || socket.destroyed) socket.destroy();
    };
    socket.on('connect', () => {
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `flooder-${id}`, keepalive: 0 }));
      pump();
    });
    socket.on('drain', pump);
    // A flooder Tether stopped reading never drains: it gives up when the test says so.
    const watch = setInterval(() => stop() && socket.destroy(), 20);
    socket.on('close', () => {
      clearInterval(watch);
      resolve({ writes });
    });
  });
}

describe('fair service under a flood', () => {
  let h: SecureHarness;
  before(async () => {
    h = await startSecure({ limits: { maxConnectionsPerIp: 1000, maxRefusals: 200, refusalWindowMs: 10_000 } });
  });
  after(() => h.close());

  // Longer than the 30 s default: three flooders saturate a shared machine's cores on purpose.
  it('answers a well-behaved device while flooders are pushed back, then disconnected after maxRefusals', { timeout: 90_000 }, async () => {
    const ep = await createEndpoint(h);
    const device = await connect(h, { clientId: 'honest', keepalive: 0 });
    const inbox = new Inbox(device);
    let stopped = false;
    const logsBefore = h.logs.length;
    const flooders = Array.from({ length: FLOODERS }, (_, i) => flood(h.port, i, () => stopped));
    try {
      // 30 requests, one after the other, each answered while the flood goes on.
      for (let i = 1; i <= 30; i++) {
        const reply = await request(device, inbox, kpTopic(ep.token, 'update/keys', i), JSON.stringify({ n: i }));
        assert.equal(reply.kind, 'status', `request ${i}`);
      }
    } finally {
      stopped = true;
    }
    await Promise.all(flooders);
    assert.deepEqual(await h.services.registry.getMetadata(ep.endpointId, 'operator'), { n: 30 });
    const closedForRefusals = h.logs.slice(logsBefore).filter((r) => String(r.msg).includes('too many refused requests'));
    assert.ok(closedForRefusals.length >= 1, 'flooders were disconnected for their refusals');
    // However many publishes the flood carried, the log stays small.
    const lines = h.logs.length - logsBefore;
    assert.ok(lines <= 4 * FLOODERS + 10, `${lines} log lines for the flood`);
    assert.ok(!device.disconnected);
  });
});
