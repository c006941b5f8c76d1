import type { Clock } from './clock.js';

/**
 * Lets one line through per `intervalMs` and counts what it held back, so a flood of refused
 * messages costs one log line per interval, not one per message.
 */
export class LogThrottle {
  private lastAt = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
  ) {}

  /** The number of lines held back since the last one, or undefined when this one is held back too. */
  pass(): number | undefined {
    const now = this.clock.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return undefined;
    }
    this.lastAt = now;
    const held = this.suppressed;
    this.suppressed = 0;
    return held;
  }
}

/**
 * Up to `linesPerInterval` lines per key (an error code) per `intervalMs`; the first line of the
 * next interval carries how many were held back. For logs of requests anyone can send: a flood of
 * them costs a few lines per code and interval, not one per request. Keys beyond `maxKeys` share one
 * budget, so made-up keys cannot grow the map either.
 */
export class KeyedLogThrottle {
  private readonly windows = new Map<string, { startedAt: number; lines: number; held: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
    private readonly linesPerInterval = 5,
    private readonly maxKeys = 256,
  ) {}

  /** The number of lines of this key held back before this one, or undefined when this one is held back. */
  pass(key: string): number | undefined {
    const now = this.clock.now();
    const bucket = this.windows.has(key) || this.windows.size < this.maxKeys ? key : '*';
    let window = this.windows.get(bucket);
    if (!window) {
      window = { startedAt: now, lines: 0, held: 0 };
      this.windows.set(bucket, window);
    } else if (now - window.startedAt >= this.intervalMs) {
      window.startedAt = now;
      window.lines = 0;
    }
    if (window.lines >= this.linesPerInterval) {
      window.held++;
      return undefined;
    }
    window.lines++;
    const held = window.held;
    window.held = 0;
    return held;
  }
}
