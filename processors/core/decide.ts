/**
 * The rules: `decide(state, command, ctx) → events`. Pure: no I/O, no clock, no randomness; the time and
 * fresh ids come from `ctx`. A refused command is not an error: it yields one rejection event with a
 * machine-readable reason, and the state is not changed by it. decide never mutates the state; evolve
 * applies the events.
 *
 * Lifecycle: Pending → Confirmed (payment succeeded) → Completed (at end); Pending → Cancelled;
 * Confirmed → Cancelled; Pending → Cancelled by ReservationPaymentFailed (the hold is released and may be
 * reopened to pay again); Cancelled → Pending (reopen, if still available); Pending → Expired (at
 * holdExpiresAt). Anything else is ILLEGAL_TRANSITION.
 */
import type {
  CancelReservation,
  Command,
  Event,
  Money,
  RecordPaymentResult,
  ReopenReservation,
  RequestReservation,
  ReservationRejected,
  ReservationRejectionReason,
  ReservationStatus,
  ResourceChangeRejected,
  ResourceRejectionReason,
  RetireResource,
  UpsertResource,
} from '../../schemas/generated/types.ts';
import { MAX_CAPACITY, MAX_HOLD_TIMEOUT_MS, MAX_TIMESTAMP_MS, MIN_HOLD_TIMEOUT_MS } from './options.ts';
import { findReservation, type Reservation, type ResourceInfo, type ResourceState } from './state.ts';
import type { TimerCommand } from './timers.ts';

/** What decide needs from the outside world; the runtime passes it in. */
export interface DecideContext {
  /** The processor's clock, epoch ms: the only clock the rules see. */
  readonly now: number;
  /** A fresh unique id (uuid) for each event and each timer command. */
  readonly newId: () => string;
}

/** Anything decide accepts: a command from the wire or an internal timer command. */
export type DecidableCommand = Command | TimerCommand;

type ReservationCommand = RequestReservation | CancelReservation | ReopenReservation | RecordPaymentResult;
type ResourceCommand = UpsertResource | RetireResource;

/** Whose idempotency key a command carries: the customer for reservations, the actor for resources. */
export function principalOf(command: Command): string {
  switch (command.type) {
    case 'RequestReservation':
      return command.customer.id;
    case 'UpsertResource':
    case 'RetireResource':
      return command.actorId;
    default:
      return command.customerId;
  }
}

/** Decides a command against the state of its resource. Throws only on programming errors. */
export function decide(state: ResourceState, command: DecidableCommand, ctx: DecideContext): Event[] {
  if (command.resourceId !== state.resourceId) {
    throw new Error(`command for resource ${command.resourceId} given to the state of ${state.resourceId}`);
  }
  if (command.type === 'ExpireHold' || command.type === 'CompleteReservation')
    return decideTimer(state, command, ctx);

  const earlier = state.idempotency.find(command.commandId, principalOf(command), command.idempotencyKey);
  if (earlier !== undefined) {
    const detail = `already decided as command ${earlier.commandId} (${earlier.outcome})`;
    return command.type === 'UpsertResource' || command.type === 'RetireResource'
      ? refuseResourceChange(state, command, ctx, 'DUPLICATE', detail, earlier.commandId)
      : refuse(state, command, ctx, 'DUPLICATE', detail, { duplicateOf: earlier.commandId });
  }

  switch (command.type) {
    case 'RequestReservation':
      return decideRequest(state, command, ctx);
    case 'CancelReservation':
      return decideCancel(state, command, ctx);
    case 'ReopenReservation':
      return decideReopen(state, command, ctx);
    case 'RecordPaymentResult':
      return decidePayment(state, command, ctx);
    case 'UpsertResource':
      return decideUpsert(state, command, ctx);
    case 'RetireResource':
      return decideRetire(state, command, ctx);
    default:
      throw new Error(`unknown command type ${(command as { type: string }).type}`);
  }
}

function head(
  state: ResourceState,
  command: { commandId: string; idempotencyKey?: string | null },
  ctx: DecideContext,
) {
  return {
    eventId: ctx.newId(),
    causationCommandId: command.commandId,
    idempotencyKey: command.idempotencyKey ?? null,
    decidedAt: ctx.now,
    resourceId: state.resourceId,
  };
}

