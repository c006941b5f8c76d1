import { Hold } from './connection.js';
import type { Connection } from './connection.js';

/**
 * The server-wide cap on requests in progress (limits.maxPendingRequests). Beyond it, connections stop
 * being read (each keeps the packet it could not start), so a burst from many devices waits in their
 * TCP buffers instead of in memory here; they resume, all of them, once the count has fallen by a tenth.
 */
export class Pressure {
  private pending = 0;
  private readonly waiting = new Set<Connection>();
  private readonly resumeBelow: number;

  constructor(private readonly max: number) {
    this.resumeBelow = Math.max(1, Math.floor(max * 0.9));
  }

  /** Takes a slot, or holds the connection and returns false. */
  enter(connection: Connection): boolean {
    if (this.pending >= this.max) {
      this.waiting.add(connection);
      connection.hold(Hold.pressure);
      return false;
    }
    this.pending++;
    return true;
  }

  leave(): void {
    this.pending--;
    if (this.waiting.size === 0 || this.pending >= this.resumeBelow) return;
    const resumed = [...this.waiting];
    this.waiting.clear();
    for (const connection of resumed) connection.release(Hold.pressure);
  }

  forget(connection: Connection): void {
    this.waiting.delete(connection);
  }

  get size(): number {
    return this.pending;
  }
}
