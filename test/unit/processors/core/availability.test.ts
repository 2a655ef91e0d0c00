import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AvailabilityTree } from '../../../../processors/core/availability.ts';
import { type Interval, naiveMaxLoad } from '../../../../processors/core/naive-availability.ts';

describe('AvailabilityTree', () => {
  it('is empty at first', () => {
    const tree = new AvailabilityTree();
    expect(tree.maxLoad(0, 100)).toBe(0);
    expect(tree.peakLoad()).toBe(0);
    expect(tree.breakpoints).toBe(0);
  });

  it('treats ranges as half-open: back-to-back reservations do not overlap', () => {
    const tree = new AvailabilityTree();
    tree.add(10, 20, 2);
    tree.add(20, 30, 3);
    expect(tree.maxLoad(0, 10)).toBe(0);
    expect(tree.maxLoad(0, 11)).toBe(2);
    expect(tree.maxLoad(19, 20)).toBe(2);
    expect(tree.maxLoad(20, 21)).toBe(3);
    expect(tree.maxLoad(30, 40)).toBe(0);
    expect(tree.maxLoad(5, 35)).toBe(3);
    expect(tree.peakLoad()).toBe(3);
  });

  it('sums overlapping reservations and sees the peak inside the range, not only at its start', () => {
    const tree = new AvailabilityTree();
    tree.add(0, 100, 1);
    tree.add(40, 60, 2);
    tree.add(50, 55, 4);
    expect(tree.maxLoad(0, 40)).toBe(1);
    expect(tree.maxLoad(0, 100)).toBe(7);
    expect(tree.maxLoad(52, 53)).toBe(7);
    expect(tree.maxLoad(55, 100)).toBe(3);
    expect(tree.loadAt(45)).toBe(3);
  });

  it('an empty or inverted range has no load', () => {
    const tree = new AvailabilityTree();
    tree.add(0, 100, 1);
    expect(tree.maxLoad(50, 50)).toBe(0);
    expect(tree.maxLoad(60, 50)).toBe(0);
  });

  it('removing everything leaves no breakpoints behind (memory follows live reservations)', () => {
    const tree = new AvailabilityTree();
    for (let i = 0; i < 1_000; i++) tree.add(i * 7, i * 7 + 50, 1 + (i % 3));
    expect(tree.breakpoints).toBeGreaterThan(0);
    for (let i = 0; i < 1_000; i++) tree.remove(i * 7, i * 7 + 50, 1 + (i % 3));
    expect(tree.breakpoints).toBe(0);
    expect(tree.peakLoad()).toBe(0);
  });

  it('handles timestamps up to 2^43 ms exactly', () => {
    const tree = new AvailabilityTree();
    const far = 2 ** 43 - 10;
    tree.add(far, far + 5, 2);
    tree.add(Date.UTC(2030, 0, 1), Date.UTC(2030, 0, 2), 1);
    expect(tree.maxLoad(far - 1, far + 1)).toBe(2);
    expect(tree.maxLoad(far + 5, 2 ** 43)).toBe(0);
  });

  it('stays shallow with sorted keys (priorities are hashed, not insertion order)', () => {
    const tree = new AvailabilityTree();
    // 200k sorted breakpoints would overflow the stack through recursion if the treap degenerated.
    for (let i = 0; i < 100_000; i++) tree.add(i * 1_000, i * 1_000 + 500, 1);
    expect(tree.peakLoad()).toBe(1);
    expect(tree.breakpoints).toBe(200_000);
  });

  it('agrees with the naive sweep on random add/remove/query sequences', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        start: fc.integer({ min: 0, max: 60 }),
        len: fc.integer({ min: 1, max: 30 }),
        q: fc.integer({ min: 1, max: 4 }),
      }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant('query' as const),
        start: fc.integer({ min: -5, max: 95 }),
        len: fc.integer({ min: 0, max: 40 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer(), (ops, seed) => {
        const tree = new AvailabilityTree(seed);
        const live: Interval[] = [];
        for (const o of ops) {
          if (o.kind === 'add') {
            const iv = { start: o.start, end: o.start + o.len, quantity: o.q };
            live.push(iv);
            tree.add(iv.start, iv.end, iv.quantity);
          } else if (o.kind === 'remove') {
            if (live.length === 0) continue;
            const [iv] = live.splice(o.pick % live.length, 1) as [Interval];
            tree.remove(iv.start, iv.end, iv.quantity);
          } else {
            expect(tree.maxLoad(o.start, o.start + o.len)).toBe(
              o.len === 0 ? 0 : naiveMaxLoad(live, o.start, o.start + o.len),
            );
          }
          expect(tree.peakLoad()).toBe(naiveMaxLoad(live, -Infinity, Infinity));
        }
      }),
      { numRuns: 300 },
    );
  });
});
