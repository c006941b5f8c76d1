import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Gives back the memory the process grew into while it was busy, once it is quiet again.
 *
 * V8 grows its young generation to what the busiest moment needed (start-up already takes it to
 * 32 MB) and keeps it while nothing allocates: an idle Tether held 32 MB of empty young generation
 * and several MB of old-generation slack, a third of its RSS. One full collection when the event
 * loop has been quiet shrinks both; V8 grows them again as soon as load returns. It runs only when
 * the heap holds at least `minSlackBytes` it does not use, at most once per `minIntervalMs`, and not
 * again until the loop has been busy in between, so an idle fleet (pings) does not pay for it twice.
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
  minIntervalMs?: number;
  /** Called after each collection (logs, tests). */
  trimmed?: (result: { beforeBytes: number; afterBytes: number; ms: number }) => void;
}

export interface IdleTrim {
  stop(): void;
}

const DEFAULTS = { checkEveryMs: 1000, quietSamples: 6, quietUtilization: 0.02, minSlackBytes: 12 * 1024 * 1024, minIntervalMs: 30_000 };

export function startIdleTrim(options: IdleTrimOptions = {}): IdleTrim {
  const settings = { ...DEFAULTS, ...options };
  const collect = fullCollection();
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let quiet = 0;
  let busySinceTrim = true;
  let lastTrimAt = -Infinity;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (utilization >= settings.quietUtilization) {
      quiet = 0;
      busySinceTrim = true;
      return;
    }
    quiet += 1;
    if (quiet < settings.quietSamples || !busySinceTrim || performance.now() - lastTrimAt < settings.minIntervalMs) return;
    const before = v8.getHeapStatistics();
    if (before.total_heap_size - before.used_heap_size < settings.minSlackBytes) return;
    const started = performance.now();
    collect();
    lastTrimAt = performance.now();
    busySinceTrim = false;
    // The collection itself made this sample busy: start the next window after it.
    last = performance.eventLoopUtilization();
    settings.trimmed?.({ beforeBytes: before.total_heap_size, afterBytes: v8.getHeapStatistics().total_heap_size, ms: lastTrimAt - started });
  }, settings.checkEveryMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

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
