/**
 * 10/EPMP `update/keys` at QoS 1 without a request ID: the device only needs the PUBACK
 * (1/KP: acknowledgement-only requests use PUBLISH acknowledgement). Latency is PUBLISH→PUBACK.
 */
import { performance } from 'node:perf_hooks';
import { DISCONNECT, encodePublish, encodePuback } from '../mqtt-codec.js';
import { Samples } from '../stats.js';
import { Device, pool } from './device.js';
import { cpuShare, type Command, type PublishResult } from './protocol.js';

/** Packet IDs cycle through this many values per device; the send time is kept per ID. */
const ID_RING = 4096;
const DRAIN_TIMEOUT_MS = 10_000;

interface Publisher {
  device: Device;
  topic: Buffer;
  sentAt: Float64Array;
  nextId: number;
  inflight: number;
  seq: number;
}

type PublishCommand = Extract<Command, { kind: 'closed' | 'paced' }>;

export async function runPublishLoad(cmd: PublishCommand, tag: string): Promise<PublishResult> {
  const devices = await pool(cmd.tokens, 50, (_, i) => Device.connect(cmd.target, `${tag}${i}`, 600));
  const samples = new Samples();
  let measuring = false;
  let sending = true;
  let acked = 0;
  let overflow = 0;
  let disconnects = 0;

  const publishers: Publisher[] = devices.map((device, i) => ({
    device,
    topic: Buffer.from(`${cmd.prefix}/${cmd.tokens[i]}/${cmd.resource ?? 'update/keys'}`),
    sentAt: new Float64Array(ID_RING + 1),
    nextId: 1,
    inflight: 0,
    seq: 0,
  }));

  const send = (p: Publisher) => {
    const id = p.nextId;
    p.nextId = id === ID_RING ? 1 : id + 1;
    if (p.sentAt[id] !== 0) {
      overflow++;
      p.inflight--;
    }
    p.inflight++;
    p.seq++;
    p.sentAt[id] = performance.now();
    p.device.write(encodePublish(p.topic, cmd.body === 'dcx-batch' ? dcxBatch(p.seq) : `{"temperature":${20 + (p.seq % 10) / 2},"seq":${p.seq}}`, 1, id));
  };

  for (const p of publishers) {
    p.device.onClose = () => disconnects++;
    p.device.onPacket = (packet) => {
      if (packet.type === 4) {
        const id = (packet as { packetId: number }).packetId;
        const t = p.sentAt[id] ?? 0;
        if (t === 0) return;
        p.sentAt[id] = 0;
        p.inflight--;
        if (measuring) {
          samples.add(performance.now() - t);
          acked++;
        }
        if (sending && cmd.kind === 'closed') send(p);
      } else if (packet.type === 3) {
        const pub = packet as { qos: number; packetId: number };
        if (pub.qos > 0) p.device.write(encodePuback(pub.packetId));
      }
    };
  }

  let stopPacing = () => {};
  if (cmd.kind === 'closed') {
    for (const p of publishers) for (let k = 0; k < cmd.window; k++) send(p);
  } else {
    stopPacing = pace(publishers, cmd.rate, send);
  }

  await sleep(cmd.warmupMs);
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(cmd.durationMs);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const generatorCpu = cpuShare(cpu0, seconds);
  sending = false;
  stopPacing();

  const drainDeadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (publishers.some((p) => p.inflight > 0 && !p.device.closed) && performance.now() < drainDeadline) await sleep(20);
  const lost = publishers.reduce((sum, p) => sum + Math.max(0, p.inflight), 0);
  for (const p of publishers) p.device.onClose = null;
  await Promise.all(publishers.map((p) => p.device.end(DISCONNECT)));

  return {
    acked,
    seconds,
    rate: acked / seconds,
    latency: samples.summary(),
    lost,
    overflow,
    disconnects,
    generatorCpu,
  };
}

/**
 * Open-loop pacing: every millisecond tick sends what is due since the start, so a slow broker
 * faces the same offered load (no coordinated omission). A stalled generator is capped to 50 ms of
 * backlog per tick rather than bursting.
 */
function pace(publishers: Publisher[], rate: number, send: (p: Publisher) => void): () => void {
  const start = performance.now();
  let sent = 0;
  let rr = 0;
  const maxBurst = Math.max(1, Math.ceil(rate * 0.05));
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) * rate) / 1000) - sent;
    const n = Math.min(due, maxBurst);
    for (let k = 0; k < n; k++) {
      send(publishers[rr]!);
      rr = (rr + 1) % publishers.length;
    }
    sent += due; // a capped backlog is dropped, not replayed later
  }, 1);
  return () => clearInterval(timer);
}

const DCX_T0 = Date.now();

/**
 * A 2/DCP batch of 10 samples with 5 numeric fields each, like a sensor gateway flushing: readings
 * with a decimal or two that drift, one sample every 100 ms of device time.
 */
export function dcxBatch(seq: number): string {
  const samples: string[] = [];
  for (let k = 0; k < 10; k++) {
    const i = seq * 10 + k;
    samples.push(
      `{"timestamp":${DCX_T0 + i * 100},"temperature":${(20 + (i % 50) / 10).toFixed(1)},"humidity":${40 + (i % 20)},"pressure":${(1013 + (i % 7) * 0.25).toFixed(2)},"voltage":${(3.3 - (i % 30) / 100).toFixed(2)},"current":${((i % 13) * 0.05).toFixed(2)}}`,
    );
  }
  return `[${samples.join(',')}]`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
