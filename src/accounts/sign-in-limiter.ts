import type { Clock } from '../core/clock.js';

interface Window {
  count: number;
  windowStart: number;
}

export interface ThrottleView {
  /** null: the whole address is blocked, whatever the username. */
  username: string | null;
  clientAddress: string;
  failures: number;
  retryAfterSeconds: number;
}

const DEFAULTS = { windowMs: 15 * 60 * 1000, maxPerAccountAndClient: 5, maxPerClient: 20, maxTotal: 100 };

/**
 * Counts failed sign-ins in fixed windows: per (username, client address), per client address, and
 * overall. Five failures for one username from one address block that pair only, so someone
 * guessing at `admin` from elsewhere does not lock the real admin out; twenty from one address (any
 * usernames) block the address; `maxTotal` caps guessing spread over many addresses. An admin can
 * clear blocks (DELETE /api/v1/sign-in-throttles); they live in memory, so a restart clears them too.
 */
export class SignInLimiter {
  private readonly pairs = new Map<string, Window & { username: string; client: string }>();
  private readonly clients = new Map<string, Window>();
  private total: Window = { count: 0, windowStart: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly options = DEFAULTS,
  ) {}

  /** Seconds until this username may be tried from this address, or 0 when it may be tried now. */
  retryAfter(username: string, client: string): number {
    const now = this.clock.now();
    const o = this.options;
    const wait = (w: Window | undefined, max: number) =>
      w && now - w.windowStart < o.windowMs && w.count >= max ? Math.ceil((w.windowStart + o.windowMs - now) / 1000) : 0;
    return Math.max(wait(this.pairs.get(pairKey(username, client)), o.maxPerAccountAndClient), wait(this.clients.get(client), o.maxPerClient), wait(this.total, o.maxTotal));
  }

  recordFailure(username: string, client: string): void {
    const now = this.clock.now();
    const bump = <W extends Window>(w: W | undefined, fresh: () => W): W => {
      if (!w || now - w.windowStart >= this.options.windowMs) return fresh();
      w.count++;
      return w;
    };
    const key = pairKey(username, client);
    this.pairs.set(key, bump(this.pairs.get(key), () => ({ count: 1, windowStart: now, username, client })));
    this.clients.set(client, bump(this.clients.get(client), () => ({ count: 1, windowStart: now })));
    this.total = bump(this.total, () => ({ count: 1, windowStart: now }));
    if (this.pairs.size > 10_000 || this.clients.size > 10_000) this.forgetExpired(now);
  }

  recordSuccess(username: string, client: string): void {
    this.pairs.delete(pairKey(username, client));
  }

  /** Blocked pairs and addresses, for admins. */
  list(): ThrottleView[] {
    const now = this.clock.now();
    const o = this.options;
    const left = (w: Window) => Math.ceil((w.windowStart + o.windowMs - now) / 1000);
    const views: ThrottleView[] = [];
    for (const w of this.pairs.values()) {
      if (now - w.windowStart < o.windowMs && w.count >= o.maxPerAccountAndClient) views.push({ username: w.username, clientAddress: w.client, failures: w.count, retryAfterSeconds: left(w) });
    }
    for (const [client, w] of this.clients) {
      if (now - w.windowStart < o.windowMs && w.count >= o.maxPerClient) views.push({ username: null, clientAddress: client, failures: w.count, retryAfterSeconds: left(w) });
    }
    return views;
  }

  /** Clears the blocks matching both filters (all when neither is given); resolves how many. */
  clear(filter: { username?: string; clientAddress?: string } = {}): number {
    let cleared = 0;
    for (const [key, w] of this.pairs) {
      if ((filter.username === undefined || w.username === filter.username) && (filter.clientAddress === undefined || w.client === filter.clientAddress)) {
        this.pairs.delete(key);
        cleared++;
      }
    }
    if (filter.username === undefined) {
      for (const client of [...this.clients.keys()]) {
        if (filter.clientAddress === undefined || client === filter.clientAddress) {
          this.clients.delete(client);
          cleared++;
        }
      }
    }
    if (filter.username === undefined && filter.clientAddress === undefined) this.total = { count: 0, windowStart: 0 };
    return cleared;
  }

  private forgetExpired(now: number): void {
    for (const [key, w] of this.pairs) if (now - w.windowStart >= this.options.windowMs) this.pairs.delete(key);
    for (const [key, w] of this.clients) if (now - w.windowStart >= this.options.windowMs) this.clients.delete(key);
  }
}

function pairKey(username: string, client: string): string {
  return `${client}\u0000${username}`;
}
