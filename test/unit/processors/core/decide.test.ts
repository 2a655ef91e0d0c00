import { describe, expect, it } from 'vitest';
import { stateToJSON } from '../../../../processors/core/state.ts';
import type { Event } from '../../../../schemas/generated/types.ts';
import {
  bob,
  cancel,
  HOUR,
  harness,
  MINUTE,
  only,
  pay,
  reopen,
  request,
  retire,
  T0,
  upsert,
  withResource,
} from './fixtures.ts';

type Of<T extends Event['type']> = Extract<Event, { type: T }>;
const as = <T extends Event['type']>(type: T, event: Event): Of<T> => {
  expect(event.type).toBe(type);
  return event as Of<T>;
};
const rejection = (events: Event[]) => as('ReservationRejected', only(events));
const resourceRejection = (events: Event[]) => as('ResourceChangeRejected', only(events));

/** A harness with one held reservation; returns its id. */
function withHold(quantity = 1) {
  const h = withResource();
  const cmd = request({ quantity });
  h.run(cmd);
  return { h, id: cmd.reservationId, cmd };
}

describe('decide: RequestReservation', () => {
  it('holds capacity: Pending, version 1, priced unit price × quantity, hold expiring after the default timeout', () => {
    const h = withResource();
    const cmd = request({ quantity: 2, idempotencyKey: 'k1' });
    const held = as('ReservationHeld', only(h.run(cmd)));
    expect(held).toMatchObject({
      causationCommandId: cmd.commandId,
      idempotencyKey: 'k1',
      decidedAt: T0,
      resourceId: 'room-1',
      reservationId: cmd.reservationId,
      reservationVersion: 1,
      customer: cmd.customer,
      start: cmd.start,
      end: cmd.end,
      quantity: 2,
      unitPrice: { amountMinor: 1_000, currency: 'EUR' },
      price: { amountMinor: 2_000, currency: 'EUR' },
      holdExpiresAt: T0 + 15 * MINUTE,
      resourceName: 'Room 1',
    });
    expect(h.state.live.get(cmd.reservationId)?.status).toBe('Pending');
  });

  it('uses the resource hold timeout, and never holds past the end of the period', () => {
    const h = withResource({ holdTimeoutMs: 5 * MINUTE });
    expect(as('ReservationHeld', only(h.run(request()))).holdExpiresAt).toBe(T0 + 5 * MINUTE);
    const soon = request({ start: T0 - HOUR, end: T0 + 2 * MINUTE });
    expect(as('ReservationHeld', only(h.run(soon))).holdExpiresAt).toBe(T0 + 2 * MINUTE);
  });

  it('accepts exactly the capacity, back-to-back periods, and a period already under way', () => {
    const h = withResource({ capacity: 3 });
    expect(only(h.run(request({ quantity: 3 }))).type).toBe('ReservationHeld');
    expect(only(h.run(request({ start: T0 + 26 * HOUR, end: T0 + 27 * HOUR, quantity: 3 }))).type).toBe(
      'ReservationHeld',
    );
    expect(only(h.run(request({ start: T0 + 22 * HOUR, end: T0 + 24 * HOUR, quantity: 3 }))).type).toBe(
      'ReservationHeld',
    );
    expect(only(h.run(request({ start: T0 - HOUR, end: T0 + HOUR, quantity: 3 }))).type).toBe(
      'ReservationHeld',
    );
  });

  it('UNAVAILABLE when the overlap plus the request would exceed capacity at some instant', () => {
    const h = withResource({ capacity: 3 });
    h.run(request({ start: T0 + 10 * HOUR, end: T0 + 11 * HOUR, quantity: 2 }));
    h.run(request({ start: T0 + 12 * HOUR, end: T0 + 13 * HOUR, quantity: 1 }));
    const r = rejection(h.run(request({ start: T0 + 9 * HOUR, end: T0 + 14 * HOUR, quantity: 2 })));
    expect(r).toMatchObject({
      reason: 'UNAVAILABLE',
      commandType: 'RequestReservation',
      customerId: 'cust-ada',
    });
    expect(r.detail).toMatch(/requested 2, at most 1 free/);
    expect(only(h.run(request({ start: T0 + 9 * HOUR, end: T0 + 14 * HOUR, quantity: 1 }))).type).toBe(
      'ReservationHeld',
    );
    expect(rejection(h.run(request({ quantity: 4 }))).reason).toBe('UNAVAILABLE');
  });

  it('UNKNOWN_RESOURCE before the resource exists', () => {
    expect(rejection(harness().run(request())).reason).toBe('UNKNOWN_RESOURCE');
  });

  it('RESOURCE_RETIRED once the resource is retired', () => {
    const h = withResource();
    h.run(retire());
    expect(rejection(h.run(request())).reason).toBe('RESOURCE_RETIRED');
  });

  it.each([0, -1, 1.5, Number.NaN])('INVALID_QUANTITY for quantity %s', (quantity) => {
    expect(rejection(withResource().run(request({ quantity }))).reason).toBe('INVALID_QUANTITY');
  });

  it('INVALID_QUANTITY when the price would overflow', () => {
    const h = withResource({ capacity: 2 ** 31 - 1, unitPrice: { amountMinor: 2 ** 40, currency: 'EUR' } });
    expect(rejection(h.run(request({ quantity: 2 ** 20 }))).reason).toBe('INVALID_QUANTITY');
  });

  it.each([
    ['start after end', T0 + 2 * HOUR, T0 + HOUR],
    ['empty range', T0 + HOUR, T0 + HOUR],
    ['already over', T0 - 2 * HOUR, T0],
    ['fractional ms', T0 + 0.5, T0 + HOUR],
    ['negative start', -1, T0 + HOUR],
    ['beyond 2^43', T0, 2 ** 43 + 1],
  ])('INVALID_RANGE: %s', (_, start, end) => {
    expect(rejection(withResource().run(request({ start, end }))).reason).toBe('INVALID_RANGE');
  });

  it('DUPLICATE when the reservation id is already used', () => {
    const { h, cmd } = withHold();
    const r = rejection(h.run(request({ reservationId: cmd.reservationId })));
    expect(r).toMatchObject({ reason: 'DUPLICATE', duplicateOf: null });
  });
});