function refuse(
  state: ResourceState,
  command: ReservationCommand,
  ctx: DecideContext,
  reason: ReservationRejectionReason,
  detail: string,
  extra: { currentStatus?: ReservationStatus; duplicateOf?: string } = {},
): [ReservationRejected] {
  return [
    {
      type: 'ReservationRejected',
      ...head(state, command, ctx),
      reservationId: command.reservationId,
      customerId: command.type === 'RequestReservation' ? command.customer.id : command.customerId,
      commandType: command.type,
      reason,
      detail,
      currentStatus: extra.currentStatus ?? null,
      duplicateOf: extra.duplicateOf ?? null,
    },
  ];
}

function refuseResourceChange(
  state: ResourceState,
  command: ResourceCommand,
  ctx: DecideContext,
  reason: ResourceRejectionReason,
  detail: string,
  duplicateOf: string | null = null,
): [ResourceChangeRejected] {
  return [
    {
      type: 'ResourceChangeRejected',
      ...head(state, command, ctx),
      actorId: command.actorId,
      commandType: command.type,
      reason,
      detail,
      duplicateOf,
    },
  ];
}

/** Why [start, end) cannot be booked at `now`, or undefined if it can. */
function rangeProblem(start: number, end: number, now: number): string | undefined {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end))
    return 'start and end must be integer epoch ms';
  if (start < 0 || end > MAX_TIMESTAMP_MS) return `start and end must lie in [0, ${MAX_TIMESTAMP_MS}]`;
  if (start >= end) return 'start must be before end';
  if (end <= now) return 'the period has already ended';
  return undefined;
}

/** unitPrice × quantity, or undefined if it does not fit a safe integer. */
function priceOf(unitPrice: Money, quantity: number): Money | undefined {
  const amountMinor = unitPrice.amountMinor * quantity;
  return Number.isSafeInteger(amountMinor) ? { amountMinor, currency: unitPrice.currency } : undefined;
}

/** Units still free at every instant of [start, end). */
function freeUnits(state: ResourceState, resource: ResourceInfo, start: number, end: number): number {
  return resource.capacity - state.availability.maxLoad(start, end);
}

/** A hold lasts the resource's timeout, but never past the end of the period. */
function holdExpiry(state: ResourceState, resource: ResourceInfo, end: number, now: number): number {
  return Math.min(now + (resource.holdTimeoutMs ?? state.options.defaultHoldTimeoutMs), end);
}

const fmt = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
const unavailable = (quantity: number, free: number, start: number, end: number): string =>
  `requested ${quantity}, at most ${Math.max(0, free)} free at every instant of [${fmt(start)}, ${fmt(end)})`;

function decideRequest(state: ResourceState, cmd: RequestReservation, ctx: DecideContext): Event[] {
  const resource = state.resource;
  if (resource === null)
    return refuse(state, cmd, ctx, 'UNKNOWN_RESOURCE', `resource ${state.resourceId} does not exist`);
  if (resource.retired)
    return refuse(state, cmd, ctx, 'RESOURCE_RETIRED', `resource ${state.resourceId} is retired`);
  if (!Number.isSafeInteger(cmd.quantity) || cmd.quantity < 1) {
    return refuse(
      state,
      cmd,
      ctx,
      'INVALID_QUANTITY',
      `quantity must be a positive integer, got ${cmd.quantity}`,
    );
  }
  const problem = rangeProblem(cmd.start, cmd.end, ctx.now);
  if (problem !== undefined) return refuse(state, cmd, ctx, 'INVALID_RANGE', problem);
  if (findReservation(state, cmd.reservationId) !== undefined) {
    return refuse(state, cmd, ctx, 'DUPLICATE', `reservation id ${cmd.reservationId} is already used`);
  }
  const price = priceOf(resource.unitPrice, cmd.quantity);
  if (price === undefined)
    return refuse(state, cmd, ctx, 'INVALID_QUANTITY', 'quantity × unit price is too large');
  const free = freeUnits(state, resource, cmd.start, cmd.end);
  if (cmd.quantity > free)
    return refuse(state, cmd, ctx, 'UNAVAILABLE', unavailable(cmd.quantity, free, cmd.start, cmd.end));
  return [
    {
      type: 'ReservationHeld',
      ...head(state, cmd, ctx),
      reservationId: cmd.reservationId,
      reservationVersion: 1,
      customer: cmd.customer,
      start: cmd.start,
      end: cmd.end,
      quantity: cmd.quantity,
      unitPrice: resource.unitPrice,
      price,
      holdExpiresAt: holdExpiry(state, resource, cmd.end, ctx.now),
      resourceName: resource.name,
    },
  ];
}

