import { describe, expect, it } from 'vitest';
import { NaiveAvailability, naiveMaxLoad } from '../../../../processors/core/naive-availability.ts';

describe('naiveMaxLoad', () => {
  it('sums what overlaps, with half-open ranges', () => {
    const ivs = [
      { start: 0, end: 10, quantity: 1 },
      { start: 10, end: 20, quantity: 2 },
      { start: 5, end: 15, quantity: 4 },
    ];
    expect(naiveMaxLoad(ivs, 0, 5)).toBe(1);
    expect(naiveMaxLoad(ivs, 0, 10)).toBe(5);
    expect(naiveMaxLoad(ivs, 10, 20)).toBe(6);
    expect(naiveMaxLoad(ivs, 15, 20)).toBe(2);
    expect(naiveMaxLoad(ivs, 20, 30)).toBe(0);
  });
});

describe('NaiveAvailability', () => {
  it('adds and removes identical ranges by quantity', () => {
    const a = new NaiveAvailability();
    a.add(0, 10, 1);
    a.add(0, 10, 2);
    a.add(5, 8, 1);
    expect(a.maxLoad(0, 10)).toBe(4);
    a.remove(0, 10, 2);
    expect(a.maxLoad(0, 10)).toBe(2);
    expect(a.peakLoad()).toBe(2);
    a.remove(0, 10, 1);
    a.remove(5, 8, 1);
    expect(a.peakLoad()).toBe(0);
  });
});
