/**
 * Software updates (issue 14), the two rollout targets, against Tether only:
 * - `ota-fleet`: every seeded device connected on cmx_ota, reporting the version it runs and
 *   answering a pushed version with `applied/json` at once; one rollout to all of them with no
 *   rate limit. Measured from the POST until the rollout shows every device applied (every applied
 *   status stored), with when the last device was offered (pending 0) on the way.
 * - `ota-abort`: a fleet where 30 % of the devices report failure; a rollout at 600 devices a
 *   minute with the abort rule 10 % after 100 devices. Measured: how many devices were offered the
 *   update when it stopped (target < 150), and the reason it gives. With no rate every device is
 *   offered at once, before any can fail: the target implies a rate (docs/rollouts.md).
 */
import { performance } from 'node:perf_hooks';
import { api, KP_PREFIX, settledStats, targetOf } from './control.js';
import type { LoadGenerator } from './loadgen/client.js';
import { cpuSeconds, phaseMeter, waitIdle } from './procstat.js';
import { fmt, type Row } from './report.js';
import { log } from './scenarios.js';
import { APPLICATION, APP_VERSION } from './seed.js';
import type { TetherServer } from './servers.js';

export const OTA_SCENARIOS = ['ota-fleet', 'ota-abort'] as const;

export interface OtaPlan {
  mode: 'quick' | 'full';
  fleetDevices: number;
  abortDevices: number;
  abortRatePerMinute: number;
  failPercent: number;
  deadlineMs: number;
}

export const OTA_FULL: OtaPlan = { mode: 'full', fleetDevices: 10_000, abortDevices: 1_000, abortRatePerMinute: 600, failPercent: 30, deadlineMs: 120_000 };
export const OTA_QUICK: OtaPlan = { ...OTA_FULL, mode: 'quick', fleetDevices: 1_000, deadlineMs: 60_000 };

const RUNS = '1.1.0';
const VERSION = '1.2.0';
const POLL_MS = 100;

interface RolloutView {
  rolloutId: string;
  state: string;
  reason: string | null;
  counts: { pending: number; offered: number; applied: number; failed: number; timed_out: number; skipped: number };
}

export interface OtaFleetFigures {
  devices: number;
  postMs: number;
  /** POST → the rollout shows no device pending (every device offered). */
  allOfferedMs: number;
  firstPushMs: number;
  lastPushMs: number;
  /** POST → the last applied report's PUBACK (sent once stored). */
  lastStoredMs: number;
  /** POST → the rollout shows every device applied. */
  allAppliedMs: number;
  applied: number;
  state: string;
  serverCpuMsPerDevice: number;
  othersCpu: number;
}

export interface OtaAbortFigures {
  devices: number;
  ratePerMinute: number;
  failPercent: number;
  /** Devices offered when it stopped: everything but pending (and skipped). */
  offered: number;
  state: string;
  reason: string | null;
  stoppedAfterMs: number;
  counts: RolloutView['counts'];
}

export interface OtaFigures {
  fleet?: OtaFleetFigures;
  abort?: OtaAbortFigures;
}

async function openFleet(gen: LoadGenerator, server: TetherServer, tokens: string[], failPercent: number, deadlineMs: number): Promise<void> {
  log(`${server.name}: connecting ${fmt(tokens.length)} devices on cmx_ota, each reporting ${RUNS}${failPercent > 0 ? `, ${failPercent} % of them failing every update` : ''}`);
  const opened = await gen.run({ kind: 'control-open', target: targetOf(server), prefix: KP_PREFIX, tokens, mode: 'ota', commandType: '', runs: RUNS, failPercent, concurrency: 100, deadlineMs });
  log(`${server.name}: ${fmt(opened.open)} devices open (${opened.failed} failed) in ${fmt(opened.seconds, 1)} s${opened.firstError ? `; first error: ${opened.firstError}` : ''}`);
  if (opened.open !== tokens.length) throw new Error(`only ${opened.open} of ${tokens.length} devices connected`);
}

async function createVersion(server: TetherServer): Promise<void> {
  await api(server, 'POST', `/otao/api/v1/applications/${APPLICATION}/software`, { version: VERSION, upgradableFrom: ['1.1.x', ''], specification: { url: 'https://updates.example.com/fw-1.2.0.bin' } }, [201]);
}

async function rollout(server: TetherServer, id: string): Promise<RolloutView> {
  return (await api<RolloutView>(server, 'GET', `/otao/api/v1/rollouts/${id}`)).body;
}

