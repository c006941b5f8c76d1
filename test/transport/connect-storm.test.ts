import assert from 'node:assert/strict';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { after, before, describe, it } from '../helpers/test.js';
import { waitFor, within } from '../helpers/wait.js';
import { createEndpoint, kpTopic, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const DEVICES = 300;
/** Only there so a hang fails with a message; not a performance bound. */
const STORM_DEADLINE_MS = 60_000;

interface Cycle {
  connackCode: number | undefined;
  reply: string | undefined;
  replyPayload: string | undefined;
  pubacked: boolean;
  closed: boolean;
}

function newCycle(): Cycle {
  return { connackCode: undefined, reply: undefined, replyPayload: undefined, pubacked: false, closed: false };
}

/** Where the devices that have not finished got to, for a deadline's message. */
function unfinished(cycles: Cycle[]): string {
  const stuck = cycles.map((c, i) => ({ i, ...c })).filter((c) => !c.closed);
  return `${stuck.length} unfinished: ${JSON.stringify(stuck.slice(0, 5))}`;
}

/**
 * One device's whole life, driven by the packets it receives (no polling, so 300 of them cost the
 * test little): CONNECT, then on CONNACK one `update/keys` with a request ID at QoS 1, then on its
 * reply and PUBACK a DISCONNECT. Resolves when the server has closed the socket.
 */
function deviceCycle(port: number, clientId: string, topic: string, payload: string, cycle = newCycle()): Promise<Cycle> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let disconnected = false;
    const maybeDisconnect = () => {
      if (disconnected || cycle.reply === undefined || !cycle.pubacked) return;
      disconnected = true;
      socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    };
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connack') {
        cycle.connackCode = packet.returnCode;
        if (packet.returnCode !== 0) return void socket.destroy();
        socket.write(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId: 1, retain: false, dup: false }));
      } else if (packet.cmd === 'publish') {
        cycle.reply = packet.topic;
        cycle.replyPayload = packet.payload.toString('utf8');
        if (packet.qos === 1) socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId! }));
        maybeDisconnect();
      } else if (packet.cmd === 'puback') {
        cycle.pubacked = packet.messageId === 1;
        maybeDisconnect();
      }
    });
    parser.on('error', reject);
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      cycle.closed = true;
      resolve(cycle);
    });
    // Written at once: the server reads it as soon as the socket is accepted.
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 }));
  });
}

describe('connect storm', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  // 300 endpoints to create and 300 connections to serve on a shared 2-core machine.
  it(`serves ${DEVICES} devices that connect at once, each for one request, and records each connect and disconnect once`, { timeout: 120_000 }, async () => {
    const endpoints: Array<Awaited<ReturnType<typeof createEndpoint>>> = [];
    for (let i = 0; i < DEVICES; i++) endpoints.push(await createEndpoint(h));
    const ids = new Set(endpoints.map((ep) => ep.endpointId));
    const eventsBefore = h.services.events.length;

    const progress = endpoints.map(() => newCycle());
    const cycles = await within(
      `${DEVICES} connect / update / disconnect cycles`,
      Promise.all(endpoints.map((ep, i) => deviceCycle(h.port, `storm-${i}`, kpTopic(ep.token, 'update/keys', i + 1), JSON.stringify({ storm: i }), progress[i]))),
      STORM_DEADLINE_MS,
    ).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}; ${unfinished(progress)}`);
    });

    cycles.forEach((cycle, i) => {
      assert.equal(cycle.connackCode, 0, `device ${i}: CONNACK ${cycle.connackCode}`);
      assert.equal(cycle.reply, `${kpTopic(endpoints[i]!.token, 'update/keys', i + 1)}/status`, `device ${i}: reply ${cycle.reply} ${cycle.replyPayload}`);
      assert.ok(cycle.pubacked, `device ${i}: no PUBACK`);
    });

    // Still serving: a fresh device after the storm.
    const fresh = await createEndpoint(h);
    const later = await within('a fresh device\'s cycle', deviceCycle(h.port, 'after-storm', kpTopic(fresh.token, 'update/keys', 1), '{"after":true}'));
    assert.equal(later.connackCode, 0);
    assert.equal(later.reply, `${kpTopic(fresh.token, 'update/keys', 1)}/status`);
    await waitFor('every session to end', () => h.server.sessionCount(), { until: (n) => n === 0, timeoutMs: 20_000 });

    // Every endpoint ends disconnected, with its update stored.
    const stillConnected = async () => {
      const connected: string[] = [];
      for (const ep of endpoints) if ((await h.services.registry.getEndpoint(ep.endpointId, false)).connected) connected.push(ep.endpointId);
      return connected;
    };
    await waitFor('every storm endpoint to be recorded disconnected', stillConnected, { until: (c) => c.length === 0, timeoutMs: 20_000 });
    for (const [i, ep] of endpoints.entries()) {
      assert.deepEqual(await h.services.storage.getMetadata(ep.endpointId), { storm: i });
      assert.ok((await h.services.registry.getEndpoint(ep.endpointId, false)).lastSeen, `endpoint ${i} has no lastSeen`);
    }

    // Exactly one connect and one disconnect announced per endpoint, in that order.
    const edges = () => {
      const byEndpoint = new Map<string, boolean[]>();
      for (const e of h.services.events.slice(eventsBefore)) {
        if (e.type !== 'connectivity.changed' || !ids.has(e.endpointId)) continue;
        byEndpoint.set(e.endpointId, [...(byEndpoint.get(e.endpointId) ?? []), e.connected]);
      }
      return byEndpoint;
    };
    const count = (connected: boolean) => [...edges().values()].flat().filter((c) => c === connected).length;
    await waitFor('a disconnect event for every storm endpoint', () => count(false), { until: (n) => n >= DEVICES, timeoutMs: 20_000 });
    assert.equal(count(true), DEVICES);
    assert.equal(count(false), DEVICES);
    for (const [endpointId, seen] of edges()) assert.deepEqual(seen, [true, false], `endpoint ${endpointId}`);
  });
});
