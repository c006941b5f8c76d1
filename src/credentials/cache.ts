import { MultiMap } from '../core/multimap.js';
import type { TokenRecord } from '../core/types.js';

interface Entry {
  record: TokenRecord;
  /** clock.now() of the last lookup that used it: idle entries are swept (sweepIdle). */
  usedAt: number;
}

/**
 * Resolved tokens by (application, hash). Entries are dropped, never patched, when an event says a
 * token changed; `epoch` lets a lookup that read storage before such an event notice it and not
 * cache what it read. Bounded: the oldest entries go first, and entries nobody used for a while go
 * when swept, so a fleet that went quiet does not keep its tokens in memory.
 */
export class TokenCache {
  private readonly byKey = new Map<string, Entry>();
  /** Nearly every endpoint has one cached key: a MultiMap keeps it without a Set (~170 B per device). */
  private readonly keysByEndpoint = new MultiMap<string, string>();
  /** Advances on every invalidation. */
  epoch = 0;

  constructor(private readonly maxEntries: number) {}

  static key(applicationName: string, tokenHash: string): string {
    return `${applicationName}\n${tokenHash}`;
  }

  /** The cached record; `now` marks it used. */
  get(key: string, now?: number): TokenRecord | undefined {
    const entry = this.byKey.get(key);
    if (entry && now !== undefined) entry.usedAt = now;
    return entry?.record;
  }

  /** Stores the record unless an invalidation happened since `epoch` was read. */
  set(key: string, record: TokenRecord, epoch: number, now = 0): void {
    if (epoch !== this.epoch) return;
    this.byKey.delete(key);
    this.byKey.set(key, { record, usedAt: now });
    this.keysByEndpoint.add(record.endpointId, key);
    while (this.byKey.size > this.maxEntries) {
      const oldest = this.byKey.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
  }

  invalidate(key: string): void {
    this.epoch++;
    this.drop(key);
  }

  invalidateEndpoint(endpointId: string): void {
    this.epoch++;
    for (const key of this.keysByEndpoint.get(endpointId)) this.byKey.delete(key);
    this.keysByEndpoint.deleteKey(endpointId);
  }

  /** Drops the entries last used before `usedBefore`; returns how many. */
  sweepIdle(usedBefore: number): number {
    let dropped = 0;
    for (const [key, entry] of this.byKey) {
      if (entry.usedAt < usedBefore) {
        this.drop(key);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.byKey.size;
  }

  private drop(key: string): void {
    const record = this.byKey.get(key)?.record;
    if (!record) return;
    this.byKey.delete(key);
    this.keysByEndpoint.delete(record.endpointId, key);
  }
}
