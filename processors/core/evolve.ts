/**
 * `evolve(state, event) → state`: applies one decided event. For speed it mutates the given state and
 * returns it (a hot resource holds 100k reservations; copying per event would be O(n)). Callers that need
 * the previous state keep a serialised copy (`stateToJSON`).
 *
 * Folding evolve over every event a resource ever emitted, from `createState`, rebuilds exactly the kept
 * state (the property tests check it): everything evolve remembers, idempotency included, comes from the
 * events alone. An event that does not fit the state (e.g. a transition of an unknown reservation) means a
 * corrupted log or a bug, so evolve throws rather than guess.
 */
import type { Event, ReservationStatus } from '../../schemas/generated/types.ts';
import type { Reservation, ResourceState } from './state.ts';
import { timerFor } from './timers.ts';

/** Applies one event to the state, in place, and returns the same state. */
export function evolve(state: ResourceState, event: Event): ResourceState {
  if (event.resourceId !== state.resourceId) {
    throw new Error(`event ${event.eventId} of resource ${event.resourceId} applied to ${state.resourceId}`);
  }
  switch (event.type) {
    case 'ReservationHeld':
      activate(state, {
        id: event.reservationId,
        customer: event.customer,
        start: event.start,
        end: event.end,
        quantity: event.quantity,
        status: 'Pending',
        version: event.reservationVersion,
        unitPrice: event.unitPrice,
        price: event.price,
        holdExpiresAt: event.holdExpiresAt,
      });
      break;
    case 'ReservationReopened': {
      const previous = state.inactive.get(event.reservationId);
      if (previous === undefined) throw unknown(event);
      state.inactive.delete(event.reservationId);
      activate(state, {
        id: previous.id,
        customer: event.customer,
        start: event.start,
        end: event.end,
        quantity: event.quantity,
        status: 'Pending',
        version: event.reservationVersion,
        unitPrice: event.unitPrice,
        price: event.price,
        holdExpiresAt: event.holdExpiresAt,
      });
      break;
    }
    case 'ReservationConfirmed': {
      const r = state.live.get(event.reservationId);
      if (r === undefined) throw unknown(event);
      const confirmed: Reservation = { ...r, status: 'Confirmed', version: event.reservationVersion };
      state.live.set(r.id, confirmed);
      state.journal?.reservations.add(r.id);
      schedule(state, confirmed);
      break;
    }
    case 'ReservationCancelled':
    case 'ReservationPaymentFailed':
      deactivate(state, event, 'Cancelled');
      break;
    case 'ReservationExpired':
      deactivate(state, event, 'Expired');
      break;
    case 'ReservationCompleted':
      deactivate(state, event, 'Completed');
      break;
    case 'ResourceUpserted':
      state.resource = {
        name: event.name,
        description: event.description,
        capacity: event.capacity,
        unitPrice: event.unitPrice,
        holdTimeoutMs: event.holdTimeoutMs,
        retired: false,
        version: event.resourceVersion,
      };
      if (state.journal) state.journal.resource = true;
      break;
    case 'ResourceRetired':
      if (state.resource === null) throw unknown(event);
      state.resource = { ...state.resource, retired: true, version: event.resourceVersion };
      if (state.journal) state.journal.resource = true;
      break;
    case 'ReservationRejected':
    case 'ResourceChangeRejected':
      break;
  }
  remember(state, event);
  return state;
}

/** Folds evolve over events: how a state is rebuilt from a resource's event history. */
export function evolveAll(state: ResourceState, events: Iterable<Event>): ResourceState {
  for (const event of events) evolve(state, event);
  return state;
}

function activate(state: ResourceState, r: Reservation): void {
  state.live.set(r.id, r);
  state.journal?.reservations.add(r.id);
  state.availability.add(r.start, r.end, r.quantity);
  schedule(state, r);
}

function schedule(state: ResourceState, r: Reservation): void {
  const timer = timerFor(r);
  if (timer !== undefined) state.timers.schedule(timer);
}

function deactivate(
  state: ResourceState,
  event: Extract<Event, { reservationId: string; reservationVersion: number }>,
  status: ReservationStatus,
): void {
  const r = state.live.get(event.reservationId);
  if (r === undefined) throw unknown(event);
  state.live.delete(r.id);
  state.availability.remove(r.start, r.end, r.quantity);
  state.inactive.set(r.id, { ...r, status, version: event.reservationVersion });
  state.journal?.reservations.add(r.id);
  // Bounded memory: the oldest inactive reservations are forgotten (commands on them: UNKNOWN_RESERVATION).
  for (const oldest of state.inactive.keys()) {
    if (state.inactive.size <= state.options.inactiveCapacity) break;
    state.inactive.delete(oldest);
    state.journal?.reservations.add(oldest);
  }
}

/**
 * Records the causing command for idempotency. Timer events are skipped (their commands are internal and
 * never retried), and so are DUPLICATE refusals (a duplicate changes nothing, not even the memory).
 */
function remember(state: ResourceState, event: Event): void {
  if (event.type === 'ReservationExpired' || event.type === 'ReservationCompleted') return;
  if (
    (event.type === 'ReservationRejected' || event.type === 'ResourceChangeRejected') &&
    event.reason === 'DUPLICATE'
  ) {
    return;
  }
  const principal =
    event.type === 'ResourceUpserted' ||
    event.type === 'ResourceRetired' ||
    event.type === 'ResourceChangeRejected'
      ? event.actorId
      : event.type === 'ReservationHeld' || event.type === 'ReservationReopened'
        ? event.customer.id
        : event.customerId;
  state.idempotency.remember({
    commandId: event.causationCommandId,
    principal,
    idempotencyKey: event.idempotencyKey,
    decidedAt: event.decidedAt,
    outcome: event.type,
  });
}

function unknown(event: Event): Error {
  return new Error(
    `cannot apply ${event.type} ${event.eventId}: it does not match the state of ${event.resourceId}`,
  );
}
