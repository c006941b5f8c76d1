import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Gives back the memory the process grew into while it was busy, once it is quiet again.
 *
 * V8 grows its young generation to what the busiest moment needed (start-up already takes it to
 * 32 MB) and keeps it while nothing allocates: an idle Tether held 32 MB of empty young generation
 * and several MB of old-generation slack, a third of its RSS. A full collection when the event loop
 * has been quiet shrinks both; V8 grows them again as soon as load returns. It runs only when the
 * heap holds at least `minSlackBytes` it does not use. V8 shrinks the young generation only when it
 * judges the recent allocation rate low, which a collection soon after a busy moment may not, so a
 * quiet spell gets up to `attempts` collections, each after `quietSamples` quiet samples, and then
 * none until the loop has been busy again: an idle fleet's pings do not pay for one every few seconds.
 */
export interface IdleTrimOptions {
  /** How often the event loop's utilization is sampled. */
  checkEveryMs?: number;
  /**
   * Consecutive quiet samples before a collection. V8 shrinks the young generation only when it has
   * allocated little over its last 5 s, so a shorter wait collects without giving anything back.
   */
  quietSamples?: number;
  /** A sample is quiet below this share of the loop's time spent busy. */
  quietUtilization?: number;
  minSlackBytes?: number;
  /** Collections per quiet spell while the slack stays above `minSlackBytes`. */
  attempts?: number;
  /** Called after each collection (logs, tests). */
  trimmed?: (result: { beforeBytes: number; afterBytes: number; ms: number }) => void;
}

export interface IdleTrim {
  stop(): void;
}

const DEFAULTS = { checkEveryMs: 1000, quietSamples: 6, quietUtilization: 0.02, minSlackBytes: 12 * 1024 * 1024, attempts: 3 };

export function startIdleTrim(options: IdleTrimOptions = {}): IdleTrim {
  const settings = { ...DEFAULTS, ...options };
  const collect = fullCollection();
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let quiet = 0;
  let attemptsLeft = settings.attempts;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (utilization >= settings.quietUtilization) {
      quiet = 0;
      attemptsLeft = settings.attempts;
      return;
    }
    quiet += 1;
    if (quiet < settings.quietSamples || attemptsLeft === 0) return;
    const before = v8.getHeapStatistics();
    if (slack(before) < settings.minSlackBytes) {
      attemptsLeft = 0;
      return;
    }
    const started = performance.now();
    collect();
    const ms = performance.now() - started;
    const after = v8.getHeapStatistics();
    attemptsLeft = slack(after) < settings.minSlackBytes ? 0 : attemptsLeft - 1;
    quiet = 0;
    // The collection itself made this sample busy: start the next window after it.
    last = performance.eventLoopUtilization();
    settings.trimmed?.({ beforeBytes: before.total_heap_size, afterBytes: after.total_heap_size, ms });
  }, settings.checkEveryMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

const slack = (heap: v8.HeapInfo) => heap.total_heap_size - heap.used_heap_size;

/**
 * Node has no API to ask for a full collection without `--expose-gc` on the command line, which a
 * process cannot give itself, and users start Tether with plain `npx tether start`. The flag set at
 * run time applies to contexts made afterwards, so one new context hands over its `gc`.
 */
function fullCollection(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc !== 'function') return () => {};
  // The first collection empties the young generation; V8 shrinks it only at the next one, which
  // then finds it nearly empty and costs little.
  return () => {
    gc();
    gc();
  };
}
