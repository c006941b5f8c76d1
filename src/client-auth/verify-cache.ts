import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';

/**
 * Remembers, for a short while, that a password was right for a credential, so a reconnect storm
 * of thousands of CONNECTs per second does not run scrypt for each. Keys are the credential ID and
 * an HMAC of the password under a key that lives only in this process: what sits in memory cannot
 * be used to guess passwords offline. Only successes are cached; a status change or deletion of the
 * credential drops its entries (status is also re-read on every CONNECT).
 * Concurrent checks of the same pair share one scrypt run.
 */
interface Pending {
  result: Promise<boolean>;
  invalidated: boolean;
}

export class VerifyCache {
  private readonly key = randomBytes(32);
  private readonly verified = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** Runs `verify` unless a fresh success is cached for this credential and password. */
  async check(credentialId: string, password: string, verify: () => Promise<boolean>): Promise<boolean> {
    const key = `${credentialId}:${createHmac('sha256', this.key).update(password).digest('base64url')}`;
    const expires = this.verified.get(key);
    if (expires !== undefined) {
      if (expires > this.clock.now()) return true;
      this.verified.delete(key);
    }
    const shared = this.pending.get(key);
    if (shared) return shared.result;
    const run: Pending = { result: verify(), invalidated: false };
    this.pending.set(key, run);
    try {
      const ok = await run.result;
      // Cached only if no status change came in while scrypt ran.
      if (ok && !run.invalidated) this.remember(key);
      return ok;
    } finally {
      if (this.pending.get(key) === run) this.pending.delete(key);
    }
  }

  invalidate(credentialId: string): void {
    const prefix = `${credentialId}:`;
    for (const key of this.verified.keys()) if (key.startsWith(prefix)) this.verified.delete(key);
    for (const [key, run] of this.pending) {
      if (!key.startsWith(prefix)) continue;
      run.invalidated = true;
      this.pending.delete(key);
    }
  }

  get size(): number {
    return this.verified.size;
  }

  private remember(key: string): void {
    this.verified.delete(key);
    this.verified.set(key, this.clock.now() + this.ttlMs);
    if (this.verified.size > this.maxEntries) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
  }
}
