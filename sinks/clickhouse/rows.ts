/** Events → rows of the `events` fact table, pure. Columns in table order; see ./migrate.ts. */
import type { Event } from '../../schemas/generated/types.ts';
import type { SinkEvent } from '../runtime/types.ts';

/** Columns written by the sink (ingested_at is filled by the server). */
export const EVENT_COLUMNS = [
  'event_id',
  'event_type',
  'decided_at',
  'resource_id',
  'resource_name',
  'reservation_id',
  'customer_id',
  'status',
  'previous_status',
  'version',
  'start_at',
  'end_at',
  'hold_expires_at',
  'quantity',
  'capacity',
  'unit_price_minor',
  'amount_minor',
  'currency',
  'reason',
  'detail',
  'command_type',
  'causation_command_id',
  'idempotency_key',
  'kafka_partition',
  'kafka_offset',
] as const;

export type EventRow = [
  string,
  string,
  number,
  string,
  string,
  string | null,
  string,
  string,
  string,
  number,
  number | null,
  number | null,
  number | null,
  number,
  number,
  number,
  number,
  string,
  string,
  string,
  string,
  string,
  string,
  number,
  string,
];

/**
 * A DateTime64(3) value for JSON input: epoch seconds with the milliseconds as decimals (an integer would be
 * read as seconds; a formatted date costs more to build than the rest of the row).
 */
export function chTime(epochMs: number): number {
  return epochMs / 1000;
}

interface Facts {
  resourceName?: string;
  reservationId?: string | null;
  customerId?: string;
  status?: string;
  previousStatus?: string;
  version?: number;
  start?: number | null;
  end?: number | null;
  holdExpiresAt?: number | null;
  quantity?: number;
  capacity?: number;
  unitPriceMinor?: number;
  amountMinor?: number;
  currency?: string;
  reason?: string;
  detail?: string | null;
  commandType?: string;
}

function factsOf(event: Event): Facts {
  switch (event.type) {
    case 'ReservationHeld':
    case 'ReservationReopened':
      return {
        resourceName: event.resourceName,
        reservationId: event.reservationId,
        customerId: event.customer.id,
        status: 'Pending',
        version: event.reservationVersion,
        start: event.start,
        end: event.end,
        holdExpiresAt: event.holdExpiresAt,
        quantity: event.quantity,
        unitPriceMinor: event.unitPrice.amountMinor,
        amountMinor: event.price.amountMinor,
        currency: event.price.currency,
      };
    case 'ReservationConfirmed':
      return {
        reservationId: event.reservationId,
        customerId: event.customerId,
        status: 'Confirmed',
        version: event.reservationVersion,
        amountMinor: event.price.amountMinor,
        currency: event.price.currency,
      };
    case 'ReservationCancelled':
      return {
        reservationId: event.reservationId,
        customerId: event.customerId,
        status: 'Cancelled',
        previousStatus: event.previousStatus,
        version: event.reservationVersion,
        detail: event.reason,
      };
    case 'ReservationPaymentFailed':
      return {
        reservationId: event.reservationId,
        customerId: event.customerId,
        status: 'Cancelled',
        previousStatus: 'Pending',
        version: event.reservationVersion,
        detail: event.failureReason,
      };
    case 'ReservationExpired':
      return {
        reservationId: event.reservationId,
        customerId: event.customerId,
        status: 'Expired',
        version: event.reservationVersion,
        holdExpiresAt: event.holdExpiresAt,
      };
    case 'ReservationCompleted':
      return {
        reservationId: event.reservationId,
        customerId: event.customerId,
        status: 'Completed',
        version: event.reservationVersion,
        end: event.end,
      };
    case 'ReservationRejected':
      return {
        reservationId: event.reservationId,
        customerId: event.customerId,
        reason: event.reason,
        detail: event.detail,
        commandType: event.commandType,
        status: event.currentStatus ?? '',
      };
    case 'ResourceUpserted':
      return {
        resourceName: event.name,
        version: event.resourceVersion,
        capacity: event.capacity,
        unitPriceMinor: event.unitPrice.amountMinor,
        currency: event.unitPrice.currency,
        detail: event.description,
      };
    case 'ResourceRetired':
      return { version: event.resourceVersion, detail: event.reason };
    case 'ResourceChangeRejected':
      return { reason: event.reason, detail: event.detail, commandType: event.commandType };
  }
}

export function eventRow({ event, record }: SinkEvent): EventRow {
  const f = factsOf(event);
  const time = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : chTime(ms));
  return [
    event.eventId,
    event.type,
    chTime(event.decidedAt),
    event.resourceId,
    f.resourceName ?? '',
    f.reservationId ?? null,
    f.customerId ?? '',
    f.status ?? '',
    f.previousStatus ?? '',
    f.version ?? 0,
    time(f.start),
    time(f.end),
    time(f.holdExpiresAt),
    f.quantity ?? 0,
    f.capacity ?? 0,
    f.unitPriceMinor ?? 0,
    f.amountMinor ?? 0,
    f.currency ?? '',
    f.reason ?? '',
    f.detail ?? '',
    f.commandType ?? '',
    event.causationCommandId,
    event.idempotencyKey ?? '',
    record.partition,
    record.offset,
  ];
}
