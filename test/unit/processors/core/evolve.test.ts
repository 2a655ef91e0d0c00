import { describe, expect, it } from 'vitest';
import { evolve, evolveAll } from '../../../../processors/core/evolve.ts';
import { createState, stateToJSON } from '../../../../processors/core/state.ts';
import type { Event } from '../../../../schemas/generated/types.ts';
import { cancel, only, pay, RESOURCE, reopen, request, upsert, withResource } from './fixtures.ts';

describe('evolve', () => {
  it('mutates the given state and returns it', () => {
    const h = withResource();
    const held = only(h.decide(request()));
    expect(evolve(h.state, held)).toBe(h.state);
    expect(h.state.live.size).toBe(1);
  });

  it('moves reservations between live and inactive and keeps the availability index in step', () => {
    const h = withResource();
    const cmd = request({ quantity: 2 });
    h.run(cmd);
    expect(h.state.availability.maxLoad(cmd.start, cmd.end)).toBe(2);
    h.run(cancel(cmd.reservationId));
    expect(h.state.live.has(cmd.reservationId)).toBe(false);
    expect(h.state.inactive.get(cmd.reservationId)).toMatchObject({ status: 'Cancelled', version: 2 });
    expect(h.state.availability.maxLoad(cmd.start, cmd.end)).toBe(0);
    h.run(reopen(cmd.reservationId));
    expect(h.state.inactive.has(cmd.reservationId)).toBe(false);
    expect(h.state.live.get(cmd.reservationId)).toMatchObject({ status: 'Pending', version: 3 });
    expect(h.state.availability.maxLoad(cmd.start, cmd.end)).toBe(2);
    h.run(pay(cmd.reservationId));
    expect(h.state.live.get(cmd.reservationId)).toMatchObject({ status: 'Confirmed', version: 4 });
  });

  it('rejections change nothing but the idempotency memory', () => {
    const h = withResource({ capacity: 0 });
    const before = stateToJSON(h.state);
    h.run(request());
    const after = stateToJSON(h.state);
    expect({ ...after, idempotency: [] }).toEqual({ ...before, idempotency: [] });
    expect(after.idempotency).toHaveLength(before.idempotency.length + 1);
  });

  it('remembers at most inactiveCapacity inactive reservations, oldest forgotten first', () => {
    const h = withResource({ capacity: 10 }, { inactiveCapacity: 2 });
    const ids = [request(), request(), request()].map((cmd) => {
      h.run(cmd);
      h.run(cancel(cmd.reservationId));
      return cmd.reservationId;
    });
    expect([...h.state.inactive.keys()]).toEqual(ids.slice(1));
    expect(only(h.run(cancel(ids[0] as string)))).toMatchObject({ reason: 'UNKNOWN_RESERVATION' });
  });

  it('throws on an event that does not fit the state (corrupt log or bug)', () => {
    const h = withResource();
    const cmd = request();
    const held = only(h.decide(cmd)) as Extract<Event, { type: 'ReservationHeld' }>;
    const confirmed: Event = {
      type: 'ReservationConfirmed',
      eventId: 'e',
      causationCommandId: 'c',
      idempotencyKey: null,
      decidedAt: 0,
      resourceId: RESOURCE,
      reservationId: held.reservationId,
      reservationVersion: 2,
      customerId: 'x',
      price: held.price,
      paymentReference: null,
    };
    expect(() => evolve(h.state, confirmed)).toThrow(/does not match/);
    expect(() => evolve(createState('other'), held)).toThrow(/applied to other/);
  });

  it('evolveAll over the log rebuilds the same state', () => {
    const h = withResource();
    const a = request();
    h.run(a);
    h.run(pay(a.reservationId));
    h.run(request({ quantity: 9 }));
    h.run(upsert({ capacity: 4 }));
    const rebuilt = evolveAll(createState(RESOURCE), h.log);
    expect(stateToJSON(rebuilt)).toEqual(stateToJSON(h.state));
  });
});
