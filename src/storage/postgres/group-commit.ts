/**
 * Group commit: what is queued while a commit runs waits, and the next commit takes it all, so a
 * burst becomes a few large statements instead of many small ones. Everything queued in one tick
 * joins the first commit. `commit` settles each item itself and never rejects.
 */
export class GroupCommit<T> {
  private queue: T[] = [];
  private running = false;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly commit: (batch: T[]) => Promise<void>) {}

  add(item: T): void {
    this.queue.push(item);
    if (!this.running && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.drain());
    }
  }

  /** Resolves once everything queued so far has committed (or failed). */
  async flush(): Promise<void> {
    if (!this.running && !this.scheduled && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    if (this.running) return;
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      await this.commit(batch);
    }
    this.running = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
