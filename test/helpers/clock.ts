import type { Clock } from '../../src/core/clock.js';

export interface TestClock extends Clock {
  advance(ms: number): void;
}

/**
 * The one clock tests move by hand: rate limits, keepalives, session expiry and caches then never
 * depend on real time. Starts at 2026-01-01T00:00:00Z unless told otherwise.
 */
export function createTestClock(start = Date.parse('2026-01-01T00:00:00.000Z')): TestClock {
  let now = start;
  return {
    now: () => now,
    iso: () => new Date(now).toISOString(),
    advance(ms: number) {
      now += ms;
    },
  };
}
