import type { TokenRecord } from '../core/types.js';

/**
 * Resolved tokens by (application, hash). Entries are dropped, never patched, when an event says a
 * token changed; `epoch` lets a lookup that read storage before such an event notice it and not
 * cache what it read. Bounded: the oldest entries go first.
 */
export class TokenCache {
  private readonly byKey = new Map<string, TokenRecord>();
  private readonly keysByEndpoint = new Map<string, Set<string>>();
  /** Advances on every invalidation. */
  epoch = 0;

  constructor(private readonly maxEntries: number) {}

  static key(applicationName: string, tokenHash: string): string {
    return `${applicationName}\n${tokenHash}`;
  }

  get(key: string): TokenRecord | undefined {
    return this.byKey.get(key);
  }

  /** Stores the record unless an invalidation happened since `epoch` was read. */
  set(key: string, record: TokenRecord, epoch: number): void {
    if (epoch !== this.epoch) return;
    this.byKey.delete(key);
    this.byKey.set(key, record);
    let keys = this.keysByEndpoint.get(record.endpointId);
    if (!keys) this.keysByEndpoint.set(record.endpointId, (keys = new Set()));
    keys.add(key);
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
    for (const key of this.keysByEndpoint.get(endpointId) ?? []) this.byKey.delete(key);
    this.keysByEndpoint.delete(endpointId);
  }

  get size(): number {
    return this.byKey.size;
  }

  private drop(key: string): void {
    const record = this.byKey.get(key);
    if (!record) return;
    this.byKey.delete(key);
    const keys = this.keysByEndpoint.get(record.endpointId);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByEndpoint.delete(record.endpointId);
  }
}
