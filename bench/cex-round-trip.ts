/**
 * Command round trip (issue 13): `POST /cex/api/v1/endpoints/{id}/commands/{type}?awaitTimeout=5`
 * to one connected device that answers each pushed command at once, offered open loop at a fixed
 * rate. Latency is the POST written → its 200 read, over HTTP keep-alive from the bench's main
 * thread; the device lives in the load-generator worker. The disk's fsync latency is probed just
 * before, in the same data dir.
 */
import { performance } from 'node:perf_hooks';
import { api, COMMAND_TYPE, type ControlPlan, KP_PREFIX, probeFsync, type RoundTripFigures, targetOf } from './control.js';
import type { LoadGenerator } from './loadgen/client.js';
import { cpuSeconds, phaseMeter, waitIdle } from './procstat.js';
import { fmt } from './report.js';
import { log } from './scenarios.js';
import type { TetherServer } from './servers.js';
import { Samples } from './stats.js';

export async function measureRoundTrip(gen: LoadGenerator, server: TetherServer, plan: ControlPlan, dataDir: string, token: string, endpointId: string): Promise<RoundTripFigures> {
  const opened = await gen.run({ kind: 'control-open', target: targetOf(server), prefix: KP_PREFIX, tokens: [token], mode: 'cex', commandType: COMMAND_TYPE, concurrency: 1, deadlineMs: 30_000 });
  if (opened.open !== 1) throw new Error(`the answering device did not connect: ${opened.firstError ?? 'unknown'}`);
  try {
    await waitIdle(server.pid);
    const fsync = probeFsync(dataDir, 500);
    log(`disk: 4 KiB append + fsync p50 ${fmt(fsync.p50, 2)} ms, p99 ${fmt(fsync.p99, 2)} ms, max ${fmt(fsync.max, 2)} ms`);
    log(`${server.name}: command round trips at ${plan.rttRate}/s open loop, ${plan.rttWarmupMs / 1000} s warm-up + ${plan.rttMs / 1000} s`);

    const url = `/cex/api/v1/endpoints/${encodeURIComponent(endpointId)}/commands/${COMMAND_TYPE}?awaitTimeout=5`;
    const samples = new Samples();
    let measuring = false;
    let completed = 0;
    let notExecuted = 0;
    let errors = 0;
    let firstError: string | undefined;
    const inFlight = new Set<Promise<void>>();
    const one = (n: number) => {
      const counted = measuring;
      const t = performance.now();
      const p = api<{ status: string }>(server, 'POST', url, { n }, [200, 202])
        .then((r) => {
          if (!counted) return;
          samples.add(performance.now() - t);
          completed++;
          if (r.status !== 200 || r.body.status !== 'EXECUTED') notExecuted++;
        })
        .catch((err: unknown) => {
          if (!counted) return;
          errors++;
          firstError ??= String(err);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };

    // Open loop on a 1 ms tick: what is due since the start goes out whatever the answers do.
    const start = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - start) * plan.rttRate) / 1000);
      for (; sent < due; sent++) one(sent);
    }, 1);
    await new Promise((resolve) => setTimeout(resolve, plan.rttWarmupMs));
    measuring = true;
    const meter = phaseMeter(server.pid);
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, plan.rttMs));
    clearInterval(timer);
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all([...inFlight]);
    const { server: serverCpu, others: othersCpu } = meter();
    const serverCpuMsPerCommand = ((cpuSeconds(server.pid) - cpu0) * 1000) / Math.max(1, completed);
    const latency = samples.summary();
    log(
      `${server.name}: ${completed} round trips (${fmt(completed / seconds)}/s), p50 ${fmt(latency.p50, 1)} ms, p99 ${fmt(latency.p99, 1)} ms, max ${fmt(latency.max, 1)} ms; ${notExecuted} not executed, ${errors} errors; server CPU ${fmt(serverCpuMsPerCommand, 2)} ms/command${firstError ? `; first error: ${firstError}` : ''}`,
    );
    if (othersCpu > 0.25) log(`other processes used ${Math.round(othersCpu * 100)} % of a core meanwhile: figures are skewed`);
    return { rate: completed / seconds, latency, completed, notExecuted, errors, ...(firstError && { firstError }), fsync, serverCpuMsPerCommand, serverCpu, othersCpu };
  } finally {
    await gen.run({ kind: 'control-close' });
  }
}
