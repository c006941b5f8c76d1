import type { EventBus } from '../bus/bus.js';
import type { MetadataHistoryEntry } from '../core/accounts.js';
import type { Clock } from '../core/clock.js';
import { isStorageFull } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { AccountStorage } from '../storage/accounts.js';

const HISTORY_PER_ENDPOINT = 100;
const FLUSH_EVERY_MS = 1000;
const FULL_LOG_EVERY_MS = 10_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
// Bounded so a flood of device updates while storage is slow cannot grow memory without limit.
const MAX_PENDING = 20_000;
const DAY_MS = 24 * 60 * 60 * 1000;
// An endpoint is trimmed back to HISTORY_PER_ENDPOINT after this many new versions, so the trim's
// cost is spread over many writes and an endpoint holds at most HISTORY_PER_ENDPOINT + TRIM_EVERY.
const TRIM_EVERY = 20;
/** Versions written per transaction: about a millisecond of the main thread's time. */
const HISTORY_SLICE = 64;

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Metadata changes as versions of the endpoint's metadata. Every operator change is kept. Device
 * updates are the hot path (thousands a second across a fleet): they are kept at one-second
 * resolution, the last version of each endpoint within each second, written once a second in one
 * transaction; so a device reporting 50 times a second costs one history row a second, not 50.
 * When more than MAX_PENDING wait, the oldest are dropped (and counted in the log).
 */
export class MetadataHistory {
  private pending: Array<Omit<MetadataHistoryEntry, 'id'>> = [];
  /** Device versions of this second, one per endpoint (the latest wins). */
  private pendingDevice = new Map<string, Omit<MetadataHistoryEntry, 'id'>>();
  private readonly sinceTrim = new Map<string, number>();
  private dropped = 0;
  private lostToFull = 0;
  private lastFullLogAt = -Infinity;
  private flushing: Promise<void> | undefined;
  private readonly unsubscribe: () => void;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(private readonly deps: { store: AccountStorage; bus: EventBus; clock: Clock; logger: Logger; retentionDays: number }) {
    this.unsubscribe = deps.bus.subscribe((event) => {
      if (event.type !== 'metadata.updated') return;
      const entry = { endpointId: event.endpointId, at: event.at, source: event.actor === 'device' ? ('device' as const) : ('operator' as const), metadata: event.metadata };
      if (entry.source === 'device') {
        this.pendingDevice.delete(entry.endpointId); // re-inserted: the map stays in order of the latest change
        this.pendingDevice.set(entry.endpointId, entry);
      } else this.pending.push(entry);
      if (this.pending.length + this.pendingDevice.size > MAX_PENDING) {
        const oldestDevice = this.pendingDevice.keys().next().value;
        if (this.pending.length > 0) this.pending.shift();
        else if (oldestDevice !== undefined) this.pendingDevice.delete(oldestDevice);
        this.dropped++;
      }
      // Nodes sharing a database share the history: each records the changes made through it.
    }, { localOnly: true });
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.flushTimer.unref();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /** Writes what is pending; resolves when it is stored. */
  flush(): Promise<void> {
    return (this.flushing ??= this.write().finally(() => (this.flushing = undefined)));
  }

  async query(endpointId: string, query: { before?: number; limit: number }): Promise<MetadataHistoryEntry[]> {
    await this.flush();
    return this.deps.store.queryMetadataHistory(endpointId, query);
  }

  async prune(): Promise<void> {
    try {
      const before = new Date(this.deps.clock.now() - this.deps.retentionDays * DAY_MS).toISOString();
      await this.deps.store.pruneMetadataHistory(before);
    } catch (err) {
      this.deps.logger.warn({ err }, 'old metadata history could not be deleted');
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    clearInterval(this.flushTimer);
    clearInterval(this.pruneTimer);
    await this.flush();
  }

  /** A full disk lasts: one line per FULL_LOG_EVERY_MS for the versions lost meanwhile, not one per flush. */
  private lostToFullDisk(versions: number): void {
    this.lostToFull += versions;
    const now = this.deps.clock.now();
    if (now - this.lastFullLogAt < FULL_LOG_EVERY_MS) return;
    this.lastFullLogAt = now;
    this.deps.logger.warn({ versions: this.lostToFull }, 'metadata history versions not saved: storage full');
    this.lostToFull = 0;
  }

  private async write(): Promise<void> {
    if (this.dropped > 0) {
      this.deps.logger.warn({ dropped: this.dropped }, 'metadata history versions dropped: storage fell behind');
      this.dropped = 0;
    }
    while (this.pending.length > 0 || this.pendingDevice.size > 0) {
      const batch = [...this.pending, ...this.pendingDevice.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      this.pending = [];
      this.pendingDevice = new Map();
      try {
        // In slices, with a turn of the event loop between them: on SQLite this runs on the main
        // thread, and one transaction for a fleet's second (thousands of versions) would hold up
        // every device's requests for its whole duration.
        for (let i = 0; i < batch.length; i += HISTORY_SLICE) {
          if (i > 0) await yieldTurn();
          await this.deps.store.appendMetadataHistory(batch.length <= HISTORY_SLICE ? batch : batch.slice(i, i + HISTORY_SLICE));
        }
        let trimmed = 0;
        for (const { endpointId } of batch) {
          const count = (this.sinceTrim.get(endpointId) ?? 0) + 1;
          if (count < TRIM_EVERY) {
            this.sinceTrim.set(endpointId, count);
            continue;
          }
          this.sinceTrim.delete(endpointId);
          // Endpoints that started together come due together: a turn between slices here too.
          if (++trimmed % HISTORY_SLICE === 0) await yieldTurn();
          await this.deps.store.trimMetadataHistory(endpointId, HISTORY_PER_ENDPOINT);
        }
        // Endpoints that stopped changing keep at most TRIM_EVERY extra versions; forget them.
        if (this.sinceTrim.size > 100_000) this.sinceTrim.clear();
      } catch (err) {
        if (isStorageFull(err)) this.lostToFullDisk(batch.length);
        else this.deps.logger.warn({ err, versions: batch.length }, 'metadata history versions could not be saved');
        return;
      }
    }
  }
}