/**
 * The reservation a follow-up command is about, or the refusal: unknown resource or reservation, or
 * another customer's (checked before the status, so nothing leaks about other customers' bookings).
 */
function ownReservation(
  state: ResourceState,
  cmd: CancelReservation | ReopenReservation | RecordPaymentResult,
  ctx: DecideContext,
): Reservation | [ReservationRejected] {
  if (state.resource === null)
    return refuse(state, cmd, ctx, 'UNKNOWN_RESOURCE', `resource ${state.resourceId} does not exist`);
  const r = findReservation(state, cmd.reservationId);
  if (r === undefined)
    return refuse(state, cmd, ctx, 'UNKNOWN_RESERVATION', `reservation ${cmd.reservationId} is unknown`);
  if (r.customer.id !== cmd.customerId) {
    return refuse(
      state,
      cmd,
      ctx,
      'NOT_OWNER',
      `reservation ${cmd.reservationId} belongs to another customer`,
    );
  }
  return r;
}

const illegal = (
  state: ResourceState,
  cmd: ReservationCommand,
  ctx: DecideContext,
  r: Reservation,
  what: string,
) =>
  refuse(state, cmd, ctx, 'ILLEGAL_TRANSITION', `cannot ${what} a ${r.status} reservation`, {
    currentStatus: r.status,
  });

function decideCancel(state: ResourceState, cmd: CancelReservation, ctx: DecideContext): Event[] {
  const r = ownReservation(state, cmd, ctx);
  if (Array.isArray(r)) return r;
  if (r.status !== 'Pending' && r.status !== 'Confirmed') return illegal(state, cmd, ctx, r, 'cancel');
  return [
    {
      type: 'ReservationCancelled',
      ...head(state, cmd, ctx),
      reservationId: r.id,
      reservationVersion: r.version + 1,
      customerId: r.customer.id,
      previousStatus: r.status,
      reason: cmd.reason,
    },
  ];
}

function decideReopen(state: ResourceState, cmd: ReopenReservation, ctx: DecideContext): Event[] {
  const r = ownReservation(state, cmd, ctx);
  if (Array.isArray(r)) return r;
  const resource = state.resource as ResourceInfo;
  if (r.status !== 'Cancelled') return illegal(state, cmd, ctx, r, 'reopen');
  if (resource.retired)
    return refuse(state, cmd, ctx, 'RESOURCE_RETIRED', `resource ${state.resourceId} is retired`);
  if (r.end <= ctx.now) return refuse(state, cmd, ctx, 'INVALID_RANGE', 'the period has already ended');
  const price = priceOf(resource.unitPrice, r.quantity);
  if (price === undefined)
    return refuse(state, cmd, ctx, 'INVALID_QUANTITY', 'quantity × unit price is too large');
  const free = freeUnits(state, resource, r.start, r.end);
  if (r.quantity > free)
    return refuse(state, cmd, ctx, 'UNAVAILABLE', unavailable(r.quantity, free, r.start, r.end));
  return [
    {
      type: 'ReservationReopened',
      ...head(state, cmd, ctx),
      reservationId: r.id,
      reservationVersion: r.version + 1,
      customer: r.customer,
      start: r.start,
      end: r.end,
      quantity: r.quantity,
      // A reopened hold is a new offer: it is priced at the current unit price.
      unitPrice: resource.unitPrice,
      price,
      holdExpiresAt: holdExpiry(state, resource, r.end, ctx.now),
      resourceName: resource.name,
    },
  ];
}

function decidePayment(state: ResourceState, cmd: RecordPaymentResult, ctx: DecideContext): Event[] {
  const r = ownReservation(state, cmd, ctx);
  if (Array.isArray(r)) return r;
  // A captured payment refused here (hold expired or cancelled) must be refunded by the payment sink.
  if (r.status !== 'Pending') return illegal(state, cmd, ctx, r, `record a payment for`);
  const base = {
    ...head(state, cmd, ctx),
    reservationId: r.id,
    reservationVersion: r.version + 1,
    customerId: r.customer.id,
  };
  if (cmd.outcome === 'FAILED') {
    return [
      {
        type: 'ReservationPaymentFailed',
        ...base,
        paymentReference: cmd.paymentReference,
        failureReason: cmd.failureReason,
      },
    ];
  }
  const paid = cmd.amount;
  if (paid !== null && (paid.amountMinor !== r.price.amountMinor || paid.currency !== r.price.currency)) {
    return refuse(
      state,
      cmd,
      ctx,
      'AMOUNT_MISMATCH',
      `paid ${paid.amountMinor} ${paid.currency}, held price is ${r.price.amountMinor} ${r.price.currency}`,
      { currentStatus: r.status },
    );
  }
  return [{ type: 'ReservationConfirmed', ...base, price: r.price, paymentReference: cmd.paymentReference }];
}

