import { describe, expect, it } from 'vitest';
import { AvailabilityTree } from '../../../../processors/core/availability.ts';
import { NaiveAvailability } from '../../../../processors/core/naive-availability.ts';
import { compileOptions, defaults } from '../../../../processors/core/options.ts';
import { createState, stateFromJSON, stateToJSON } from '../../../../processors/core/state.ts';
import { nextDueAt } from '../../../../processors/core/timers.ts';
import { cancel, pay, RESOURCE, request, withResource } from './fixtures.ts';

describe('state', () => {
  it('starts empty: unknown resource, no reservations', () => {
    const state = createState(RESOURCE);
    expect(stateToJSON(state)).toEqual({
      resourceId: RESOURCE,
      resource: null,
      live: [],
      inactive: [],
      idempotency: [],
    });
    expect(state.availability).toBeInstanceOf(AvailabilityTree);
  });

  it('survives a JSON round trip with its derived indexes rebuilt', () => {
    const h = withResource({ capacity: 4 });
    const a = request({ quantity: 2, idempotencyKey: 'k' });
    const b = request({ quantity: 1 });
    const c = request({ quantity: 1 });
    for (const cmd of [a, b, c]) h.run(cmd);
    h.run(pay(a.reservationId));
    h.run(cancel(c.reservationId));

    const json = JSON.parse(JSON.stringify(stateToJSON(h.state)));
    const restored = stateFromJSON(json);
    expect(stateToJSON(restored)).toEqual(stateToJSON(h.state));
    expect(restored.availability.maxLoad(a.start, a.end)).toBe(3);
    expect(nextDueAt(restored)).toBe(nextDueAt(h.state));
    expect(restored.idempotency.find('x', 'cust-ada', 'k')?.commandId).toBe(a.commandId);
  });

  it('takes its availability index from the options (the naive one for tests and the bench)', () => {
    expect(
      createState(RESOURCE, { availability: () => new NaiveAvailability() }).availability,
    ).toBeInstanceOf(NaiveAvailability);
  });
});

describe('options', () => {
  it('fills defaults and fails fast naming the bad option', () => {
    expect(compileOptions()).toMatchObject({ defaultHoldTimeoutMs: defaults.defaultHoldTimeoutMs });
    expect(() => compileOptions({ idempotencyCapacity: -1 })).toThrow(/idempotencyCapacity/);
    expect(() => compileOptions({ defaultHoldTimeoutMs: 1.5 })).toThrow(/defaultHoldTimeoutMs/);
  });
});
