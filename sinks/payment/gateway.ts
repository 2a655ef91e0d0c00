/**
 * The payment gateway port: what the payment sink needs from a payment provider, in our terms. The Stripe
 * adapter (./stripe-gateway.ts) implements it; unit tests implement it in memory.
 *
 * Outcomes and errors are kept apart. An outcome is the provider's final word on an operation (a charge
 * succeeded or was declined). An error means we do not know the outcome yet or the request could not be
 * made: it is thrown as a GatewayUnavailableError (retry with the same idempotency key) or a
 * GatewayRejectedError (retrying will never help; an operator must look), see ./errors.ts.
 */
import type { Money } from '../../schemas/generated/types.ts';

/** A charge to make for a hold. */
export interface ChargeRequest {
  /** Sent as the provider's idempotency key: the same key never charges twice. */
  readonly idempotencyKey: string;
  readonly amount: Money;
  /** Shown on the customer's statement and in the provider's dashboard. */
  readonly description: string;
  /** Kept with the payment at the provider (reservation, resource, customer ids). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** The provider's answer to a charge. */
export type ChargeOutcome =
  /** The money was captured. `amount` is what the provider says it captured. */
  | { readonly status: 'succeeded'; readonly reference: string; readonly amount: Money }
  /**
   * The provider refused the payment for good: a card decline, or a request it will never accept
   * (amount below its minimum, unsupported currency). `code` is the provider's machine-readable reason.
   */
  | {
      readonly status: 'failed';
      readonly reference: string | null;
      readonly code: string;
      readonly reason: string;
    }
  /** Accepted but not final yet (asynchronous payment methods): ask again later with `reference`. */
  | { readonly status: 'pending'; readonly reference: string };

/** A refund of a captured charge, in full. */
export interface RefundRequest {
  readonly idempotencyKey: string;
  /** The provider's reference of the charge (a PaymentIntent id for Stripe). */
  readonly chargeReference: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The provider's answer to a refund. */
export type RefundOutcome =
  /** Refunded, or accepted and on its way (`pending`): nothing more for us to do. */
  | { readonly status: 'succeeded' | 'pending'; readonly reference: string }
  /** The provider could not refund (e.g. the card account was closed): an operator must act. */
  | { readonly status: 'failed'; readonly reference: string | null; readonly reason: string };

/** A payment provider. Every method may throw GatewayUnavailableError or GatewayRejectedError. */
export interface PaymentGateway {
  /** Creates and confirms a payment; calling it again with the same key returns the same payment. */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** The current state of a payment that was `pending`. */
  chargeStatus(reference: string): Promise<ChargeOutcome>;
  /** Refunds a captured charge in full; the same key never refunds twice. */
  refund(request: RefundRequest): Promise<RefundOutcome>;
}
