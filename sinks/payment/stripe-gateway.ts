/**
 * The payment gateway on Stripe's API (PaymentIntents and Refunds) with the official `stripe` client.
 * Where it points is configuration only: stripe-mock locally (`STRIPE_API_URL=http://127.0.0.1:12111`),
 * Stripe itself with `STRIPE_API_URL=https://api.stripe.com` and a real key.
 *
 * Stripe's errors are converted here, once, where they enter (fromStripeError):
 * - card declines (402 card_error) and invalid requests (400, e.g. an amount below Stripe's minimum) of a
 *   charge are a final `failed` outcome, never an error: the reservation's hold is released;
 * - network errors and timeouts (the outcome is unknown), 5xx, 409 conflicts, rate limits (429), and any
 *   answer Stripe marks `Stripe-Should-Retry: true` are GatewayUnavailableError: retried with the same
 *   idempotency key, which Stripe answers with the first result if the first request did get through;
 * - refused credentials (401/403) are a configuration problem no record can fix: retried too, so the
 *   partition waits for an operator instead of failing every customer's payment;
 * - an idempotency key reused with other parameters, and any other refusal of a refund or a lookup, are
 *   GatewayRejectedError: dead-lettered for an operator.
 */
import Stripe from 'stripe';
import type { Money } from '../../schemas/generated/types.ts';
import { GatewayRejectedError, GatewayUnavailableError } from './errors.ts';
import type {
  ChargeOutcome,
  ChargeRequest,
  PaymentGateway,
  RefundOutcome,
  RefundRequest,
} from './gateway.ts';

export interface StripeGatewayOptions {
  /** Secret API key (`sk_test_…` for stripe-mock and test mode). */
  readonly apiKey: string;
  /** Root of the API: `https://api.stripe.com`, or stripe-mock's `http://127.0.0.1:12111`. */
  readonly url: string;
  /** The payment method charged (see PaymentSinkOptions.paymentMethod). */
  readonly paymentMethod: string;
  /** Per-request timeout; a request that takes longer has an unknown outcome and is retried. */
  readonly timeoutMs: number;
  /** Name used in errors (the sink's name). @default 'payment' */
  readonly sinkName?: string;
}

/** A PaymentGateway on Stripe's PaymentIntents and Refunds. */
export class StripeGateway implements PaymentGateway {
  private readonly stripe: Stripe;
  private readonly sink: string;

  constructor(private readonly options: StripeGatewayOptions) {
    const url = new URL(options.url);
    const protocol = url.protocol === 'http:' ? 'http' : 'https';
    this.sink = options.sinkName ?? 'payment';
    this.stripe = new Stripe(options.apiKey, {
      host: url.hostname,
      port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
      protocol,
      timeout: options.timeoutMs,
      // The sink runtime retries with backoff (pausing only this partition); the client must not add its
      // own waits inside a batch. It still retries a connection closed before the request was sent once,
      // with the same idempotency key, which is safe.
      maxNetworkRetries: 0,
      telemetry: false,
      appInfo: { name: 'slotstream-payment-sink' },
    });
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount: request.amount.amountMinor,
          currency: request.amount.currency.toLowerCase(),
          confirm: true,
          payment_method: this.options.paymentMethod,
          // No customer is present to follow a redirect, so only methods that need none are allowed.
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          // The customer is not in a checkout flow: a card that asks for authentication fails the attempt
          // instead of leaving it waiting for an action nobody will take.
          error_on_requires_action: true,
          description: request.description,
          metadata: { ...request.metadata },
        },
        { idempotencyKey: request.idempotencyKey },
      );
      return outcomeOf(intent);
    } catch (error) {
      const declined = chargeRefusal(error);
      if (declined) return declined;
      throw fromStripeError(this.sink, 'charge', error);
    }
  }

  async chargeStatus(reference: string): Promise<ChargeOutcome> {
    try {
      return outcomeOf(await this.stripe.paymentIntents.retrieve(reference));
    } catch (error) {
      throw fromStripeError(this.sink, 'look up payment', error);
    }
  }

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    try {
      const refund = await this.stripe.refunds.create(
        {
          payment_intent: request.chargeReference,
          reason: 'requested_by_customer',
          metadata: { ...request.metadata },
        },
        { idempotencyKey: request.idempotencyKey },
      );
      switch (refund.status) {
        case 'succeeded':
          return { status: 'succeeded', reference: refund.id };
        case 'failed':
        case 'canceled':
          return {
            status: 'failed',
            reference: refund.id,
            reason: refund.failure_reason ?? `refund ${refund.status}`,
          };
        default:
          // pending, requires_action (Stripe collects what it needs from the customer): on its way.
          return { status: 'pending', reference: refund.id };
      }
    } catch (error) {
      // Refunded before (by us under another key, or by hand in the dashboard): the duty is done.
      if (
        error instanceof Stripe.errors.StripeInvalidRequestError &&
        error.code === 'charge_already_refunded'
      ) {
        return { status: 'succeeded', reference: request.chargeReference };
      }
      throw fromStripeError(this.sink, 'refund', error);
    }
  }
}

