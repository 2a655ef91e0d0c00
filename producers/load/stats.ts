/** Counters and latency percentiles of a load run. */

/** Latencies in ms, kept whole (a run is bounded), sorted once for the percentiles. */
export class Latencies {
  private values: number[] = [];
  private sorted = true;

  add(ms: number): void {
    this.values.push(ms);
    this.sorted = false;
  }

  get count(): number {
    return this.values.length;
  }

  /** The p-th percentile (0..100), nearest rank; undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.values.length === 0) return undefined;
    if (!this.sorted) {
      this.values.sort((a, b) => a - b);
      this.sorted = true;
    }
    const rank = Math.min(this.values.length, Math.max(1, Math.ceil((p / 100) * this.values.length)));
    return this.values[rank - 1];
  }

  summary(): LatencySummary | null {
    if (this.values.length === 0) return null;
    const round = (v: number | undefined) => Math.round((v ?? 0) * 100) / 100;
    return {
      count: this.values.length,
      p50: round(this.percentile(50)),
      p90: round(this.percentile(90)),
      p99: round(this.percentile(99)),
      p999: round(this.percentile(99.9)),
      max: round(this.percentile(100)),
    };
  }
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** Counts by a string key. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
  toObject(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
  }
}
