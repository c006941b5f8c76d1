/** Latency samples in milliseconds; grows by doubling so recording stays allocation-free. */
export class Samples {
  private data = new Float64Array(1 << 16);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  clear(): void {
    this.n = 0;
  }

  summary(): LatencySummary {
    const sorted = this.data.slice(0, this.n).sort();
    return summarize(sorted);
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles over an ascending array. */
export function summarize(sorted: ArrayLike<number>): LatencySummary {
  const n = sorted.length;
  const at = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!);
  return { count: n, p50: at(50), p90: at(90), p99: at(99), max: n === 0 ? NaN : sorted[n - 1]! };
}

export function percentilesOf(values: number[]): LatencySummary {
  return summarize(Float64Array.from(values).sort());
}
