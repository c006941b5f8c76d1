import type { Clock } from '../../core/clock.js';

/**
 * Counts failed sign-ins per client address in a fixed window. After `maxPerClient` failures an
 * address is refused until its window ends, even with the right password; `maxTotal` caps failures
 * from all addresses together so spreading a guessing attack over many addresses does not help.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, { count: number; windowStart: number }>();
  private total = { count: 0, windowStart: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly options = { windowMs: 15 * 60 * 1000, maxPerClient: 5, maxTotal: 100 },
  ) {}

  /** Seconds until the client may try again, or 0 when it may try now. */
  retryAfter(client: string): number {
    const now = this.clock.now();
    const { windowMs, maxPerClient, maxTotal } = this.options;
    const entry = this.failures.get(client);
    if (entry && now - entry.windowStart < windowMs && entry.count >= maxPerClient) {
      return Math.ceil((entry.windowStart + windowMs - now) / 1000);
    }
    if (now - this.total.windowStart < windowMs && this.total.count >= maxTotal) {
      return Math.ceil((this.total.windowStart + windowMs - now) / 1000);
    }
    return 0;
  }

  recordFailure(client: string): void {
    const now = this.clock.now();
    const { windowMs } = this.options;
    const entry = this.failures.get(client);
    if (!entry || now - entry.windowStart >= windowMs) this.failures.set(client, { count: 1, windowStart: now });
    else entry.count++;
    if (now - this.total.windowStart >= windowMs) this.total = { count: 1, windowStart: now };
    else this.total.count++;
    if (this.failures.size > 10_000) this.forgetExpired(now);
  }

  recordSuccess(client: string): void {
    this.failures.delete(client);
  }

  private forgetExpired(now: number): void {
    for (const [client, entry] of this.failures) {
      if (now - entry.windowStart >= this.options.windowMs) this.failures.delete(client);
    }
  }
}
