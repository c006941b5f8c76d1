/**
 * Offline backlog (issue 13): pending commands for endpoints that are not connected, sent as
 * batch POSTs (every endpoint once per POST), with Tether's RSS read before and after, once its CPU
 * has settled, and again after it idled a while (V8 keeps heap the POSTs' garbage grew for some
 * time; the target is read on the first figure); then one of those devices reconnects and requests its commands, and the time from
 * its TCP connect until it holds all of them (from the reply and from pushes) is measured.
 */
import { performance } from 'node:perf_hooks';
import { api, type BacklogFigures, COMMAND_TYPE, type ControlPlan, KP_PREFIX, LONG_TTL_MS, targetOf } from './control.js';
import type { LoadGenerator } from './loadgen/client.js';
import { cpuSeconds, rssMb, waitIdle } from './procstat.js';
import { fmt } from './report.js';
import { log } from './scenarios.js';
import type { TetherServer } from './servers.js';

export async function measureBacklog(gen: LoadGenerator, server: TetherServer, plan: ControlPlan, tokens: string[], endpointIds: string[]): Promise<BacklogFigures> {
  const endpoints = Math.min(plan.backlogEndpoints, endpointIds.length);
  const ids = endpointIds.slice(0, endpoints);
  const commands = endpoints * plan.backlogPerEndpoint;
  await waitIdle(server.pid);
  const rssBeforeMb = rssMb(server.pid);
  log(`${server.name}: ${fmt(commands)} pending commands for ${fmt(endpoints)} offline endpoints, ${plan.backlogPerEndpoint} batch POSTs (RSS before: ${fmt(rssBeforeMb, 1)} MB)`);
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  const tasks: string[] = [];
  for (let k = 0; k < plan.backlogPerEndpoint; k++) {
    const { body } = await api<{ taskId: string }>(server, 'POST', `/cex/api/v1/endpoints/commands/${COMMAND_TYPE}/batch/by-endpoints`, {
      payload: { action: 'update', step: k },
      endpointIds: ids,
      commandTtl: LONG_TTL_MS,
    });
    tasks.push(body.taskId);
  }
  const insertSeconds = (performance.now() - t0) / 1000;
  const serverCpuMsPerCommand = ((cpuSeconds(server.pid) - cpu0) * 1000) / commands;
  await waitIdle(server.pid);
  const rssAfterMb = rssMb(server.pid);
  let pending = 0;
  for (const taskId of tasks) pending += (await api<{ pending: number }>(server, 'GET', `/cex/api/v1/endpoints/commands/batch/tasks/${taskId}`)).body.pending;
  log(`${server.name}: stored in ${fmt(insertSeconds, 1)} s (${fmt(serverCpuMsPerCommand, 3)} ms server CPU per command), ${fmt(pending)} pending; RSS after ${fmt(rssAfterMb, 1)} MB (+${fmt(rssAfterMb - rssBeforeMb, 1)} MB)`);

  log(`${server.name}: idling ${plan.backlogSettleMs / 1000} s, then reading RSS again`);
  await new Promise((resolve) => setTimeout(resolve, plan.backlogSettleMs));
  const rssSettledMb = rssMb(server.pid);
  log(`${server.name}: RSS ${fmt(rssSettledMb, 1)} MB (+${fmt(rssSettledMb - rssBeforeMb, 1)} MB)`);

  const fetched = await gen.run({ kind: 'backlog-fetch', target: targetOf(server), prefix: KP_PREFIX, token: tokens[0]!, commandType: COMMAND_TYPE, expect: plan.backlogPerEndpoint, timeoutMs: 30_000 });
  log(`${server.name}: a reconnecting device got its ${fetched.received} outstanding commands in ${fmt(fetched.allMs, 1)} ms (CONNACK ${fmt(fetched.connackMs, 1)} ms; ${fetched.viaReply} in the reply, ${fetched.viaPush} pushed)`);
  return {
    endpoints,
    commands,
    insertSeconds,
    rssBeforeMb,
    rssAfterMb,
    rssSettledMb,
    settleSeconds: plan.backlogSettleMs / 1000,
    pending,
    connackMs: fetched.connackMs,
    allMs: fetched.allMs,
    received: fetched.received,
    expected: plan.backlogPerEndpoint,
    serverCpuMsPerCommand,
  };
}