describe('decide: CancelReservation', () => {
  it('cancels a Pending reservation and frees its capacity', () => {
    const { h, id } = withHold(3);
    const c = as('ReservationCancelled', only(h.run(cancel(id, { reason: 'plans changed' }))));
    expect(c).toMatchObject({
      reservationVersion: 2,
      previousStatus: 'Pending',
      reason: 'plans changed',
      customerId: 'cust-ada',
    });
    expect(only(h.run(request({ quantity: 3 }))).type).toBe('ReservationHeld');
  });

  it('cancels a Confirmed reservation (previousStatus tells the payment sink to refund)', () => {
    const { h, id } = withHold();
    h.run(pay(id));
    expect(as('ReservationCancelled', only(h.run(cancel(id)))).previousStatus).toBe('Confirmed');
  });

  it('ILLEGAL_TRANSITION for a Cancelled, Expired or Completed reservation, with its status', () => {
    const { h, id } = withHold();
    h.run(cancel(id));
    expect(rejection(h.run(cancel(id)))).toMatchObject({
      reason: 'ILLEGAL_TRANSITION',
      currentStatus: 'Cancelled',
    });

    const expired = withHold();
    expired.h.advance(16 * MINUTE);
    expired.h.tick();
    expect(rejection(expired.h.run(cancel(expired.id)))).toMatchObject({
      reason: 'ILLEGAL_TRANSITION',
      currentStatus: 'Expired',
    });

    const completed = withHold();
    completed.h.run(pay(completed.id));
    completed.h.advance(27 * HOUR);
    completed.h.tick();
    expect(rejection(completed.h.run(cancel(completed.id)))).toMatchObject({ currentStatus: 'Completed' });
  });

  it('NOT_OWNER for another customer, without revealing the status', () => {
    const { h, id } = withHold();
    expect(rejection(h.run(cancel(id, { customerId: bob.id })))).toMatchObject({
      reason: 'NOT_OWNER',
      customerId: bob.id,
      currentStatus: null,
    });
    expect(h.state.live.get(id)?.status).toBe('Pending');
  });

  it('UNKNOWN_RESERVATION and UNKNOWN_RESOURCE', () => {
    expect(rejection(withResource().run(cancel('nope'))).reason).toBe('UNKNOWN_RESERVATION');
    expect(rejection(harness().run(cancel('nope'))).reason).toBe('UNKNOWN_RESOURCE');
  });
});

