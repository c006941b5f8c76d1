import type { Iso } from './types.js';

/** Time comes through this so tests can control it instead of sleeping. */
export interface Clock {
  now(): number;
  iso(): Iso;
}

// Several parts stamp every device message: within one millisecond the string is the same.
let isoAt = -1;
let isoText = '';

export const systemClock: Clock = {
  now: () => Date.now(),
  iso: () => {
    const now = Date.now();
    if (now !== isoAt) {
      isoAt = now;
      isoText = new Date(now).toISOString();
    }
    return isoText;
  },
};