function decideUpsert(state: ResourceState, cmd: UpsertResource, ctx: DecideContext): Event[] {
  const resource = state.resource;
  const no = (reason: ResourceRejectionReason, detail: string) =>
    refuseResourceChange(state, cmd, ctx, reason, detail);
  if (resource?.retired) return no('RESOURCE_RETIRED', `resource ${state.resourceId} is retired`);
  if (cmd.name.trim() === '') return no('INVALID_NAME', 'name must not be empty');
  if (!Number.isSafeInteger(cmd.capacity) || cmd.capacity < 0 || cmd.capacity > MAX_CAPACITY) {
    return no('INVALID_CAPACITY', `capacity must be an integer in [0, ${MAX_CAPACITY}], got ${cmd.capacity}`);
  }
  const { amountMinor, currency } = cmd.unitPrice;
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0 || !/^[A-Z]{3}$/.test(currency)) {
    return no(
      'INVALID_PRICE',
      'unit price must be a non-negative integer amount with an ISO 4217 currency code',
    );
  }
  const timeout = cmd.holdTimeoutMs;
  if (
    timeout !== null &&
    (!Number.isSafeInteger(timeout) || timeout < MIN_HOLD_TIMEOUT_MS || timeout > MAX_HOLD_TIMEOUT_MS)
  ) {
    return no(
      'INVALID_HOLD_TIMEOUT',
      `hold timeout must be null or in [${MIN_HOLD_TIMEOUT_MS}, ${MAX_HOLD_TIMEOUT_MS}] ms`,
    );
  }
  // Checked against every live reservation, past ones included: the invariant holds at every instant.
  const peak = state.availability.peakLoad();
  if (cmd.capacity < peak) {
    return no(
      'CAPACITY_BELOW_LOAD',
      `capacity ${cmd.capacity} is below the ${peak} units live reservations hold at their peak`,
    );
  }
  return [
    {
      type: 'ResourceUpserted',
      ...head(state, cmd, ctx),
      actorId: cmd.actorId,
      resourceVersion: (resource?.version ?? 0) + 1,
      created: resource === null,
      name: cmd.name,
      description: cmd.description,
      capacity: cmd.capacity,
      unitPrice: cmd.unitPrice,
      holdTimeoutMs: cmd.holdTimeoutMs,
    },
  ];
}

function decideRetire(state: ResourceState, cmd: RetireResource, ctx: DecideContext): Event[] {
  const resource = state.resource;
  if (resource === null) {
    return refuseResourceChange(
      state,
      cmd,
      ctx,
      'UNKNOWN_RESOURCE',
      `resource ${state.resourceId} does not exist`,
    );
  }
  if (resource.retired)
    return refuseResourceChange(
      state,
      cmd,
      ctx,
      'RESOURCE_RETIRED',
      `resource ${state.resourceId} is already retired`,
    );
  return [
    {
      type: 'ResourceRetired',
      ...head(state, cmd, ctx),
      actorId: cmd.actorId,
      resourceVersion: resource.version + 1,
      reason: cmd.reason,
      liveReservations: state.live.size,
    },
  ];
}

/** A timer fires only if it still matches the reservation and is due; a stale timer decides nothing. */
function decideTimer(state: ResourceState, cmd: TimerCommand, ctx: DecideContext): Event[] {
  const r = state.live.get(cmd.reservationId);
  if (r === undefined || r.version !== cmd.version || cmd.dueAt > ctx.now) return [];
  const base = {
    ...head(state, cmd, ctx),
    reservationId: r.id,
    reservationVersion: r.version + 1,
    customerId: r.customer.id,
  };
  if (cmd.type === 'ExpireHold') {
    if (r.status !== 'Pending' || r.holdExpiresAt > ctx.now) return [];
    return [{ type: 'ReservationExpired', ...base, holdExpiresAt: r.holdExpiresAt }];
  }
  if (r.status !== 'Confirmed' || r.end > ctx.now) return [];
  return [{ type: 'ReservationCompleted', ...base, end: r.end }];
}
