/**
 * Configuration and commands (issue 13): what the four scenarios share: their sizes, the admin
 * REST calls, the disk's fsync probe, and the rows they add to the result table. The scenarios are
 * bench/cex-round-trip.ts, bench/cex-fleet.ts, bench/cmx-fleet.ts and bench/cex-backlog.ts.
 */
import { performance } from 'node:perf_hooks';
import type { LoadGenerator } from './loadgen/client.js';
import type { Target } from './loadgen/device.js';
import type { ControlStats } from './loadgen/protocol.js';
import { fmt, type Row } from './report.js';
import type { TetherServer } from './servers.js';
import type { LatencySummary } from './stats.js';

export const CONTROL_SCENARIOS = ['cex-rtt', 'cex-fleet', 'cmx-fleet', 'cex-backlog'] as const;
export type ControlScenario = (typeof CONTROL_SCENARIOS)[number];

export interface ControlPlan {
  mode: 'quick' | 'full';
  /** Round trip: POSTs per second (open loop), the measured window and the warm-up before it. */
  rttRate: number;
  rttMs: number;
  rttWarmupMs: number;
  /** Connected devices of the fleet command and the fleet configuration. */
  fleetDevices: number;
  /** Offline endpoints of the backlog, and pending commands per endpoint. */
  backlogEndpoints: number;
  backlogPerEndpoint: number;
  /** How long a fleet may take before the scenario gives up (the target is 5 s). */
  fleetDeadlineMs: number;
  /** After the backlog is stored: how long Tether idles before its RSS is read a second time. */
  backlogSettleMs: number;
}

export const CONTROL_FULL: ControlPlan = {
  mode: 'full',
  rttRate: 100,
  rttMs: 20_000,
  rttWarmupMs: 2_000,
  fleetDevices: 10_000,
  backlogEndpoints: 10_000,
  backlogPerEndpoint: 10,
  fleetDeadlineMs: 120_000,
  backlogSettleMs: 30_000,
};

export const CONTROL_QUICK: ControlPlan = {
  ...CONTROL_FULL,
  mode: 'quick',
  rttMs: 5_000,
  rttWarmupMs: 1_000,
  fleetDevices: 1_000,
  backlogEndpoints: 1_000,
  fleetDeadlineMs: 30_000,
  backlogSettleMs: 5_000,
};

export const KP_PREFIX = 'kp1/demo_application_v1';
export const COMMAND_TYPE = 'bench';
/** Commands outlive the scenario: the default TTL (60 s) would expire a backlog while it is measured. */
export const LONG_TTL_MS = 3_600_000;

