import type { AuditEntry, AuditQuery, NewAuditEntry } from '../core/accounts.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { AccountStorage } from '../storage/accounts.js';

export const DEFAULT_AUDIT_RETENTION_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const RECORD_BATCH = 1000;

/** The audit trail: who changed what (docs/accounts.md). Old entries go after the retention period. */
export class AuditLog {
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: { store: AccountStorage; clock: Clock; logger: Logger; retentionDays: number }) {
    this.timer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  get retentionDays(): number {
    return this.deps.retentionDays;
  }

  /** Never fails the request that made the change: the change is already committed. */
  async record(entry: Omit<NewAuditEntry, 'at'> & { at?: string }): Promise<void> {
    try {
      await this.deps.store.appendAudit({ ...entry, at: entry.at ?? this.deps.clock.iso() });
    } catch (err) {
      this.deps.logger.error({ err, action: entry.action }, 'audit entry could not be saved');
    }
  }

  /**
   * Several entries of one change (an import), in order, a transaction per RECORD_BATCH: on SQLite the
   * account storage writes on the main thread, so one huge transaction would stall every device.
   * Never fails the request either.
   */
  async recordMany(entries: Array<Omit<NewAuditEntry, 'at'>>): Promise<void> {
    if (entries.length === 0) return;
    const at = this.deps.clock.iso();
    try {
      for (let start = 0; start < entries.length; start += RECORD_BATCH) {
        await this.deps.store.appendAuditBatch(entries.slice(start, start + RECORD_BATCH).map((entry) => ({ ...entry, at })));
      }
    } catch (err) {
      this.deps.logger.error({ err, action: entries[0]!.action, entries: entries.length }, 'audit entries could not be saved');
    }
  }

  query(query: AuditQuery): Promise<AuditEntry[]> {
    return this.deps.store.queryAudit(query);
  }

  async prune(): Promise<number> {
    try {
      return await this.deps.store.pruneAudit(new Date(this.deps.clock.now() - this.deps.retentionDays * DAY_MS).toISOString());
    } catch (err) {
      this.deps.logger.warn({ err }, 'old audit entries could not be deleted');
      return 0;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
