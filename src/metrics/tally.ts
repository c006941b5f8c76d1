import type client from 'prom-client';

/**
 * Counts by two labels in a plain map, handed to a prom-client Counter when it is scraped (its
 * `collect`). Counting through prom-client on every device message (hashing the labels, merging
 * the node's default label) showed in the request path's profile; this costs one map lookup.
 * Bounded: past `maxSeries` label pairs, new pairs are counted as `overflow` gives them.
 */
export class Tally {
  private readonly counts = new Map<string, { a: string; b: string; n: number }>();

  constructor(
    private readonly labels: readonly [string, string],
    private readonly maxSeries: number,
    private readonly overflow: (a: string, b: string) => [string, string],
  ) {}

  add(a: string, b: string): void {
    let count = this.counts.get(`${a}\u0000${b}`);
    if (!count && this.counts.size >= this.maxSeries) {
      [a, b] = this.overflow(a, b);
      count = this.counts.get(`${a}\u0000${b}`);
    }
    if (count) count.n++;
    else this.counts.set(`${a}\u0000${b}`, { a, b, n: 1 });
  }

  /** Adds what was counted since the last scrape to `counter`. */
  flushInto(counter: client.Counter): void {
    const [la, lb] = this.labels;
    for (const count of this.counts.values()) {
      if (count.n === 0) continue;
      counter.inc({ [la]: count.a, [lb]: count.b }, count.n);
      count.n = 0;
    }
  }
}