export function targetOf(server: TetherServer): Target {
  return { host: '127.0.0.1', port: server.mqttPort, localAddresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'] };
}

/**
 * The fleet's counters once every answer's PUBACK has been read: the worker may still be reading
 * its sockets when the REST side already shows the answers stored.
 */
export async function settledStats(gen: LoadGenerator, timeoutMs = 10_000): Promise<ControlStats> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const stats = await gen.run({ kind: 'control-stats', reset: false });
    if (stats.acked >= stats.answers || performance.now() > deadline) return stats;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One admin REST call; the body is JSON. Throws with the answer when the status is not `expect`. */
export async function api<T = unknown>(server: TetherServer, method: string, url: string, body?: unknown, expect: number[] = [200]): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}${url}`, {
    method,
    headers: { authorization: `Bearer ${server.adminKey}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!expect.includes(response.status)) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 300)}`);
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

export { probeFsync } from './disk.js';

export interface RoundTripFigures {
  rate: number;
  latency: LatencySummary;
  completed: number;
  /** Answers that were not 200 with an EXECUTED command (202: the device did not answer in time). */
  notExecuted: number;
  errors: number;
  firstError?: string;
  fsync: LatencySummary;
  serverCpuMsPerCommand: number;
  serverCpu: number;
  othersCpu: number;
}

export interface FleetCommandFigures {
  devices: number;
  /** POST → its answer (stored and announced). */
  postMs: number;
  /** POST → first and last command received by a device. */
  firstPushMs: number;
  lastPushMs: number;
  /** POST → the last result's PUBACK (sent once stored). */
  lastStoredMs: number;
  /** POST → the task progress showing every command EXECUTED. */
  allExecutedMs: number;
  executed: number;
  serverCpuMsPerCommand: number;
  othersCpu: number;
}

export interface FleetConfigFigures {
  devices: number;
  putMs: number;
  firstPushMs: number;
  lastPushMs: number;
  lastStoredMs: number;
  /** PUT → the statuses endpoint counting every status APPLIED. */
  allAppliedMs: number;
  applied: number;
  serverCpuMsPerDevice: number;
  othersCpu: number;
}

export interface BacklogFigures {
  endpoints: number;
  commands: number;
  insertSeconds: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  /** RSS after `backlogSettleMs` more of idling: what V8 gave back of the POSTs' garbage. */
  rssSettledMb: number;
  settleSeconds: number;
  pending: number;
  connackMs: number;
  allMs: number;
  received: number;
  expected: number;
  serverCpuMsPerCommand: number;
}

export interface ControlFigures {
  rtt?: RoundTripFigures;
  fleet?: FleetCommandFigures;
  config?: FleetConfigFigures;
  backlog?: BacklogFigures;
}

export function controlRows(plan: ControlPlan, f: ControlFigures): Row[] {
  const rows: Row[] = [];
  const full = plan.mode === 'full';
  const row = (metric: string, value: string, target = '', ok?: boolean): Row => ({ metric, tether: value, reference: '', ratio: '', target, verdict: ok === undefined || !full ? '' : ok ? 'PASS' : 'MISS' });
  if (f.rtt) {
    const r = f.rtt;
    rows.push(row(`Command round trip at ${fmt(r.rate)}/s, POST …?awaitTimeout=5 → 200, p99 (ms)`, fmt(r.latency.p99, 1), '< 25 ms', r.latency.p99 < 25 && r.notExecuted === 0 && r.errors === 0));
    rows.push(row('  round trip p50 / max (ms)', `${fmt(r.latency.p50, 1)} / ${fmt(r.latency.max, 1)}`));
    rows.push(row('  disk: 4 KiB append + fsync, p50 / p99 (ms)', `${fmt(r.fsync.p50, 2)} / ${fmt(r.fsync.p99, 2)}`));
    rows.push(row('  server CPU per command (ms)', fmt(r.serverCpuMsPerCommand, 2)));
  }
  if (f.fleet) {
    const c = f.fleet;
    rows.push(row(`Fleet command to ${fmt(c.devices)} connected devices, POST → every result stored (s)`, fmt(c.allExecutedMs / 1000, 2), '≤ 5 s', c.allExecutedMs <= 5000 && c.executed === c.devices));
    rows.push(row('  commands/s (POST → task shows all EXECUTED)', fmt((c.executed / c.allExecutedMs) * 1000)));
    rows.push(row('  POST answered / first push / last push / last result stored (s)', [c.postMs, c.firstPushMs, c.lastPushMs, c.lastStoredMs].map((ms) => fmt(ms / 1000, 2)).join(' / ')));
    rows.push(row('  server CPU per command (ms)', fmt(c.serverCpuMsPerCommand, 3)));
  }
  if (f.config) {
    const c = f.config;
    rows.push(row(`Fleet configuration, ${fmt(c.devices)} observing devices, PUT → all APPLIED (s)`, fmt(c.allAppliedMs / 1000, 2), '≤ 5 s', c.allAppliedMs <= 5000 && c.applied === c.devices));
    rows.push(row('  PUT answered / first push / last push / last applied stored (s)', [c.putMs, c.firstPushMs, c.lastPushMs, c.lastStoredMs].map((ms) => fmt(ms / 1000, 2)).join(' / ')));
    rows.push(row('  server CPU per device (ms)', fmt(c.serverCpuMsPerDevice, 3)));
  }
  if (f.backlog) {
    const b = f.backlog;
    const growth = b.rssAfterMb - b.rssBeforeMb;
    rows.push(row(`Offline backlog, ${fmt(b.commands)} pending commands: RSS growth (MB)`, fmt(growth, 1), '< 50 MB', growth < 50 && b.pending === b.commands));
    rows.push(row(`  RSS before / after / ${fmt(b.settleSeconds)} s later (MB)`, `${fmt(b.rssBeforeMb, 1)} / ${fmt(b.rssAfterMb, 1)} / ${fmt(b.rssSettledMb, 1)}`));
    rows.push(row(`  stored in (s), ${fmt(b.endpoints)} endpoints × ${b.commands / b.endpoints} batch POSTs; server CPU per command (ms)`, `${fmt(b.insertSeconds, 1)}; ${fmt(b.serverCpuMsPerCommand, 3)}`));
    rows.push(row(`Reconnecting device gets its ${b.expected} outstanding commands (ms)`, fmt(b.allMs, 1), '< 1 s', b.allMs < 1000 && b.received === b.expected));
    rows.push(row('  of which CONNECT → CONNACK (ms)', fmt(b.connackMs, 1)));
  }
  return rows;
}

/** Detail lines under the table: what each scenario competed with, and what went wrong. */
export function controlDetails(f: ControlFigures): string[] {
  const details: string[] = [];
  const others = (cores: number) => `other processes used ${Math.round(cores * 100)} % of a core meanwhile`;
  if (f.rtt) {
    const r = f.rtt;
    details.push(
      `command round trip: ${fmt(r.completed)} commands in the window, ${r.notExecuted} not answered 200/EXECUTED, ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}; p90 ${fmt(r.latency.p90, 1)} ms; fsync probe max ${fmt(r.fsync.max, 2)} ms; server ${Math.round(r.serverCpu * 100)} % of a core, ${others(r.othersCpu)}`,
    );
  }
  if (f.fleet) details.push(`fleet command: ${fmt(f.fleet.executed)} of ${fmt(f.fleet.devices)} EXECUTED; ${others(f.fleet.othersCpu)}`);
  if (f.config) details.push(`fleet configuration: ${fmt(f.config.applied)} of ${fmt(f.config.devices)} APPLIED; ${others(f.config.othersCpu)}`);
  if (f.backlog) details.push(`offline backlog: ${fmt(f.backlog.pending)} of ${fmt(f.backlog.commands)} PENDING after the POSTs; the reconnecting device received ${f.backlog.received} of ${f.backlog.expected}`);
  return details;
}
