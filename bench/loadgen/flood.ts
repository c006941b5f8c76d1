/**
 * Hostile load: well-behaved devices send 1/KP updates with request IDs at a fixed total rate while
 * anonymous connections flood QoS 0 publishes to unknown tokens (reconnecting whenever they are
 * dropped), and a new device connects every second. Measures what the well-behaved devices and the
 * newcomers still get.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { DISCONNECT, encodeConnect, encodePublish, encodePuback } from '../mqtt-codec.js';
import { Samples } from '../stats.js';
import { Device, pool } from './device.js';
import { sleep } from './publish.js';
import { cpuShare, type Command, type FloodResult } from './protocol.js';

type FloodCommand = Extract<Command, { kind: 'flood' }>;

/** Publishes per flood write: large writes, as an attacker would send. */
const PUBLISHES_PER_WRITE = 500;

export async function runFlood(cmd: FloodCommand, tag: string): Promise<FloodResult> {
  const devices = await pool(cmd.tokens, 20, (_, i) => Device.connect(cmd.target, `${tag}ok${i}`, 600));
  const replies = new Samples();
  const sentAt = new Map<string, number>();
  let sent = 0;
  let answered = 0;
  let refused = 0;
  let measuring = false;
  devices.forEach((device, i) => {
    device.onPacket = (packet) => {
      if (packet.type !== 3) return;
      const pub = packet as { qos: number; packetId: number; topic: string };
      if (pub.qos > 0) device.write(encodePuback(pub.packetId));
      const request = pub.topic.slice(0, pub.topic.lastIndexOf('/'));
      const t = sentAt.get(request);
      if (t === undefined) return;
      sentAt.delete(request);
      if (pub.topic.endsWith('/error')) refused++;
      if (!measuring) return;
      answered++;
      replies.add(performance.now() - t);
    };
    void i;
  });

  let seq = 0;
  const send = (device: Device, token: string) => {
    const topic = `${cmd.prefix}/${token}/update/keys/${++seq}`;
    sentAt.set(topic, performance.now());
    if (measuring) sent++;
    device.write(encodePublish(Buffer.from(topic), `{"temperature":${20 + (seq % 10) / 2},"seq":${seq}}`, 1, (seq % 60000) + 1));
  };
  const start = performance.now();
  let due = 0;
  let rr = 0;
  const pacer = setInterval(() => {
    const target = Math.floor(((performance.now() - start) * cmd.rate) / 1000);
    for (; due < target; due++) {
      send(devices[rr]!, cmd.tokens[rr]!);
      rr = (rr + 1) % devices.length;
    }
  }, 5);

  let flooding = true;
  let floodConnections = 0;
  let floodBytes = 0;
  const flooders = Array.from({ length: cmd.flooders }, (_, i) => floodLoop(cmd, `${tag}flood${i}`, () => flooding, (bytes) => (floodBytes += bytes), () => floodConnections++));

  const connacks = new Samples();
  let connackFailures = 0;
  const probe = async (n: number) => {
    const t = performance.now();
    try {
      const device = await Device.connect(cmd.target, `${tag}new${n}`, 60, 5_000);
      connacks.add(performance.now() - t);
      await device.end(DISCONNECT);
    } catch {
      connackFailures++;
    }
  };

  await sleep(cmd.warmupMs);
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const probes: Promise<void>[] = [];
  for (let n = 0; performance.now() - t0 < cmd.durationMs; n++) {
    probes.push(probe(n));
    await sleep(1000);
  }
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const generatorCpu = cpuShare(cpu0, seconds);
  flooding = false;
  clearInterval(pacer);
  await Promise.all(probes);
  await Promise.all(flooders);
  await Promise.all(devices.map((d) => d.end(DISCONNECT)));
  return {
    offeredRate: sent / seconds,
    answeredRate: answered / seconds,
    refused,
    replyLatency: replies.summary(),
    connack: connacks.summary(),
    connackFailures,
    floodConnections,
    floodMb: floodBytes / 1024 / 1024,
    seconds,
    generatorCpu,
  };
}

/** One attacker: connects, writes publishes to unknown tokens until the socket pushes back, never reads, reconnects when dropped. */
async function floodLoop(cmd: FloodCommand, clientId: string, going: () => boolean, wrote: (bytes: number) => void, connected: () => void): Promise<void> {
  const payload = Buffer.concat(
    Array.from({ length: PUBLISHES_PER_WRITE }, (_, i) => encodePublish(Buffer.from(`${cmd.prefix}/not-a-token-${clientId}-${i}/update/keys/1`), '{"x":1}', 0, 0)),
  );
  while (going()) {
    await new Promise<void>((resolve) => {
      const socket = net.connect({ host: cmd.target.host, port: cmd.target.port, localAddress: cmd.target.localAddresses[0] });
      socket.on('error', () => {});
      socket.pause(); // never reads what comes back
      const pump = () => {
        while (going() && !socket.destroyed && socket.write(payload)) wrote(payload.length);
      };
      socket.on('connect', () => {
        connected();
        socket.write(encodeConnect(clientId, 0));
        pump();
      });
      socket.on('drain', pump);
      const watch = setInterval(() => {
        if (!going()) socket.destroy();
      }, 50);
      socket.on('close', () => {
        clearInterval(watch);
        resolve();
      });
    });
    if (going()) await sleep(10);
  }
}