describe('decide: ReopenReservation', () => {
  it('brings a Cancelled reservation back to Pending with a new hold, at the current unit price', () => {
    const { h, id } = withHold(2);
    h.run(cancel(id));
    h.run(upsert({ unitPrice: { amountMinor: 1_500, currency: 'EUR' }, holdTimeoutMs: 10 * MINUTE }));
    h.advance(MINUTE);
    const r = as('ReservationReopened', only(h.run(reopen(id))));
    expect(r).toMatchObject({
      reservationVersion: 3,
      quantity: 2,
      unitPrice: { amountMinor: 1_500, currency: 'EUR' },
      price: { amountMinor: 3_000, currency: 'EUR' },
      holdExpiresAt: T0 + 11 * MINUTE,
    });
    expect(h.state.live.get(id)?.status).toBe('Pending');
  });

  it('UNAVAILABLE when the capacity was taken meanwhile', () => {
    const { h, id } = withHold(2);
    h.run(cancel(id));
    h.run(request({ quantity: 2 }));
    expect(rejection(h.run(reopen(id))).reason).toBe('UNAVAILABLE');
    expect(h.state.inactive.get(id)?.status).toBe('Cancelled');
  });

  it('ILLEGAL_TRANSITION unless Cancelled (an Expired hold is not reopened)', () => {
    const { h, id } = withHold();
    expect(rejection(h.run(reopen(id)))).toMatchObject({
      reason: 'ILLEGAL_TRANSITION',
      currentStatus: 'Pending',
    });
    h.run(pay(id));
    expect(rejection(h.run(reopen(id))).currentStatus).toBe('Confirmed');
    const expired = withHold();
    expired.h.advance(16 * MINUTE);
    expired.h.tick();
    expect(rejection(expired.h.run(reopen(expired.id))).currentStatus).toBe('Expired');
  });

  it('RESOURCE_RETIRED, INVALID_RANGE (period over) and NOT_OWNER', () => {
    const retired = withHold();
    retired.h.run(cancel(retired.id));
    retired.h.run(retire());
    expect(rejection(retired.h.run(reopen(retired.id))).reason).toBe('RESOURCE_RETIRED');

    const late = withHold();
    late.h.run(cancel(late.id));
    late.h.advance(30 * HOUR);
    expect(rejection(late.h.run(reopen(late.id))).reason).toBe('INVALID_RANGE');

    const other = withHold();
    other.h.run(cancel(other.id));
    expect(rejection(other.h.run(reopen(other.id, { customerId: bob.id }))).reason).toBe('NOT_OWNER');
  });
});

