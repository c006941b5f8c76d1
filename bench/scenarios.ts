/** The MQTT scenarios, run against any broker through the load generator. */
import type { LoadGenerator } from './loadgen/client.js';
import type { Target } from './loadgen/device.js';
import fs from 'node:fs';
import type { ConnectRateResult, FloodResult, PublishResult } from './loadgen/protocol.js';
import { type PhaseCpu, phaseMeter, rssMb, waitIdle } from './procstat.js';
import { fmt } from './report.js';
import { probeFsync } from './disk.js';
import type { LatencySummary } from './stats.js';
import type { RunningServer } from './servers.js';

export interface Plan {
  mode: 'quick' | 'full';
  publishDevices: number;
  window: number;
  warmupMs: number;
  publishMs: number;
  pacedMs: number;
  connectConcurrency: number;
  connectMs: number;
  idleDevices: number;
  idleDeadlineMs: number;
  queryEndpoints: number;
  queryRequests: number;
  floodDevices: number;
  floodRate: number;
  flooders: number;
  floodMs: number;
}

export const PREFIX = 'kp1/demo_application_v1/epmx';
const LOCAL_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

/** CPU use during the scenario, in cores: the broker's, and other processes' on the machine. */
interface Cpu {
  serverCpu: number;
  othersCpu: number;
}

