import type { Iso } from './types.js';

/** Time comes through this so tests can control it instead of sleeping. */
export interface Clock {
  now(): number;
  iso(): Iso;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  iso: () => new Date().toISOString(),
};
