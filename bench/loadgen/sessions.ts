/** Scenarios about connections rather than messages: idle fleets and connect churn. */
import { performance } from 'node:perf_hooks';
import { DISCONNECT, encodePuback, encodePublish, encodeSubscribe, type Packet } from '../mqtt-codec.js';
import { Samples } from '../stats.js';
import { Device, pool, type Target } from './device.js';
import { cpuShare, type Command, type ConnectRateResult, type IdleResult } from './protocol.js';

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * What a Kaa device does right after connecting: subscribe to its response topics, then send one
 * request with a request ID. Resolves with the first response PUBLISH (or the PUBACK when
 * `waitFor` is `puback`). Incoming QoS 1 responses are acknowledged.
 */
function handshake(device: Device, requestTopic: string, payload: string, publishTopic: string, waitFor: 'response' | 'puback'): Promise<Packet> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${waitFor} on ${requestTopic}`)), REQUEST_TIMEOUT_MS);
    const done = (p: Packet) => {
      clearTimeout(timer);
      resolve(p);
    };
    device.onClose = () => {
      clearTimeout(timer);
      reject(new Error(`closed while waiting for ${waitFor} on ${requestTopic}`));
    };
    device.onPacket = (p) => {
      if (p.type === 9) {
        device.write(encodePublish(Buffer.from(publishTopic), payload, 1, 2));
      } else if (p.type === 3) {
        const pub = p as { qos: number; packetId: number };
        if (pub.qos > 0) device.write(encodePuback(pub.packetId));
        if (waitFor === 'response') done(p);
      } else if (p.type === 4 && waitFor === 'puback') {
        done(p);
      }
    };
    device.write(encodeSubscribe(1, [`${requestTopic}/status`, `${requestTopic}/error`], 1));
  });
}

// --- idle fleet -----------------------------------------------------------------------

let idle: Device[] = [];

export async function openIdle(cmd: Extract<Command, { kind: 'idle-open' }>, tag: string): Promise<IdleResult> {
  const t0 = performance.now();
  const deadline = t0 + cmd.deadlineMs;
  let failed = 0;
  let firstError: string | undefined;
  await pool(cmd.tokens, cmd.concurrency, async (token, i) => {
    if (performance.now() > deadline) return;
    try {
      const device = await Device.connect(cmd.target, `${tag}${i}`, 600);
      const topic = `${cmd.prefix}/${token}/update/keys/1`;
      await handshake(device, topic, `{"temperature":21.5,"seq":0}`, topic, 'puback');
      device.onClose = null;
      device.onPacket = (p) => {
        const pub = p as { type: number; qos?: number; packetId?: number };
        if (pub.type === 3 && pub.qos) device.write(encodePuback(pub.packetId ?? 0));
      };
      idle.push(device);
    } catch (err) {
      failed++;
      firstError ??= String(err);
    }
  });
  return { open: idle.filter((d) => !d.closed).length, failed, seconds: (performance.now() - t0) / 1000, firstError };
}

export async function closeIdle(): Promise<IdleResult> {
  const t0 = performance.now();
  const devices = idle;
  idle = [];
  const open = devices.filter((d) => !d.closed).length;
  await pool(devices, 500, (d) => d.end(DISCONNECT));
  return { open, failed: 0, seconds: (performance.now() - t0) / 1000 };
}

// --- connect churn ---------------------------------------------------------------------

export async function runConnectRate(cmd: Extract<Command, { kind: 'connect-rate' }>, tag: string): Promise<ConnectRateResult> {
  const samples = new Samples();
  let completed = 0;
  let failed = 0;
  let errorResponses = 0;
  let started = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + cmd.durationMs;

  async function cycle(i: number, target: Target) {
    const token = cmd.tokens[i % cmd.tokens.length]!;
    const begin = performance.now();
    const device = await Device.connect(target, `${tag}${i}`, 60);
    const requestTopic = `${cmd.prefix}/${token}/get/keys/1`;
    const response = (await handshake(device, requestTopic, '', cmd.echo ? `${requestTopic}/status` : requestTopic, 'response')) as {
      topic: string;
    };
    if (response.topic.endsWith('/error')) errorResponses++;
    samples.add(performance.now() - begin);
    completed++;
    device.onClose = null;
    void device.end(DISCONNECT);
  }

  async function lane() {
    while (performance.now() < deadline && started < cmd.maxCount) {
      const i = started++;
      try {
        await cycle(i, cmd.target);
      } catch (err) {
        failed++;
        firstError ??= String(err);
      }
    }
  }
  await Promise.all(Array.from({ length: cmd.concurrency }, lane));
  const seconds = (performance.now() - t0) / 1000;
  return {
    completed,
    failed,
    errorResponses,
    seconds,
    rate: completed / seconds,
    latency: samples.summary(),
    generatorCpu: cpuShare(cpu0, seconds),
    firstError,
  };
}
