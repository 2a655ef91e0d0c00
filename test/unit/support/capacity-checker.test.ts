import { describe, expect, it } from 'vitest';
import type { Event } from '../../../schemas/generated/types.ts';
import { checkDecisions } from '../../support/capacity-checker.ts';

const held = (reservationId: string, cause: string, start: number, end: number, quantity: number) =>
  ({
    type: 'ReservationHeld',
    reservationId,
    causationCommandId: cause,
    resourceId: 'r',
    start,
    end,
    quantity,
  }) as unknown as Event;
const cancelled = (reservationId: string, cause: string) =>
  ({
    type: 'ReservationCancelled',
    reservationId,
    causationCommandId: cause,
    resourceId: 'r',
  }) as unknown as Event;

// The crash-loop checker must be able to fail: these feed it the faults it exists to catch.
describe('capacity checker', () => {
  const capacities = new Map([['r', 2]]);

  it('passes a clean history', () => {
    const events = [held('a', 'c1', 0, 10, 2), cancelled('a', 'c2'), held('b', 'c3', 5, 15, 2)];
    const report = checkDecisions(events, new Set(['c1', 'c2', 'c3']), capacities);
    expect(report).toMatchObject({
      missing: [],
      decidedMoreThanOnce: [],
      heldTwice: [],
      overbooked: [],
      decidedOnce: 3,
    });
  });

  it('catches overbooking at an instant inside the range', () => {
    const events = [held('a', 'c1', 0, 10, 1), held('b', 'c2', 8, 20, 1), held('c', 'c3', 2, 9, 1)];
    expect(checkDecisions(events, new Set(['c1', 'c2', 'c3']), capacities).overbooked).toHaveLength(1);
  });

  it('catches a command decided twice, a reservation held twice and a command never decided', () => {
    const events = [held('a', 'c1', 0, 10, 1), held('a', 'c1', 0, 10, 1)];
    const report = checkDecisions(events, new Set(['c1', 'c2']), capacities);
    expect(report.decidedMoreThanOnce).toEqual(['c1']);
    expect(report.heldTwice).toEqual(['a']);
    expect(report.missing).toEqual(['c2']);
  });
});
