/**
 * Fleet configuration (issue 13): every seeded device connected and observing its default
 * configuration (`{"observe":true}` on `…/cmx/<token>/config/json/<requestId>`); one
 * `PUT /ecr/api/v1/app-versions/{appVersion}` with a new default; each device reports
 * `applied/json` with the configId it was pushed. Measured from the PUT until the statuses
 * endpoint counts every status of that configId APPLIED. The statuses endpoint has no status
 * filter, so APPLIED is counted over its pages (1,000 a page) once the count of statuses (one per
 * device dispatched to) is complete and the devices' PUBACKs say every report was stored;
 * before that, only the cheap count is polled so the polling does not slow the server down.
 */
import { performance } from 'node:perf_hooks';
import { api, type ControlPlan, type FleetConfigFigures, KP_PREFIX, settledStats, targetOf, wallMs } from './control.js';
import type { LoadGenerator } from './loadgen/client.js';
import { cpuSeconds, phaseMeter, waitIdle } from './procstat.js';
import { fmt } from './report.js';
import { log } from './scenarios.js';
import { APP_VERSION } from './seed.js';
import type { TetherServer } from './servers.js';

const POLL_MS = 100;
const PAGE = 1000;

interface StatusPage {
  totalElements: number;
  content: Array<{ status: string }>;
}

async function countApplied(server: TetherServer, configId: string, total: number): Promise<number> {
  let applied = 0;
  for (let page = 0; page * PAGE < total; page++) {
    const { body } = await api<StatusPage>(server, 'GET', `/ecr/api/v1/statuses?appVersionName=${APP_VERSION}&configId=${configId}&size=${PAGE}&page=${page}`);
    for (const s of body.content) if (s.status === 'APPLIED') applied++;
  }
  return applied;
}

export async function measureFleetConfiguration(gen: LoadGenerator, server: TetherServer, plan: ControlPlan, tokens: string[]): Promise<FleetConfigFigures> {
  const count = Math.min(plan.fleetDevices, tokens.length);
  log(`${server.name}: connecting ${fmt(count)} devices, each observing its default configuration`);
  const opened = await gen.run({ kind: 'control-open', target: targetOf(server), prefix: KP_PREFIX, tokens: tokens.slice(0, count), mode: 'cmx', commandType: '', concurrency: 100, deadlineMs: plan.fleetDeadlineMs });
  log(`${server.name}: ${fmt(opened.open)} devices open (${opened.failed} failed) in ${fmt(opened.seconds, 1)} s${opened.firstError ? `; first error: ${opened.firstError}` : ''}`);
  try {
    if (opened.open !== count) throw new Error(`only ${opened.open} of ${count} devices connected`);
    await waitIdle(server.pid);
    await gen.run({ kind: 'control-stats', reset: true });

    const meter = phaseMeter(server.pid);
    const cpu0 = cpuSeconds(server.pid);
    const putAt = wallMs();
    const t0 = performance.now();
    const { body } = await api<{ configId: string }>(server, 'PUT', `/ecr/api/v1/app-versions/${APP_VERSION}`, { reportEverySeconds: 30, thresholds: { temperature: 28.5 }, revision: Date.now() });
    const putMs = performance.now() - t0;
    const configId = body.configId;
    let dispatched = 0;
    let applied = 0;
    let allAppliedMs = NaN;
    while (performance.now() - t0 < plan.fleetDeadlineMs) {
      const statuses = await api<StatusPage>(server, 'GET', `/ecr/api/v1/statuses?appVersionName=${APP_VERSION}&configId=${configId}&size=1`);
      dispatched = statuses.body.totalElements;
      if (dispatched >= count) {
        const stats = await gen.run({ kind: 'control-stats', reset: false });
        if (stats.acked >= count) {
          applied = await countApplied(server, configId, dispatched);
          if (applied >= count) {
            allAppliedMs = performance.now() - t0;
            break;
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const cpuToDone = cpuSeconds(server.pid) - cpu0;
    const { others: othersCpu } = meter();
    const stats = await settledStats(gen);
    await waitIdle(server.pid);
    const figures: FleetConfigFigures = {
      devices: count,
      putMs,
      firstPushMs: stats.firstPushAt - putAt,
      lastPushMs: stats.lastPushAt - putAt,
      lastStoredMs: stats.lastAckAt - putAt,
      allAppliedMs,
      applied,
      serverCpuMsPerDevice: (cpuToDone * 1000) / count,
      othersCpu,
    };
    log(
      `${server.name}: new default for ${fmt(count)}: PUT answered ${fmt(putMs)} ms, pushes ${fmt(figures.firstPushMs)}–${fmt(figures.lastPushMs)} ms, last applied stored ${fmt(figures.lastStoredMs)} ms, REST counts all APPLIED ${fmt(allAppliedMs)} ms (${fmt(dispatched)} statuses, ${fmt(applied)} APPLIED; devices got ${fmt(stats.pushes)}, answered ${fmt(stats.answers)}, ${fmt(stats.acked)} acked); server CPU ${fmt(cpuToDone, 2)} s`,
    );
    if (othersCpu > 0.25) log(`other processes used ${Math.round(othersCpu * 100)} % of a core meanwhile: figures are skewed`);
    return figures;
  } finally {
    await gen.run({ kind: 'control-close' });
  }
}
