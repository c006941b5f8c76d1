import type { Clock } from '../../src/core/clock.js';

export interface TestClock extends Clock {
  advance(ms: number): void;
}

/** A clock that moves only when the test says so. */
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
