import type { Clock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import type { TetherError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';

/**
 * Per-connection and per-address bookkeeping for the MQTT limits in core/limits.ts.
 * Small classes, no I/O: the server and request path decide what to do on excess.
 */

/** Token bucket: `capacity` messages at once, refilled at `ratePerSecond`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: Clock,
    private readonly ratePerSecond: number,
    private readonly capacity: number,
  ) {
    this.tokens = capacity;
    this.last = clock.now();
  }

  /** Takes one token; false when the bucket is empty (the message is over the rate). */
  take(): boolean {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until `take()` can succeed again. */
  msUntilToken(): number {
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }
}

/** Counts events within a sliding window of `windowMs` (in whole-window steps): the refusal limit. */
export class WindowCounter {
  private windowStart: number;
  private count = 0;

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
  ) {
    this.windowStart = clock.now();
  }

  /** Counts one; returns the count within the current window. */
  add(): number {
    const now = this.clock.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count;
  }
}

/** Open connections in total and per client address. */
export class ConnectionCounter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /**
   * Counts a new connection, or says which limit refuses it. The returned release must be
   * called exactly once when the connection ends (extra calls are ignored).
   */
  admit(address: string | undefined): { release: () => void } | { refused: 'total' | 'address' } {
    if (this.total >= this.maxTotal) return { refused: 'total' };
    const key = address ?? '';
    const count = this.perAddress.get(key) ?? 0;
    // A stream without an address (e.g. an in-process test stream) counts only towards the total.
    if (address !== undefined && count >= this.maxPerAddress) return { refused: 'address' };
    this.total++;
    this.perAddress.set(key, count + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.perAddress.get(key) ?? 1) - 1;
        if (left <= 0) this.perAddress.delete(key);
        else this.perAddress.set(key, left);
      },
    };
  }

  get size(): number {
    return this.total;
  }
}

/** Topic length and depth (limits.maxTopicLength, limits.maxTopicLevels), checked before anything parses the topic. */
export function topicLimitProblem(topic: string, limits: Pick<Limits, 'maxTopicLength' | 'maxTopicLevels'>): TetherError | undefined {
  if (topic.length > limits.maxTopicLength) return errors.topicTooLong(limits.maxTopicLength);
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) levels++;
  if (levels > limits.maxTopicLevels) return errors.topicTooDeep(limits.maxTopicLevels);
  return undefined;
}