export async function measureOtaFleet(gen: LoadGenerator, server: TetherServer, plan: OtaPlan, tokens: string[]): Promise<OtaFleetFigures> {
  const count = Math.min(plan.fleetDevices, tokens.length);
  await openFleet(gen, server, tokens.slice(0, count), 0, plan.deadlineMs);
  try {
    await createVersion(server);
    await waitIdle(server.pid);
    await gen.run({ kind: 'control-stats', reset: true });
    const meter = phaseMeter(server.pid);
    const cpu0 = cpuSeconds(server.pid);
    const postAt = performance.timeOrigin + performance.now();
    const t0 = performance.now();
    const created = await api<RolloutView>(server, 'POST', `/otao/api/v1/applications/${APPLICATION}/rollouts`, { version: VERSION, target: { appVersionName: APP_VERSION } }, [201]);
    const postMs = performance.now() - t0;
    let allOfferedMs = Number.NaN;
    let allAppliedMs = Number.NaN;
    let last = created.body;
    while (performance.now() - t0 < plan.deadlineMs) {
      last = await rollout(server, created.body.rolloutId);
      if (Number.isNaN(allOfferedMs) && last.counts.pending === 0) allOfferedMs = performance.now() - t0;
      if (last.counts.applied >= count) {
        allAppliedMs = performance.now() - t0;
        break;
      }
      if (last.state !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const cpu = cpuSeconds(server.pid) - cpu0;
    const { others } = meter();
    const stats = await settledStats(gen);
    const figures: OtaFleetFigures = {
      devices: count,
      postMs,
      allOfferedMs,
      firstPushMs: stats.firstPushAt - postAt,
      lastPushMs: stats.lastPushAt - postAt,
      lastStoredMs: stats.lastAckAt - postAt,
      allAppliedMs,
      applied: last.counts.applied,
      state: last.state,
      serverCpuMsPerDevice: (cpu * 1000) / count,
      othersCpu: others,
    };
    log(
      `${server.name}: rollout to ${fmt(count)}: POST answered ${fmt(postMs)} ms, all offered ${fmt(allOfferedMs)} ms, pushes ${fmt(figures.firstPushMs)}–${fmt(figures.lastPushMs)} ms, last applied stored ${fmt(figures.lastStoredMs)} ms, rollout shows all applied ${fmt(allAppliedMs)} ms (${fmt(last.counts.applied)} applied, state ${last.state}); server CPU ${fmt(cpu, 2)} s`,
    );
    return figures;
  } finally {
    await gen.run({ kind: 'control-close' });
  }
}

export async function measureOtaAbort(gen: LoadGenerator, server: TetherServer, plan: OtaPlan, tokens: string[]): Promise<OtaAbortFigures> {
  const count = Math.min(plan.abortDevices, tokens.length);
  await openFleet(gen, server, tokens.slice(0, count), plan.failPercent, plan.deadlineMs);
  try {
    await createVersion(server);
    await waitIdle(server.pid);
    const t0 = performance.now();
    const created = await api<RolloutView>(server, 'POST', `/otao/api/v1/applications/${APPLICATION}/rollouts`, {
      version: VERSION,
      // The connected ones (the seed holds more endpoints than this fleet): the Endpoint List's `connected` filter.
      target: { query: { connected: true } },
      rate: { perMinute: plan.abortRatePerMinute },
      abort: { failurePercent: 10, minAttempted: 100 },
    }, [201]);
    let last = created.body;
    while (performance.now() - t0 < plan.deadlineMs) {
      last = await rollout(server, created.body.rolloutId);
      if (last.state !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const stoppedAfterMs = performance.now() - t0;
    // Reports of devices already offered still arrive; the count of offered ones no longer moves.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    last = await rollout(server, created.body.rolloutId);
    const c = last.counts;
    const offered = c.offered + c.applied + c.failed + c.timed_out;
    log(`${server.name}: abort rule 10 % after 100 against ${plan.failPercent} % failing, ${plan.abortRatePerMinute}/min: ${last.state} after ${fmt(stoppedAfterMs / 1000, 1)} s with ${offered} devices offered (${c.applied} applied, ${c.failed} failed, ${c.offered} open); reason: ${last.reason}`);
    return { devices: count, ratePerMinute: plan.abortRatePerMinute, failPercent: plan.failPercent, offered, state: last.state, reason: last.reason, stoppedAfterMs, counts: c };
  } finally {
    await gen.run({ kind: 'control-close' });
  }
}

export function otaRows(plan: OtaPlan, f: OtaFigures): Row[] {
  const rows: Row[] = [];
  const full = plan.mode === 'full';
  const row = (metric: string, value: string, target = '', ok?: boolean): Row => ({ metric, tether: value, reference: '', ratio: '', target, verdict: ok === undefined || !full ? '' : ok ? 'PASS' : 'MISS' });
  if (f.fleet) {
    const x = f.fleet;
    rows.push(row(`Rollout to ${fmt(x.devices)} connected devices, no rate limit, POST → every applied status stored (s)`, fmt(x.allAppliedMs / 1000, 2), '≤ 10 s', x.allAppliedMs <= 10_000 && x.applied === x.devices));
    rows.push(row('  POST answered / all offered / first push / last push / last applied stored (s)', [x.postMs, x.allOfferedMs, x.firstPushMs, x.lastPushMs, x.lastStoredMs].map((ms) => fmt(ms / 1000, 2)).join(' / ')));
    rows.push(row('  server CPU per device (ms)', fmt(x.serverCpuMsPerDevice, 3)));
  }
  if (f.abort) {
    const a = f.abort;
    rows.push(row(`Abort rule 10 % after 100, ${a.failPercent} % failing fleet of ${fmt(a.devices)}, ${fmt(a.ratePerMinute)}/min: devices offered when it stopped`, fmt(a.offered), '< 150', a.offered < 150 && a.state === 'aborted'));
    rows.push(row('  stopped after (s); state', `${fmt(a.stoppedAfterMs / 1000, 1)}; ${a.state}`));
  }
  return rows;
}

export function otaDetails(f: OtaFigures): string[] {
  const details: string[] = [];
  if (f.fleet) details.push(`rollout to the fleet: ${fmt(f.fleet.applied)} of ${fmt(f.fleet.devices)} applied, state ${f.fleet.state}; other processes used ${Math.round(f.fleet.othersCpu * 100)} % of a core meanwhile`);
  if (f.abort) details.push(`abort rule: ${f.abort.state}, reason "${f.abort.reason}"; counts ${JSON.stringify(f.abort.counts)}`);
  return details;
}