describe('decide: RecordPaymentResult', () => {
  it('a successful payment confirms a Pending reservation', () => {
    const { h, id } = withHold(2);
    const c = as(
      'ReservationConfirmed',
      only(h.run(pay(id, { amount: { amountMinor: 2_000, currency: 'EUR' } }))),
    );
    expect(c).toMatchObject({
      reservationVersion: 2,
      price: { amountMinor: 2_000, currency: 'EUR' },
      paymentReference: 'pi_1',
    });
    expect(h.state.live.get(id)?.status).toBe('Confirmed');
  });

  it('a failed payment releases the hold: Cancelled, capacity free, reopenable to pay again', () => {
    const { h, id } = withHold(3);
    const f = as(
      'ReservationPaymentFailed',
      only(h.run(pay(id, { outcome: 'FAILED', failureReason: 'card_declined' }))),
    );
    expect(f).toMatchObject({ reservationVersion: 2, failureReason: 'card_declined' });
    expect(h.state.inactive.get(id)?.status).toBe('Cancelled');
    expect(h.state.availability.peakLoad()).toBe(0);
    expect(only(h.run(reopen(id))).type).toBe('ReservationReopened');
  });

  it('AMOUNT_MISMATCH when the captured amount or currency differs from the held price', () => {
    const { h, id } = withHold(2);
    expect(rejection(h.run(pay(id, { amount: { amountMinor: 1_999, currency: 'EUR' } }))).reason).toBe(
      'AMOUNT_MISMATCH',
    );
    expect(rejection(h.run(pay(id, { amount: { amountMinor: 2_000, currency: 'USD' } }))).reason).toBe(
      'AMOUNT_MISMATCH',
    );
    expect(h.state.live.get(id)?.status).toBe('Pending');
  });

  it('ILLEGAL_TRANSITION for a payment after the hold expired (the sink refunds it) or a second one', () => {
    const { h, id } = withHold();
    h.advance(15 * MINUTE);
    const r = h.run(pay(id));
    expect(r.map((e) => e.type)).toEqual(['ReservationExpired', 'ReservationRejected']);
    expect(r[1]).toMatchObject({
      reason: 'ILLEGAL_TRANSITION',
      currentStatus: 'Expired',
      commandType: 'RecordPaymentResult',
    });

    const twice = withHold();
    twice.h.run(pay(twice.id));
    expect(rejection(twice.h.run(pay(twice.id))).currentStatus).toBe('Confirmed');
  });

  it('NOT_OWNER and UNKNOWN_RESERVATION', () => {
    const { h, id } = withHold();
    expect(rejection(h.run(pay(id, { customerId: bob.id }))).reason).toBe('NOT_OWNER');
    expect(rejection(h.run(pay('nope'))).reason).toBe('UNKNOWN_RESERVATION');
  });
});

describe('decide: UpsertResource', () => {
  it('creates, then updates with an incremented version', () => {
    const h = harness();
    expect(as('ResourceUpserted', only(h.run(upsert())))).toMatchObject({
      created: true,
      resourceVersion: 1,
      capacity: 3,
    });
    expect(as('ResourceUpserted', only(h.run(upsert({ capacity: 5 }))))).toMatchObject({
      created: false,
      resourceVersion: 2,
    });
    expect(h.state.resource).toMatchObject({ capacity: 5, version: 2, retired: false });
  });

  it.each([
    ['INVALID_NAME', { name: '  ' }],
    ['INVALID_CAPACITY', { capacity: -1 }],
    ['INVALID_CAPACITY', { capacity: 1.5 }],
    ['INVALID_CAPACITY', { capacity: 2 ** 31 }],
    ['INVALID_PRICE', { unitPrice: { amountMinor: -1, currency: 'EUR' } }],
    ['INVALID_PRICE', { unitPrice: { amountMinor: 1.5, currency: 'EUR' } }],
    ['INVALID_PRICE', { unitPrice: { amountMinor: 100, currency: 'eur' } }],
    ['INVALID_PRICE', { unitPrice: { amountMinor: 100, currency: 'EURO' } }],
    ['INVALID_HOLD_TIMEOUT', { holdTimeoutMs: 999 }],
    ['INVALID_HOLD_TIMEOUT', { holdTimeoutMs: 8 * 24 * HOUR }],
  ] as const)('%s for %j', (reason, overrides) => {
    const r = resourceRejection(harness().run(upsert(overrides)));
    expect(r).toMatchObject({ reason, commandType: 'UpsertResource', actorId: 'admin-1' });
  });

  it('CAPACITY_BELOW_LOAD when live reservations would exceed the new capacity; down to the peak is fine', () => {
    const h = withResource({ capacity: 5 });
    h.run(request({ quantity: 2 }));
    const big = request({ start: T0 + 25 * HOUR, end: T0 + 30 * HOUR, quantity: 2 });
    h.run(big);
    expect(resourceRejection(h.run(upsert({ capacity: 3 }))).reason).toBe('CAPACITY_BELOW_LOAD');
    expect(h.state.resource?.capacity).toBe(5);
    expect(only(h.run(upsert({ capacity: 4 }))).type).toBe('ResourceUpserted');
    h.run(cancel(big.reservationId));
    expect(only(h.run(upsert({ capacity: 2 }))).type).toBe('ResourceUpserted');
  });

  it('RESOURCE_RETIRED: a retired resource cannot be changed', () => {
    const h = withResource();
    h.run(retire());
    expect(resourceRejection(h.run(upsert())).reason).toBe('RESOURCE_RETIRED');
  });
});

