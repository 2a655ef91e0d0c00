/**
 * What counts as the decider's decision about a RecordPaymentResult command (processors/core/decide.ts).
 * Every one of them carries `causationCommandId` = the command's id:
 *
 * - ReservationConfirmed — a SUCCEEDED result for a Pending hold at its price;
 * - ReservationPaymentFailed — a FAILED result for a Pending hold;
 * - ReservationRejected with commandType RecordPaymentResult — UNKNOWN_RESOURCE, UNKNOWN_RESERVATION,
 *   NOT_OWNER, ILLEGAL_TRANSITION (the hold expired, was cancelled, or was already paid), AMOUNT_MISMATCH;
 * - ReservationRejected DUPLICATE — the command id was decided before (the original decision precedes it on
 *   the same partition); it says nothing about how.
 */
import type { Event } from '../../schemas/generated/types.ts';

/** The kinds of decision the ledger records (`payment_operations.result_decision`). */
export type ResultDecisionKind = 'confirmed' | 'payment_failed' | 'rejected' | 'duplicate';

/** A decision about a payment result, as the ledger records it. */
export interface ResultDecision {
  /** The RecordPaymentResult's command id (the event's causationCommandId). */
  readonly commandId: string;
  readonly eventId: string;
  readonly kind: ResultDecisionKind;
}

/** The decision an event makes about a RecordPaymentResult command, or undefined if it makes none. */
export function resultDecisionOf(event: Event): ResultDecision | undefined {
  const kind = kindOf(event);
  return kind === undefined
    ? undefined
    : { commandId: event.causationCommandId, eventId: event.eventId, kind };
}

function kindOf(event: Event): ResultDecisionKind | undefined {
  switch (event.type) {
    case 'ReservationConfirmed':
      return 'confirmed';
    case 'ReservationPaymentFailed':
      return 'payment_failed';
    case 'ReservationRejected':
      if (event.commandType !== 'RecordPaymentResult') return undefined;
      return event.reason === 'DUPLICATE' ? 'duplicate' : 'rejected';
    default:
      return undefined;
  }
}

/** The event types that can be a decision about a payment result. */
export const RESULT_DECISION_TYPES = [
  'ReservationConfirmed',
  'ReservationPaymentFailed',
  'ReservationRejected',
] as const satisfies readonly Event['type'][];
