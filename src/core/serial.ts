/**
 * Runs tasks one after another per key, so a read-modify-write on one record (a token's status,
 * an endpoint's metadata) never interleaves with another on the same record in this process.
 * Different keys run concurrently, which keeps storage group commit effective.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Whether a task of `key` is queued or running (a caller that would run now must queue instead). */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves when every task queued so far has settled. */
  async drain(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}
