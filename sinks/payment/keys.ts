/**
 * Idempotency keys and command ids of the payment sink, derived from the events alone so that every
 * instance, every retry and every replay arrives at the same ones.
 *
 * A hold is identified by its reservation and the `reservationVersion` of the event that started it
 * (ReservationHeld: 1; ReservationReopened: the version it brought): a reopened reservation is a new offer,
 * possibly at a new price, and must be charged under a key of its own.
 */
import { createHash } from 'node:crypto';

/** Names the hold a payment is for. */
export interface HoldRef {
  readonly reservationId: string;
  /** reservationVersion of the ReservationHeld or ReservationReopened that started the hold. */
  readonly holdVersion: number;
}

/** The gateway idempotency key of the charge for a hold. */
export function chargeKey(hold: HoldRef): string {
  return `slotstream:charge:${hold.reservationId}:${hold.holdVersion}`;
}

/** The gateway idempotency key of the refund of a hold's charge (a charge is refunded at most once). */
export function refundKey(hold: HoldRef): string {
  return `slotstream:refund:${hold.reservationId}:${hold.holdVersion}`;
}

// A namespace of our own for name-based UUIDs (itself a v4 UUID, fixed forever).
const NAMESPACE = '6f1d3c1e-8a5b-4f57-9b1e-2f4c9a7d0e21';

/**
 * A name-based UUID (RFC 9562 version 5, SHA-1) of `name` in Slotstream's namespace: the same name always
 * gives the same UUID.
 */
export function nameBasedUuid(name: string, namespace: string = NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50; // version 5
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The commandId of the RecordPaymentResult for a charge. Deterministic, so a result sent again (after a
 * crash between the broker's acknowledgement and our ledger write) is recognised by the decider as a
 * DUPLICATE instead of being decided twice.
 */
export function resultCommandId(idempotencyKey: string): string {
  return nameBasedUuid(`RecordPaymentResult:${idempotencyKey}`);
}
