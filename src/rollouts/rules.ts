/**
 * The arithmetic of a rollout, apart from storage and time so each rule is tested on its own:
 * the rate with its growth, the abort rule, and the words a rollout's `reason` says.
 */
import type { AbortRule, RolloutCounts, RolloutRate } from '../core/rollouts.js';

/** Devices per minute now: the base rate multiplied by `factor` after every `everySuccesses` applied. */
export function currentRate(rate: RolloutRate, applied: number): number {
  const growth = rate.growth;
  if (!growth || growth.factor === 1) return rate.perMinute;
  const steps = Math.floor(applied / growth.everySuccesses);
  // Beyond any fleet's size: keeps the number finite for a huge factor.
  return Math.min(rate.perMinute * growth.factor ** steps, 1e9);
}

/**
 * The offering budget after `elapsedMs` more at `perMinute`: credit accrues continuously and is
 * spent whole devices at a time; it never holds more than one minute's worth (a node that stalled,
 * or a clock that jumped, does not release a burst beyond what the rate allows in a minute). It
 * starts at 1: the first device goes at once.
 */
export function accrue(credit: number, perMinute: number, elapsedMs: number): number {
  return Math.min(credit + (Math.max(0, elapsedMs) * perMinute) / 60_000, Math.max(1, perMinute));
}

export const INITIAL_CREDIT = 1;

/** Finished devices (applied, failed, timed out) and those of them that count as failures. */
export function finished(counts: RolloutCounts): { finished: number; failed: number } {
  const failed = counts.failed + counts.timed_out;
  return { finished: counts.applied + failed, failed };
}

/**
 * AWS IoT Jobs' abort criteria, Tether's words: stop when more than `failurePercent` % of the
 * finished devices failed (timed out counts as failed), once at least `minAttempted` finished.
 * Returns the reason to abort, or undefined.
 */
export function abortReason(rule: AbortRule | null, counts: RolloutCounts): string | undefined {
  if (!rule) return undefined;
  const { finished: done, failed } = finished(counts);
  if (done < rule.minAttempted || done === 0) return undefined;
  if (failed * 100 <= rule.failurePercent * done) return undefined;
  const timedOut = counts.timed_out > 0 ? ` (${counts.timed_out} of them timed out)` : '';
  return `aborted: ${failed} of ${done} devices failed${timedOut} (${percent(failed, done)} %), above the ${rule.failurePercent} % limit`;
}

export function completedReason(counts: RolloutCounts): string {
  const parts = [`${counts.applied} applied`, `${counts.failed} failed`];
  if (counts.timed_out > 0) parts.push(`${counts.timed_out} timed out`);
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  return `completed: ${parts.join(', ')}`;
}

/** One decimal when it matters: 31 %, 10.5 %. */
function percent(part: number, whole: number): string {
  const p = (part * 100) / whole;
  return Number.isInteger(p) ? String(p) : p.toFixed(1);
}