/**
 * stripe-mock (the local Stripe-compatible server) marks every answer with a `Stripe-Mock-Version` header.
 * Its answers are hard-coded fixtures: it validates a request but does not run it, so a confirmed
 * PaymentIntent still reads `requires_payment_method`, and it documents that it answers with a success
 * where Stripe would give the outcome. Only for its answers — never for Stripe's, which do not carry the
 * header, and never in live mode — a 2xx answer to a confirming create is read as the success it stands
 * for. Without this no payment could ever succeed locally; declines and other outcomes are tested through
 * a fault-injecting double (see the integration tests).
 */
function fromStripeMock(intent: Stripe.Response<Stripe.PaymentIntent>): boolean {
  const headers = intent.lastResponse?.headers as Record<string, unknown> | undefined;
  return !intent.livemode && headers?.['stripe-mock-version'] !== undefined;
}

function moneyOf(amountMinor: number, currency: string): Money {
  return { amountMinor, currency: currency.toUpperCase() };
}

/** A PaymentIntent's status as our outcome. */
export function outcomeOf(
  intent: Stripe.Response<Stripe.PaymentIntent> | Stripe.PaymentIntent,
): ChargeOutcome {
  const status =
    'lastResponse' in intent && fromStripeMock(intent as Stripe.Response<Stripe.PaymentIntent>)
      ? 'succeeded'
      : intent.status;
  switch (status) {
    case 'succeeded':
      return {
        status: 'succeeded',
        reference: intent.id,
        amount: moneyOf(intent.amount_received > 0 ? intent.amount_received : intent.amount, intent.currency),
      };
    case 'processing':
      return { status: 'pending', reference: intent.id };
    default: {
      // requires_payment_method (the attempt failed), requires_action (authentication needed and nobody to
      // give it), requires_confirmation, requires_capture (we never ask for manual capture), canceled.
      const last = intent.last_payment_error;
      return {
        status: 'failed',
        reference: intent.id,
        code: last?.decline_code ?? last?.code ?? status,
        reason: last?.message ?? `the payment ended as ${status}`,
      };
    }
  }
}

/** A charge the gateway refused for good (decline, invalid request), as a failed outcome; else undefined. */
export function chargeRefusal(error: unknown): ChargeOutcome | undefined {
  if (!(error instanceof Stripe.errors.StripeError) || isRetryableStripeError(error)) return undefined;
  if (error instanceof Stripe.errors.StripeCardError) {
    return {
      status: 'failed',
      reference: error.payment_intent?.id ?? null,
      code: error.decline_code ?? error.code ?? 'card_declined',
      reason: error.message,
    };
  }
  if (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    !(error instanceof Stripe.errors.StripeIdempotencyError)
  ) {
    return {
      status: 'failed',
      reference: error.payment_intent?.id ?? null,
      code: error.code ?? 'invalid_request',
      reason: error.message,
    };
  }
  return undefined;
}

function isRetryableStripeError(error: InstanceType<typeof Stripe.errors.StripeError>): boolean {
  if (error instanceof Stripe.errors.StripeConnectionError) return true;
  if (error instanceof Stripe.errors.StripeRateLimitError) return true;
  // Credentials refused: a configuration problem; wait for an operator rather than fail every payment.
  if (error instanceof Stripe.errors.StripeAuthenticationError) return true;
  if (error instanceof Stripe.errors.StripePermissionError) return true;
  const shouldRetry = error.headers?.['stripe-should-retry'];
  if (shouldRetry === 'true') return true;
  const status = error.statusCode;
  // No status at all: the request never got an answer.
  return status === undefined || status === 409 || status === 429 || status >= 500;
}

/** Converts what the Stripe client threw into a gateway error; anything else passes through unchanged. */
export function fromStripeError(sink: string, operation: string, error: unknown): Error {
  if (!(error instanceof Stripe.errors.StripeError)) return error as Error;
  const code = error.code ?? error.type ?? String(error.statusCode ?? 'unknown');
  const status = error.statusCode === undefined ? 'no answer' : `HTTP ${error.statusCode}`;
  const message = `${operation}: Stripe ${status}, ${code}: ${error.message}`;
  return isRetryableStripeError(error)
    ? new GatewayUnavailableError(sink, message, code, error)
    : new GatewayRejectedError(sink, message, code, error);
}
