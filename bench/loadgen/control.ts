/**
 * Devices that take configuration and commands (issue 13), on raw sockets in the load-generator
 * worker: each sends one request first (so Tether knows its session), then answers every push at
 * once, as a device built on a Kaa client would. Their counters and timestamps are read between
 * scenario steps with `control-stats`.
 */
import { performance } from 'node:perf_hooks';
import { DISCONNECT, encodePuback, encodePublish } from '../mqtt-codec.js';
import { Device, pool } from './device.js';
import type { BacklogFetchResult, Command, ControlStats, IdleResult } from './protocol.js';

const REQUEST_TIMEOUT_MS = 30_000;

type Publish = { type: 3; qos: number; topic: string; packetId: number; payload: Buffer };

/** Wall-clock milliseconds with sub-millisecond precision, comparable across threads. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

interface Answering {
  device: Device;
  token: string;
  nextId: number;
  /** Mode ota: this device reports a failed update. */
  fails: boolean;
}

let fleet: Answering[] = [];
let stats = emptyStats();

function emptyStats(): ControlStats {
  return { open: 0, pushes: 0, answers: 0, acked: 0, firstPushAt: 0, lastPushAt: 0, lastAckAt: 0, malformed: 0 };
}

function nextPacketId(a: Answering): number {
  const id = a.nextId;
  a.nextId = id >= 65_535 ? 2 : id + 1;
  return id;
}

/**
 * A push this device answers: a 11/CEP command batch on `…/cex/<token>/command/<type>/status` (a
 * result per command on `…/result/<type>`), or a 7/CMP configuration on `…/cmx/<token>/config/json/status`
 * (`applied/json` with its configId). Both go out at QoS 1 without a request ID: the PUBACK comes
 * once Tether has stored them.
 */
function answer(a: Answering, prefix: string, mode: 'cex' | 'cmx' | 'ota', commandType: string, p: Publish): void {
  if (mode === 'ota') {
    if (p.topic !== `${prefix}/cmx_ota/${a.token}/config/json/status`) return;
    let configId: string | undefined;
    try {
      configId = (JSON.parse(p.payload.toString('utf8')) as { configId?: string }).configId;
    } catch {
      stats.malformed++;
      return;
    }
    if (!configId) return;
    countPush(1);
    const report = a.fails ? { configId, statusCode: 500, reasonPhrase: 'bench: install failed' } : { configId };
    a.device.write(encodePublish(Buffer.from(`${prefix}/cmx_ota/${a.token}/applied/json`), JSON.stringify(report), 1, nextPacketId(a)));
    stats.answers++;
  } else if (mode === 'cex') {
    if (p.topic !== `${prefix}/cex/${a.token}/command/${commandType}/status`) return;
    let commands: Array<{ id: number }>;
    try {
      commands = JSON.parse(p.payload.toString('utf8')) as Array<{ id: number }>;
    } catch {
      stats.malformed++;
      return;
    }
    countPush(commands.length);
    const results = commands.map((c) => `{"id":${c.id},"statusCode":200,"reasonPhrase":"done","payload":{"ok":true}}`).join(',');
    a.device.write(encodePublish(Buffer.from(`${prefix}/cex/${a.token}/result/${commandType}`), `[${results}]`, 1, nextPacketId(a)));
    stats.answers += commands.length;
  } else {
    if (p.topic !== `${prefix}/cmx/${a.token}/config/json/status`) return;
    let configId: string;
    try {
      configId = (JSON.parse(p.payload.toString('utf8')) as { configId: string }).configId;
    } catch {
      stats.malformed++;
      return;
    }
    countPush(1);
    a.device.write(encodePublish(Buffer.from(`${prefix}/cmx/${a.token}/applied/json`), JSON.stringify({ configId }), 1, nextPacketId(a)));
    stats.answers++;
  }
}

/** Whether device `i` is one of `percent` % failing devices, spread evenly over the fleet (30: 3 of every 10). */
function spreadFailure(i: number, percent: number): boolean {
  return Math.floor(((i + 1) * percent) / 100) > Math.floor((i * percent) / 100);
}

function countPush(n: number): void {
  const now = wallMs();
  if (stats.pushes === 0) stats.firstPushAt = now;
  stats.lastPushAt = now;
  stats.pushes += n;
}