describe('decide: RetireResource', () => {
  it('retires and counts the live reservations still honoured; they can still be paid and cancelled', () => {
    const h = withResource();
    const a = request();
    const b = request();
    h.run(a);
    h.run(b);
    expect(as('ResourceRetired', only(h.run(retire({ reason: 'renovation' }))))).toMatchObject({
      liveReservations: 2,
      resourceVersion: 2,
      reason: 'renovation',
    });
    expect(only(h.run(pay(a.reservationId))).type).toBe('ReservationConfirmed');
    expect(only(h.run(cancel(b.reservationId))).type).toBe('ReservationCancelled');
  });

  it('UNKNOWN_RESOURCE, and RESOURCE_RETIRED the second time', () => {
    expect(resourceRejection(harness().run(retire())).reason).toBe('UNKNOWN_RESOURCE');
    const h = withResource();
    h.run(retire());
    expect(resourceRejection(h.run(retire())).reason).toBe('RESOURCE_RETIRED');
  });
});

describe('decide: duplicates', () => {
  it('the same commandId again is a DUPLICATE naming the original and changes nothing', () => {
    const { h, cmd } = withHold();
    const before = JSON.stringify(stateToJSON(h.state));
    const r = rejection(h.run(cmd));
    expect(r).toMatchObject({
      reason: 'DUPLICATE',
      duplicateOf: cmd.commandId,
      causationCommandId: cmd.commandId,
    });
    expect(r.detail).toMatch(/ReservationHeld/);
    expect(JSON.stringify(stateToJSON(h.state))).toBe(before);
  });

  it('the same idempotency key from the same customer is a DUPLICATE, from another customer it is not', () => {
    const h = withResource();
    const first = request({ idempotencyKey: 'k' });
    h.run(first);
    const retry = request({ idempotencyKey: 'k' }); // new commandId and reservation id: a client retry
    expect(rejection(h.run(retry))).toMatchObject({ reason: 'DUPLICATE', duplicateOf: first.commandId });
    expect(only(h.run(request({ idempotencyKey: 'k', customer: bob }))).type).toBe('ReservationHeld');
  });

  it('a refused command stays refused when retried (same answer), even if capacity freed meanwhile', () => {
    const h = withResource({ capacity: 1 });
    const taken = request();
    h.run(taken);
    const refused = request({ idempotencyKey: 'k2' });
    expect(rejection(h.run(refused)).reason).toBe('UNAVAILABLE');
    h.run(cancel(taken.reservationId));
    expect(rejection(h.run(refused))).toMatchObject({ reason: 'DUPLICATE', duplicateOf: refused.commandId });
  });

  it('resource commands are deduplicated too', () => {
    const h = harness();
    const cmd = upsert({ idempotencyKey: 'u1' });
    h.run(cmd);
    expect(resourceRejection(h.run(cmd))).toMatchObject({ reason: 'DUPLICATE', duplicateOf: cmd.commandId });
    expect(resourceRejection(h.run(upsert({ idempotencyKey: 'u1', capacity: 9 }))).reason).toBe('DUPLICATE');
    expect(h.state.resource?.capacity).toBe(3);
  });
});

describe('decide: purity', () => {
  it('does not change the state; only evolve does', () => {
    const { h, id } = withHold();
    const before = JSON.stringify(stateToJSON(h.state));
    for (const cmd of [request(), cancel(id), pay(id), reopen(id), upsert({ capacity: 0 }), retire()])
      h.decide(cmd);
    expect(JSON.stringify(stateToJSON(h.state))).toBe(before);
  });

  it('throws for a command routed to the wrong resource (a runtime bug, not a domain refusal)', () => {
    expect(() => withResource().decide(request({ resourceId: 'other' }))).toThrow(/resource other/);
  });
});
