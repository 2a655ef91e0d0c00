import type { AvailabilityIndex } from './availability.ts';

/** A quantity held over [start, end). */
export interface Interval {
  readonly start: number;
  readonly end: number;
  readonly quantity: number;
}

/**
 * Highest load over [start, end) by brute force: a sweep over the intervals that overlap it. Obviously
 * correct and O(n log n); the tests use it as the oracle and the bench as the baseline.
 */
export function naiveMaxLoad(intervals: Iterable<Interval>, start: number, end: number): number {
  const points: [number, number][] = [];
  for (const iv of intervals) {
    if (iv.start >= end || iv.end <= start) continue;
    points.push([Math.max(iv.start, start), iv.quantity]);
    if (iv.end < end) points.push([iv.end, -iv.quantity]);
  }
  // At one instant, ends (negative) come first: [a, t) and [t, b) do not overlap.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let load = 0;
  let best = 0;
  for (const [, delta] of points) {
    load += delta;
    if (load > best) best = load;
  }
  return best;
}

/** Availability by linear scan of every live interval: the baseline the bench compares the tree with. */
export class NaiveAvailability implements AvailabilityIndex {
  /** Quantity per distinct [start, end), so add/remove are O(1). */
  private readonly intervals = new Map<string, { start: number; end: number; quantity: number }>();

  add(start: number, end: number, quantity: number): void {
    if (!(start < end) || quantity === 0) return;
    const key = `${start}/${end}`;
    const iv = this.intervals.get(key);
    if (iv === undefined) {
      this.intervals.set(key, { start, end, quantity });
      return;
    }
    iv.quantity += quantity;
    if (iv.quantity === 0) this.intervals.delete(key);
  }

  remove(start: number, end: number, quantity: number): void {
    this.add(start, end, -quantity);
  }

  maxLoad(start: number, end: number): number {
    return naiveMaxLoad(this.intervals.values(), start, end);
  }

  peakLoad(): number {
    return naiveMaxLoad(this.intervals.values(), Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }
}
