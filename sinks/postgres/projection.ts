/**
 * Events → read-model rows, pure: each event becomes a partial row per table it touches, and the rows of
 * one key are merged by the table's rules (./tables.ts), so a batch becomes one row per key. Texts are made
 * storable first (U+0000 → U+FFFD, see storableText), so one old event with a NUL cannot fail its batch.
 */
import type { Event } from '../../schemas/generated/types.ts';
import {
  type CustomerRow,
  customers,
  type DecisionRow,
  decisionColumns,
  mergeRows,
  type ReservationRow,
  type ResourceRow,
  reservations,
  resources,
  storableRow,
  type TableSpec,
} from './tables.ts';

/** The rows one batch writes, one per key, sorted by key (a stable lock order across writers). */
export interface ReadModelRows {
  readonly resources: ResourceRow[];
  readonly customers: CustomerRow[];
  readonly reservations: ReservationRow[];
  readonly decisions: DecisionRow[];
}

const iso = (epochMs: number): string => new Date(epochMs).toISOString();

function emptyReservation(event: Extract<Event, { reservationVersion: number }>): ReservationRow {
  return {
    id: event.reservationId,
    resource_id: event.resourceId,
    customer_id: 'customer' in event ? event.customer.id : event.customerId,
    status: 'Pending',
    version: event.reservationVersion,
    start_at: null,
    end_at: null,
    quantity: null,
    unit_price_minor: null,
    price_minor: null,
    currency: null,
    resource_name: null,
    hold_expires_at: null,
    details_version: null,
    paid_price_minor: null,
    payment_reference: null,
    confirmed_at: null,
    confirmed_version: null,
    cancelled_at: null,
    cancel_reason: null,
    cancelled_version: null,
    payment_failed_at: null,
    payment_failure_reason: null,
    payment_failed_version: null,
    expired_at: null,
    completed_at: null,
    created_at: null,
    updated_at: iso(event.decidedAt),
    last_event_id: event.eventId,
  };
}

/** The reservation row an event implies (undefined for events that do not touch reservations). */
export function reservationRowOf(event: Event): ReservationRow | undefined {
  switch (event.type) {
    case 'ReservationHeld':
    case 'ReservationReopened':
      return {
        ...emptyReservation(event),
        status: 'Pending',
        start_at: iso(event.start),
        end_at: iso(event.end),
        quantity: event.quantity,
        unit_price_minor: event.unitPrice.amountMinor,
        price_minor: event.price.amountMinor,
        currency: event.price.currency,
        resource_name: event.resourceName,
        hold_expires_at: iso(event.holdExpiresAt),
        details_version: event.reservationVersion,
        created_at: event.type === 'ReservationHeld' ? iso(event.decidedAt) : null,
      };
    case 'ReservationConfirmed':
      return {
        ...emptyReservation(event),
        status: 'Confirmed',
        paid_price_minor: event.price.amountMinor,
        payment_reference: event.paymentReference,
        confirmed_at: iso(event.decidedAt),
        confirmed_version: event.reservationVersion,
      };
    case 'ReservationCancelled':
      return {
        ...emptyReservation(event),
        status: 'Cancelled',
        cancelled_at: iso(event.decidedAt),
        cancel_reason: event.reason,
        cancelled_version: event.reservationVersion,
      };
    case 'ReservationPaymentFailed':
      return {
        ...emptyReservation(event),
        status: 'Cancelled',
        payment_failed_at: iso(event.decidedAt),
        payment_failure_reason: event.failureReason,
        payment_failed_version: event.reservationVersion,
      };
    case 'ReservationExpired':
      return { ...emptyReservation(event), status: 'Expired', expired_at: iso(event.decidedAt) };
    case 'ReservationCompleted':
      return { ...emptyReservation(event), status: 'Completed', completed_at: iso(event.decidedAt) };
    default:
      return undefined;
  }
}

/** The resource row an event implies. */
export function resourceRowOf(event: Event): ResourceRow | undefined {
  if (event.type !== 'ResourceUpserted' && event.type !== 'ResourceRetired') return undefined;
  const base: ResourceRow = {
    id: event.resourceId,
    name: null,
    description: null,
    capacity: null,
    unit_price_minor: null,
    currency: null,
    hold_timeout_ms: null,
    retired_at: null,
    retire_reason: null,
    version: event.resourceVersion,
    settings_version: null,
    created_at: null,
    updated_at: iso(event.decidedAt),
    last_event_id: event.eventId,
  };
  if (event.type === 'ResourceRetired') {
    return { ...base, retired_at: iso(event.decidedAt), retire_reason: event.reason };
  }
  return {
    ...base,
    name: event.name,
    description: event.description,
    capacity: event.capacity,
    unit_price_minor: event.unitPrice.amountMinor,
    currency: event.unitPrice.currency,
    hold_timeout_ms: event.holdTimeoutMs,
    settings_version: event.resourceVersion,
    created_at: event.created ? iso(event.decidedAt) : null,
  };
}

/** The customer row an event carries (reservations held or reopened carry the customer's details). */
export function customerRowOf(event: Event): CustomerRow | undefined {
  if (event.type !== 'ReservationHeld' && event.type !== 'ReservationReopened') return undefined;
  return {
    id: event.customer.id,
    full_name: event.customer.fullName,
    email: event.customer.email,
    phone: event.customer.phone,
    updated_at: iso(event.decidedAt),
    last_event_id: event.eventId,
  };
}

/** The decision an event records: every event is one. */
export function decisionRowOf(event: Event): DecisionRow {
  const rejected = event.type === 'ReservationRejected' || event.type === 'ResourceChangeRejected';
  return {
    event_id: event.eventId,
    command_id: event.causationCommandId,
    idempotency_key: event.idempotencyKey,
    event_type: event.type,
    resource_id: event.resourceId,
    reservation_id: 'reservationId' in event ? event.reservationId : null,
    customer_id: 'customerId' in event ? event.customerId : 'customer' in event ? event.customer.id : null,
    rejected,
    reason: rejected ? event.reason : null,
    detail: rejected ? event.detail : null,
    version:
      'reservationVersion' in event
        ? event.reservationVersion
        : 'resourceVersion' in event
          ? event.resourceVersion
          : null,
    decided_at: iso(event.decidedAt),
  };
}

function fold<R extends object>(spec: TableSpec<R>, rows: Iterable<R | undefined>): R[] {
  const byKey = new Map<string, R>();
  for (const raw of rows) {
    if (!raw) continue;
    const row = storableRow(spec.columns, raw);
    const key = String(row[spec.key]);
    const seen = byKey.get(key);
    byKey.set(key, seen ? mergeRows(spec, seen, row) : row);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

/** The rows a batch of events writes, one per key. */
export function project(events: readonly Event[]): ReadModelRows {
  const decisions = new Map<string, DecisionRow>();
  for (const event of events) {
    decisions.set(event.eventId, storableRow(decisionColumns, decisionRowOf(event)));
  }
  return {
    resources: fold(resources, events.map(resourceRowOf)),
    customers: fold(customers, events.map(customerRowOf)),
    reservations: fold(reservations, events.map(reservationRowOf)),
    decisions: [...decisions.values()].sort((a, b) =>
      a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0,
    ),
  };
}
