/** Builders for core tests: commands with sensible defaults and a deterministic context. */

import { type DecidableCommand, type DecideContext, decide } from '../../../../processors/core/decide.ts';
import type { CoreOptions } from '../../../../processors/core/options.ts';
import { createState } from '../../../../processors/core/state.ts';
import { fireDueTimers, step } from '../../../../processors/core/step.ts';
import type {
  CancelReservation,
  Customer,
  Event,
  RecordPaymentResult,
  ReopenReservation,
  RequestReservation,
  RetireResource,
  UpsertResource,
} from '../../../../schemas/generated/types.ts';

export const RESOURCE = 'room-1';
export const T0 = Date.UTC(2027, 0, 1); // all tests start here
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** Deterministic uuid-shaped ids: the core takes ids from outside, so tests can predict them. */
export function idSource(prefix = 0): () => string {
  let n = 0;
  return () => {
    n++;
    return `00000000-0000-4000-8000-${(prefix * 1_000_000_000 + n).toString(16).padStart(12, '0')}`;
  };
}

/** A context at `now` with its own id source. */
export function ctxAt(now: number, newId = idSource(9)): DecideContext {
  return { now, newId };
}

let commandCounter = 0;
const nextCommandId = (): string =>
  `c0000000-0000-4000-8000-${(++commandCounter).toString(16).padStart(12, '0')}`;

export const ada: Customer = {
  id: 'cust-ada',
  fullName: 'Ada Lovelace',
  email: 'ada@example.com',
  phone: null,
};
export const bob: Customer = {
  id: 'cust-bob',
  fullName: 'Bob Babbage',
  email: 'bob@example.com',
  phone: '+441234',
};

const common = () => ({
  commandId: nextCommandId(),
  idempotencyKey: null,
  acceptedAt: T0,
  resourceId: RESOURCE,
});

export function upsert(overrides: Partial<UpsertResource> = {}): UpsertResource {
  return {
    type: 'UpsertResource',
    ...common(),
    actorId: 'admin-1',
    name: 'Room 1',
    description: null,
    capacity: 3,
    unitPrice: { amountMinor: 1_000, currency: 'EUR' },
    holdTimeoutMs: null,
    ...overrides,
  };
}

export function retire(overrides: Partial<RetireResource> = {}): RetireResource {
  return { type: 'RetireResource', ...common(), actorId: 'admin-1', reason: null, ...overrides };
}

let reservationCounter = 0;
/** A fresh reservation id. */
export const newReservationId = (): string =>
  `r0000000-0000-4000-8000-${(++reservationCounter).toString(16).padStart(12, '0')}`;

export function request(overrides: Partial<RequestReservation> = {}): RequestReservation {
  return {
    type: 'RequestReservation',
    ...common(),
    reservationId: newReservationId(),
    customer: ada,
    start: T0 + 24 * HOUR,
    end: T0 + 26 * HOUR,
    quantity: 1,
    ...overrides,
  };
}

export function cancel(reservationId: string, overrides: Partial<CancelReservation> = {}): CancelReservation {
  return {
    type: 'CancelReservation',
    ...common(),
    reservationId,
    customerId: ada.id,
    reason: null,
    ...overrides,
  };
}

export function reopen(reservationId: string, overrides: Partial<ReopenReservation> = {}): ReopenReservation {
  return { type: 'ReopenReservation', ...common(), reservationId, customerId: ada.id, ...overrides };
}

export function pay(
  reservationId: string,
  overrides: Partial<RecordPaymentResult> = {},
): RecordPaymentResult {
  return {
    type: 'RecordPaymentResult',
    ...common(),
    reservationId,
    customerId: ada.id,
    outcome: 'SUCCEEDED',
    paymentReference: 'pi_1',
    amount: null,
    failureReason: null,
    ...overrides,
  };
}

/** The single event of a decision, asserting there is exactly one. */
export function only(events: Event[]): Event {
  if (events.length !== 1) throw new Error(`expected one event, got ${events.map((e) => e.type).join(', ')}`);
  return events[0] as Event;
}

/** One resource's state with a movable clock: `run` is what a runtime does (timers, decide, evolve). */
export function harness(options: Partial<CoreOptions> = {}) {
  const state = createState(RESOURCE, options);
  const newId = idSource(1);
  const log: Event[] = [];
  let now = T0;
  const ctx = (): DecideContext => ({ now, newId });
  return {
    state,
    log,
    get now() {
      return now;
    },
    advance(ms: number) {
      now += ms;
    },
    /** Decides without applying. */
    decide: (command: DecidableCommand) => decide(state, command, ctx()),
    /** Fires due timers, decides, applies; returns the events. */
    run(command: DecidableCommand): Event[] {
      const events = step(state, command, ctx());
      log.push(...events);
      return events;
    },
    /** Fires due timers only. */
    tick(): Event[] {
      const events = fireDueTimers(state, ctx());
      log.push(...events);
      return events;
    },
  };
}

/** A harness with the default resource (capacity 3, EUR 10.00 per unit). */
export function withResource(overrides: Partial<UpsertResource> = {}, options: Partial<CoreOptions> = {}) {
  const h = harness(options);
  h.run(upsert(overrides));
  return h;
}
