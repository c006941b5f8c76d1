import type { Clock } from './clock.js';
import type { Logger } from './log.js';

/**
 * Whether the storage has run out of room, as the writes that failed for it tell. Writes are never
 * held back on its account: each one tries the disk itself, so they resume the moment space returns.
 * What this adds is what an operator needs: `/readyz` says "storage full" while it lasts, the log
 * gets one line per interval however many writes were refused (not one per device message), and
 * one line when it is over. While full, a probe write (`probe`) every `probeMs` finds out that
 * space returned even when no device is writing.
 */
export class StorageFull {
  private since: number | undefined;
  private refusedTotal = 0;
  private refusedSinceLine = 0;
  private lastLineAt = -Infinity;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    private readonly options: {
      logger: Logger;
      clock: Clock;
      /** Where the data lives, named in the log line so the operator knows which filesystem to free. */
      where: string;
      /** A small write; resolves once committed. */
      probe?: () => Promise<void>;
      intervalMs?: number;
      probeMs?: number;
    },
  ) {}

  get full(): boolean {
    return this.since !== undefined;
  }

  /** A write failed for lack of space (STORAGE_FULL). */
  refused(): void {
    const now = this.options.clock.now();
    if (this.since === undefined) {
      this.since = now;
      this.refusedTotal = 0;
      this.refusedSinceLine = 0;
      // lastLineAt is kept: a disk that flaps between full and not still logs once per interval.
      this.startProbe();
    }
    this.refusedTotal++;
    this.refusedSinceLine++;
    if (now - this.lastLineAt >= (this.options.intervalMs ?? 10_000)) {
      this.options.logger.error(
        { where: this.options.where, refused: this.refusedSinceLine, fullForSeconds: Math.round((now - this.since) / 1000) },
        'storage full: writes are refused and not acknowledged until space is freed on the filesystem of the data directory',
      );
      this.lastLineAt = now;
      this.refusedSinceLine = 0;
    }
  }

  /** A write committed: if storage was full, it is not any more. */
  stored(): void {
    if (this.since === undefined) return;
    const seconds = (this.options.clock.now() - this.since) / 1000;
    this.since = undefined;
    this.stopProbe();
    this.options.logger.info({ where: this.options.where, refused: this.refusedTotal, fullForSeconds: Math.round(seconds * 10) / 10 }, 'storage has space again: writes are stored');
  }

  close(): void {
    this.stopProbe();
  }

  private startProbe(): void {
    const probe = this.options.probe;
    if (!probe || this.probeTimer) return;
    this.probeTimer = setInterval(() => {
      if (this.probing) return;
      this.probing = true;
      probe().then(
        () => {
          this.probing = false;
          this.stored();
        },
        () => {
          // Still full (or closing): the next tick tries again.
          this.probing = false;
        },
      );
    }, this.options.probeMs ?? 1000);
    this.probeTimer.unref();
  }

  private stopProbe(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }
}
