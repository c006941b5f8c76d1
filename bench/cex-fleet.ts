/**
 * Fleet command (issue 13): every seeded device connected (one worker thread holds them all on raw
 * sockets), each having sent one command request; one `POST …/commands/{type}/batch/by-endpoints`
 * to all of them; each answers its command at once. Measured from the POST until the task's
 * progress counts every command EXECUTED, polled over REST; the devices' own timestamps (pushes
 * received, PUBACKs of the results) show where the time went.
 */
import { performance } from 'node:perf_hooks';
import { api, COMMAND_TYPE, type ControlPlan, type FleetCommandFigures, KP_PREFIX, LONG_TTL_MS, settledStats, targetOf, wallMs } from './control.js';
import type { LoadGenerator } from './loadgen/client.js';
import { cpuSeconds, phaseMeter, waitIdle } from './procstat.js';
import { fmt } from './report.js';
import { log } from './scenarios.js';
import type { TetherServer } from './servers.js';

const POLL_MS = 100;

export async function measureFleetCommand(gen: LoadGenerator, server: TetherServer, plan: ControlPlan, tokens: string[], endpointIds: string[]): Promise<FleetCommandFigures> {
  const count = Math.min(plan.fleetDevices, tokens.length);
  log(`${server.name}: connecting ${fmt(count)} devices, each sending one command request first`);
  const opened = await gen.run({ kind: 'control-open', target: targetOf(server), prefix: KP_PREFIX, tokens: tokens.slice(0, count), mode: 'cex', commandType: COMMAND_TYPE, concurrency: 100, deadlineMs: plan.fleetDeadlineMs });
  log(`${server.name}: ${fmt(opened.open)} devices open (${opened.failed} failed) in ${fmt(opened.seconds, 1)} s${opened.firstError ? `; first error: ${opened.firstError}` : ''}`);
  try {
    if (opened.open !== count) throw new Error(`only ${opened.open} of ${count} devices connected`);
    await waitIdle(server.pid);
    await gen.run({ kind: 'control-stats', reset: true });

    const meter = phaseMeter(server.pid);
    const cpu0 = cpuSeconds(server.pid);
    const postAt = wallMs();
    const t0 = performance.now();
    const { body } = await api<{ taskId: string }>(server, 'POST', `/cex/api/v1/endpoints/commands/${COMMAND_TYPE}/batch/by-endpoints`, {
      payload: { action: 'blink', seconds: 3 },
      endpointIds: endpointIds.slice(0, count),
      commandTtl: LONG_TTL_MS,
    });
    const postMs = performance.now() - t0;
    let executed = 0;
    let allExecutedMs = NaN;
    while (performance.now() - t0 < plan.fleetDeadlineMs) {
      const task = await api<{ executed: number }>(server, 'GET', `/cex/api/v1/endpoints/commands/batch/tasks/${body.taskId}`);
      executed = task.body.executed;
      if (executed >= count) {
        allExecutedMs = performance.now() - t0;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const cpuToDone = cpuSeconds(server.pid) - cpu0;
    const { others: othersCpu } = meter();
    const stats = await settledStats(gen);
    await waitIdle(server.pid);
    const cpuToIdle = cpuSeconds(server.pid) - cpu0;
    const figures: FleetCommandFigures = {
      devices: count,
      postMs,
      firstPushMs: stats.firstPushAt - postAt,
      lastPushMs: stats.lastPushAt - postAt,
      lastStoredMs: stats.lastAckAt - postAt,
      allExecutedMs,
      executed,
      serverCpuMsPerCommand: (cpuToDone * 1000) / count,
      othersCpu,
    };
    log(
      `${server.name}: batch to ${fmt(count)}: POST answered ${fmt(postMs)} ms, pushes ${fmt(figures.firstPushMs)}–${fmt(figures.lastPushMs)} ms, last result stored ${fmt(figures.lastStoredMs)} ms, task all EXECUTED ${fmt(allExecutedMs)} ms (${fmt(executed)} executed; devices got ${fmt(stats.pushes)}, answered ${fmt(stats.answers)}, ${fmt(stats.acked)} acked); server CPU ${fmt(cpuToDone, 2)} s to done, ${fmt(cpuToIdle, 2)} s to idle`,
    );
    if (othersCpu > 0.25) log(`other processes used ${Math.round(othersCpu * 100)} % of a core meanwhile: figures are skewed`);
    return figures;
  } finally {
    await gen.run({ kind: 'control-close' });
  }
}