/** The first request of a session, at QoS 1 with request ID 1; resolves on its `/status` reply. */
function firstRequest(device: Device, topic: string, payload: string): Promise<Publish> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply on ${topic}/status`)), REQUEST_TIMEOUT_MS);
    device.onClose = () => {
      clearTimeout(timer);
      reject(new Error(`closed while waiting for a reply on ${topic}`));
    };
    device.onPacket = (packet) => {
      if (packet.type !== 3) return;
      const p = packet as Publish;
      if (p.qos > 0) device.write(encodePuback(p.packetId));
      if (p.topic === `${topic}/status` || p.topic === `${topic}/error`) {
        clearTimeout(timer);
        device.onClose = null;
        if (p.topic.endsWith('/error')) reject(new Error(`error reply on ${topic}: ${p.payload.toString('utf8')}`));
        else resolve(p);
      }
    };
    device.write(encodePublish(Buffer.from(topic), payload, 1, 1));
  });
}

export async function openControlFleet(cmd: Extract<Command, { kind: 'control-open' }>, tag: string): Promise<IdleResult> {
  const t0 = performance.now();
  const deadline = t0 + cmd.deadlineMs;
  let failed = 0;
  let firstError: string | undefined;
  stats = emptyStats();
  await pool(cmd.tokens, cmd.concurrency, async (token, i) => {
    if (performance.now() > deadline) return;
    try {
      const device = await Device.connect(cmd.target, `${tag}${i}`, 600);
      const a: Answering = { device, token, nextId: 2, fails: spreadFailure(i, cmd.failPercent ?? 0) };
      // 11/CEP: a command request (answered with the outstanding ones, none yet); 7/CMP: observe the
      // default configuration; cmx_ota: ask for an update, naming the version it runs.
      const topic =
        cmd.mode === 'cex' ? `${cmd.prefix}/cex/${token}/command/${cmd.commandType}/1`
        : cmd.mode === 'cmx' ? `${cmd.prefix}/cmx/${token}/config/json/1`
        : `${cmd.prefix}/cmx_ota/${token}/config/json/1`;
      await firstRequest(device, topic, cmd.mode === 'ota' ? JSON.stringify({ configId: cmd.runs ?? '1.0.0', observe: true }) : '{"observe":true}');
      device.onPacket = (packet) => {
        // Packet ID 1 was the first request, whose PUBACK may come after its reply.
        if (packet.type === 4 && (packet as { packetId: number }).packetId !== 1) {
          stats.acked++;
          stats.lastAckAt = wallMs();
        } else if (packet.type === 3) {
          const p = packet as Publish;
          if (p.qos > 0) device.write(encodePuback(p.packetId));
          answer(a, cmd.prefix, cmd.mode, cmd.commandType, p);
        }
      };
      fleet.push(a);
    } catch (err) {
      failed++;
      firstError ??= String(err);
    }
  });
  stats.open = fleet.filter((a) => !a.device.closed).length;
  return { open: stats.open, failed, seconds: (performance.now() - t0) / 1000, firstError };
}

export function controlStats(reset: boolean): ControlStats {
  const now = { ...stats, open: fleet.filter((a) => !a.device.closed).length };
  if (reset) stats = { ...emptyStats(), open: now.open };
  return now;
}

export async function closeControlFleet(): Promise<IdleResult> {
  const t0 = performance.now();
  const devices = fleet;
  fleet = [];
  const open = devices.filter((a) => !a.device.closed).length;
  await pool(devices, 500, (a) => a.device.end(DISCONNECT));
  return { open, failed: 0, seconds: (performance.now() - t0) / 1000 };
}

/**
 * A device that was offline reconnects: TCP connect, CONNECT, one command request; done once it
 * holds `expect` distinct outstanding commands, from the reply and from pushes alike.
 */
export async function fetchBacklog(cmd: Extract<Command, { kind: 'backlog-fetch' }>, tag: string): Promise<BacklogFetchResult> {
  const startedAt = wallMs();
  const t0 = performance.now();
  const device = await Device.connect(cmd.target, `${tag}backlog`, 600);
  const connackMs = performance.now() - t0;
  const ids = new Set<number>();
  const topic = `${cmd.prefix}/cex/${cmd.token}/command/${cmd.commandType}/1`;
  const pushTopic = `${cmd.prefix}/cex/${cmd.token}/command/${cmd.commandType}/status`;
  let viaReply = 0;
  let viaPush = 0;
  const allMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${ids.size} of ${cmd.expect} outstanding commands within ${cmd.timeoutMs} ms`)), cmd.timeoutMs);
    device.onPacket = (packet) => {
      if (packet.type !== 3) return;
      const p = packet as Publish;
      if (p.qos > 0) device.write(encodePuback(p.packetId));
      if (p.topic !== `${topic}/status` && p.topic !== pushTopic) return;
      const commands = JSON.parse(p.payload.toString('utf8')) as Array<{ id: number }>;
      for (const c of commands) {
        if (ids.has(c.id)) continue;
        ids.add(c.id);
        if (p.topic === pushTopic) viaPush++;
        else viaReply++;
      }
      if (ids.size >= cmd.expect) {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      }
    };
    device.write(encodePublish(Buffer.from(topic), '{"observe":true}', 1, 1));
  });
  await device.end(DISCONNECT);
  return { startedAt, connackMs, allMs, received: ids.size, viaReply, viaPush };
}
