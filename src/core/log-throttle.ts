import type { Clock } from './clock.js';

/**
 * Lets at most `linesPerInterval` lines through in any `intervalMs` and counts what it held back, so
 * a flood of refused messages costs a few log lines per interval, not one per message.
 */
export class LogThrottle {
  /** When the last `linesPerInterval` lines passed, oldest at `next`. */
  private readonly passedAt: number[];
  private next = 0;
  private suppressed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
    linesPerInterval = 1,
  ) {
    this.passedAt = new Array<number>(linesPerInterval).fill(-Infinity);
  }

  /** The number of lines held back since the last one, or undefined when this one is held back too. */
  pass(): number | undefined {
    const now = this.clock.now();
    if (now - this.passedAt[this.next]! < this.intervalMs) {
      this.suppressed++;
      return undefined;
    }
    this.passedAt[this.next] = now;
    this.next = (this.next + 1) % this.passedAt.length;
    const held = this.suppressed;
    this.suppressed = 0;
    return held;
  }
}

/**
 * A LogThrottle per key (an error code), for logs of requests anyone can send: a flood of them costs
 * a few lines per code and interval, not one per request. Keys beyond `maxKeys` share one throttle,
 * so made-up keys cannot grow the map either.
 */
export class KeyedLogThrottle {
  private readonly throttles = new Map<string, LogThrottle>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
    private readonly linesPerInterval = 5,
    private readonly maxKeys = 256,
  ) {}

  /** The number of lines of this key held back before this one, or undefined when this one is held back. */
  pass(key: string): number | undefined {
    const bucket = this.throttles.has(key) || this.throttles.size < this.maxKeys ? key : '*';
    let throttle = this.throttles.get(bucket);
    if (!throttle) this.throttles.set(bucket, (throttle = new LogThrottle(this.clock, this.intervalMs, this.linesPerInterval)));
    return throttle.pass();
  }
}