export interface BrokerFigures {
  publish?: PublishResult & Cpu;
  /** Open loop at 50 % of Tether's maximum. */
  paced?: PublishResult & Cpu;
  /** Open loop at 10 % of Tether's maximum: what a fleet at rest costs per update. */
  tenth?: PublishResult & Cpu;
  /** The disk's 4 KiB append + fsync, probed in the data dir just before the open-loop phases. */
  fsync?: LatencySummary;
  connect?: ConnectRateResult & Cpu;
  idle?: { rssBeforeMb: number; rssAtOnceMb: number; rssMb: number; open: number; failed: number; seconds: number; firstError?: string };
  flood?: FloodResult & Cpu & { maxRssMb: number; logGrowthMb: number };
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function cpu(meter: () => PhaseCpu): Cpu {
  const { server, others } = meter();
  if (others > 0.25) log(`other processes used ${Math.round(others * 100)} % of a core meanwhile: figures are skewed`);
  return { serverCpu: server, othersCpu: others };
}

function targetOf(server: RunningServer): Target {
  return { host: '127.0.0.1', port: server.mqttPort, localAddresses: LOCAL_ADDRESSES };
}

/**
 * Max update rate (closed loop), then latency at `pacedRate` (open loop). `pacedRate` gets the
 * broker's own max rate; it returns the rate to offer.
 */
export async function measureUpdates(
  gen: LoadGenerator,
  server: RunningServer,
  plan: Plan,
  tokens: string[],
  pacedRate: (ownMax: number) => number,
  /** Where the server keeps its data: the fsync probe writes there. */
  dataDir: string,
): Promise<Pick<BrokerFigures, 'publish' | 'paced' | 'tenth' | 'fsync'>> {
  const target = targetOf(server);
  const publishTokens = tokens.slice(0, plan.publishDevices);
  log(`${server.name}: closed-loop update/keys, ${plan.publishDevices} devices × ${plan.window} in flight, ${plan.publishMs / 1000} s`);
  const meter = phaseMeter(server.pid);
  const max = await gen.run({
    kind: 'closed',
    target,
    prefix: PREFIX,
    tokens: publishTokens,
    window: plan.window,
    warmupMs: plan.warmupMs,
    durationMs: plan.publishMs,
  });
  const publish = { ...max, ...cpu(meter) };
  log(`${server.name}: ${fmt(max.rate)} updates/s, p50 ${fmt(max.latency.p50, 2)} ms, p99 ${fmt(max.latency.p99, 2)} ms`);
  await waitIdle(server.pid);

  const rate = pacedRate(max.rate);
  if (!(rate >= 1)) return { publish };
  const fsync = probeFsync(dataDir, 500);
  log(`disk: 4 KiB append + fsync p50 ${fmt(fsync.p50, 2)} ms, p99 ${fmt(fsync.p99, 2)} ms`);
  const openLoop = async (share: string, offered: number) => {
    log(`${server.name}: open-loop update/keys at ${fmt(offered)}/s (${share} of max), ${plan.pacedMs / 1000} s`);
    const meter = phaseMeter(server.pid);
    const result = await gen.run({ kind: 'paced', target, prefix: PREFIX, tokens: publishTokens, rate: offered, warmupMs: plan.warmupMs, durationMs: plan.pacedMs });
    const figures = { ...result, ...cpu(meter) };
    log(`${server.name}: ${fmt(result.rate)} updates/s, p50 ${fmt(result.latency.p50, 2)} ms, p99 ${fmt(result.latency.p99, 2)} ms, ${fmt((figures.serverCpu / Math.max(1, result.rate)) * 1e6, 1)} µs CPU/update`);
    await waitIdle(server.pid);
    return figures;
  };
  const paced = await openLoop('50 %', rate);
  const tenth = await openLoop('10 %', rate / 5);
  return { publish, paced, tenth, fsync };
}

/**
 * Connect churn. `echo`: the broker has no one to answer requests (mosquitto), so devices publish
 * to their own response topic instead.
 */
export async function measureConnects(gen: LoadGenerator, server: RunningServer, plan: Plan, tokens: string[], echo: boolean): Promise<BrokerFigures['connect']> {
  log(`${server.name}: connect, subscribe, request, response, disconnect; ${plan.connectConcurrency} in flight, ${plan.connectMs / 1000} s`);
  const meter = phaseMeter(server.pid);
  const result = await gen.run({
    kind: 'connect-rate',
    target: targetOf(server),
    prefix: PREFIX,
    tokens,
    concurrency: plan.connectConcurrency,
    durationMs: plan.connectMs,
    maxCount: 1_000_000,
    echo,
  });
  const connect = { ...result, ...cpu(meter) };
  log(
    `${server.name}: ${fmt(result.rate)} connects/s (${result.failed} failed, ${result.errorResponses} error responses)${result.firstError ? `; first error: ${result.firstError}` : ''}`,
  );
  await waitIdle(server.pid);
  return connect;
}

/**
 * Idle is a state, not a moment: a fleet sits connected for hours. RSS is read once the server's
 * CPU has been quiet for IDLE_SETTLE_MS, long enough for Tether to give back the heap its busy
 * moments grew (src/core/idle-trim.ts: up to three collections, each after 6 s of quiet). The
 * figure right after connecting is kept too, so the report shows both. Mosquitto gets the same wait.
 */
export const IDLE_SETTLE_MS = 30_000;

async function settled(pid: number): Promise<void> {
  await waitIdle(pid);
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  await waitIdle(pid);
}

/** RSS of the broker with `plan.idleDevices` connected devices; run on a fresh broker process. */
export async function measureIdle(gen: LoadGenerator, server: RunningServer, plan: Plan, tokens: string[]): Promise<BrokerFigures['idle']> {
  const count = Math.min(plan.idleDevices, tokens.length);
  await settled(server.pid);
  const rssBeforeMb = rssMb(server.pid);
  log(`${server.name}: connecting ${count} idle devices (RSS before: ${fmt(rssBeforeMb, 1)} MB)`);
  const opened = await gen.run({
    kind: 'idle-open',
    target: targetOf(server),
    prefix: PREFIX,
    tokens: tokens.slice(0, count),
    concurrency: 100,
    deadlineMs: plan.idleDeadlineMs,
  });
  await waitIdle(server.pid);
  const rssAtOnceMb = rssMb(server.pid);
  await settled(server.pid);
  const rss = rssMb(server.pid);
  log(
    `${server.name}: ${opened.open} idle devices open (${opened.failed} failed) in ${fmt(opened.seconds, 1)} s, RSS ${fmt(rssAtOnceMb, 1)} MB at once, ${fmt(rss, 1)} MB after ${IDLE_SETTLE_MS / 1000} s quiet${opened.firstError ? `; first error: ${opened.firstError}` : ''}`,
  );
  await gen.run({ kind: 'idle-close' });
  return { rssBeforeMb, rssAtOnceMb, rssMb: rss, open: opened.open, failed: opened.failed, seconds: opened.seconds, firstError: opened.firstError };
}

/**
 * Hostile load on a running server: well-behaved devices at a fixed rate while anonymous
 * connections flood publishes to unknown tokens. RSS is sampled throughout; the log's growth is
 * the server's log file before and after.
 */
export async function measureFlood(gen: LoadGenerator, server: RunningServer, plan: Plan, tokens: string[]): Promise<BrokerFigures['flood']> {
  log(`${server.name}: ${plan.floodDevices} devices at ${plan.floodRate}/s in all while ${plan.flooders} connections flood publishes to unknown tokens, ${plan.floodMs / 1000} s`);
  const logBefore = fs.statSync(server.logFile).size;
  let maxRssMb = rssMb(server.pid);
  const sampler = setInterval(() => (maxRssMb = Math.max(maxRssMb, rssMb(server.pid))), 200);
  const meter = phaseMeter(server.pid);
  try {
    const result = await gen.run({
      kind: 'flood',
      target: targetOf(server),
      prefix: PREFIX,
      tokens: tokens.slice(0, plan.floodDevices),
      rate: plan.floodRate,
      flooders: plan.flooders,
      warmupMs: plan.warmupMs,
      durationMs: plan.floodMs,
    });
    const logGrowthMb = (fs.statSync(server.logFile).size - logBefore) / 1024 / 1024;
    const flood = { ...result, ...cpu(meter), maxRssMb, logGrowthMb };
    log(
      `${server.name}: well-behaved ${fmt(result.answeredRate)}/s answered of ${fmt(result.offeredRate)}/s offered, reply p99 ${fmt(result.replyLatency.p99, 1)} ms; new device CONNACK max ${fmt(result.connack.max, 1)} ms (${result.connackFailures} failed); RSS max ${fmt(maxRssMb, 1)} MB; log +${fmt(logGrowthMb, 2)} MB; flood ${fmt(result.floodMb, 1)} MB over ${result.floodConnections} connections`,
    );
    return flood;
  } finally {
    clearInterval(sampler);
    await waitIdle(server.pid);
  }
}
