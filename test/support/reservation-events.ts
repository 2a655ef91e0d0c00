/**
 * Reservation events as the decider writes them, one reservation's lifecycle at a time, for the payment and
 * notification sink tests: `const r = reservationStory({...}); r.held(); r.confirmed(commandId); …` gives
 * events with versions +1 per transition, fresh event ids and the reservation's own ids.
 */
import { randomUUID } from 'node:crypto';
import type {
  Customer,
  Money,
  ReservationCancelled,
  ReservationCompleted,
  ReservationConfirmed,
  ReservationExpired,
  ReservationHeld,
  ReservationPaymentFailed,
  ReservationRejected,
  ReservationRejectionReason,
  ReservationReopened,
  ReservationStatus,
} from '../../schemas/generated/types.ts';

export interface StoryOptions {
  readonly reservationId?: string;
  readonly resourceId?: string;
  readonly resourceName?: string;
  readonly customer?: Partial<Customer>;
  readonly start?: number;
  readonly end?: number;
  readonly quantity?: number;
  readonly price?: Money;
  /** Hold length from decidedAt. @default 15 minutes */
  readonly holdMs?: number;
  /** decidedAt of the first event; later ones advance a second each. @default Date.now() */
  readonly now?: number;
}

/** One reservation's events, in order, with versions that follow the lifecycle. */
export function reservationStory(options: StoryOptions = {}) {
  const reservationId = options.reservationId ?? randomUUID();
  const resourceId = options.resourceId ?? `res-${randomUUID().slice(0, 8)}`;
  const short = randomUUID().slice(0, 8);
  const customer: Customer = {
    id: options.customer?.id ?? `cust-${short}`,
    fullName: options.customer?.fullName ?? `Ada ${short}`,
    email: options.customer?.email ?? `ada-${short}@example.test`,
    phone: options.customer?.phone ?? null,
  };
  const quantity = options.quantity ?? 2;
  const price = options.price ?? { amountMinor: 2_500 * quantity, currency: 'EUR' };
  const start = options.start ?? Date.UTC(2027, 2, 14, 18, 0);
  const end = options.end ?? start + 2 * 3_600_000;
  const holdMs = options.holdMs ?? 15 * 60_000;
  let clock = options.now ?? Date.now();
  let version = 0;
  let holdVersion = 0;

  const head = (causationCommandId: string = randomUUID()) => {
    clock += 1_000;
    return {
      eventId: randomUUID(),
      causationCommandId,
      idempotencyKey: null,
      decidedAt: clock,
      resourceId,
      reservationId,
    };
  };
  const hold = () => ({
    customer,
    start,
    end,
    quantity,
    unitPrice: { amountMinor: price.amountMinor / quantity, currency: price.currency },
    price,
    holdExpiresAt: Math.min(clock + holdMs, end),
    resourceName: options.resourceName ?? `Table ${short}`,
  });

  return {
    reservationId,
    resourceId,
    customer,
    price,
    /** reservationVersion of the newest hold (1 for the first). */
    get holdVersion() {
      return holdVersion;
    },
    held(): ReservationHeld {
      version = 1;
      holdVersion = 1;
      return { type: 'ReservationHeld', ...head(), reservationVersion: version, ...hold() };
    },
    reopened(): ReservationReopened {
      version += 1;
      holdVersion = version;
      return { type: 'ReservationReopened', ...head(), reservationVersion: version, ...hold() };
    },
    confirmed(
      commandId: string = randomUUID(),
      paymentReference: string | null = 'pi_test',
    ): ReservationConfirmed {
      version += 1;
      return {
        type: 'ReservationConfirmed',
        ...head(commandId),
        reservationVersion: version,
        customerId: customer.id,
        price,
        paymentReference,
      };
    },
    paymentFailed(
      commandId: string = randomUUID(),
      failureReason = 'card_declined: Your card was declined.',
    ): ReservationPaymentFailed {
      version += 1;
      return {
        type: 'ReservationPaymentFailed',
        ...head(commandId),
        reservationVersion: version,
        customerId: customer.id,
        paymentReference: 'pi_failed',
        failureReason,
      };
    },
    cancelled(
      previousStatus: ReservationStatus,
      reason: string | null = 'plans changed',
    ): ReservationCancelled {
      version += 1;
      return {
        type: 'ReservationCancelled',
        ...head(),
        reservationVersion: version,
        customerId: customer.id,
        previousStatus,
        reason,
      };
    },
    expired(): ReservationExpired {
      version += 1;
      return {
        type: 'ReservationExpired',
        ...head(),
        reservationVersion: version,
        customerId: customer.id,
        holdExpiresAt: clock,
      };
    },
    completed(): ReservationCompleted {
      version += 1;
      return {
        type: 'ReservationCompleted',
        ...head(),
        reservationVersion: version,
        customerId: customer.id,
        end,
      };
    },
    rejected(
      commandType: string,
      reason: ReservationRejectionReason,
      extra: {
        commandId?: string;
        customerId?: string;
        currentStatus?: ReservationStatus | null;
        detail?: string;
      } = {},
    ): ReservationRejected {
      return {
        type: 'ReservationRejected',
        ...head(extra.commandId),
        customerId: extra.customerId ?? customer.id,
        commandType,
        reason,
        detail: extra.detail ?? `refused: ${reason}`,
        currentStatus: extra.currentStatus ?? null,
        duplicateOf: null,
      };
    },
  };
}

export type ReservationStory = ReturnType<typeof reservationStory>;
