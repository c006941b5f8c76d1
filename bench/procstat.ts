/** What the kernel says about a child process: memory and CPU time, from /proc. */
import fs from 'node:fs';

/** Resident set size in MB (VmRSS). */
export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

/** User + system CPU seconds consumed so far (all threads). Linux reports them in 1/100 s ticks. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces; fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Measures a child's CPU use over an interval, as a share of one core (1.0 = one core busy). */
export function cpuMeter(pid: number): () => number {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  return () => (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
}

/** Busy CPU seconds of the whole machine (all cores) so far, from /proc/stat. */
export function machineBusySeconds(): number {
  const first = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, ...ticks] = first.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const busy = (ticks[0] ?? 0) + (ticks[1] ?? 0) + (ticks[2] ?? 0) + (ticks[5] ?? 0) + (ticks[6] ?? 0) + (ticks[7] ?? 0);
  return busy / 100;
}

export interface PhaseCpu {
  /** The broker child, in cores. */
  server: number;
  /** Everything else on the machine except the broker and this bench process, in cores. */
  others: number;
}

/**
 * Measures where CPU went during a scenario. `others` tells whether the figures are trustworthy:
 * on a 2-core machine, other work competing with the broker skews every rate and latency.
 */
export function phaseMeter(pid: number): () => PhaseCpu {
  const server0 = cpuSeconds(pid);
  const self0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  const t0 = performance.now();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const server = (cpuSeconds(pid) - server0) / seconds;
    const selfUsage = process.cpuUsage(self0);
    const self = (selfUsage.user + selfUsage.system) / 1e6 / seconds;
    const machine = (machineBusySeconds() - machine0) / seconds;
    return { server, others: Math.max(0, machine - server - self) };
  };
}

/**
 * Waits until the child is nearly idle (below 5 % of a core over 500 ms), so backlog from one
 * scenario (disconnect bookkeeping, write batches) does not leak into the next measurement.
 */
export async function waitIdle(pid: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const meter = cpuMeter(pid);
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (meter() < 0.05) return;
  }
}

/** Soft and hard limits on open files for this process. */
export function fdLimits(): { soft: number; hard: number } {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const num = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
  return { soft: num(m?.[1]), hard: num(m?.[2]) };
}
