/**
 * The payment sink's errors. The runtime reads only their `retryable` flag (SinkUnavailableError: retry
 * with backoff; SinkRejectedError: dead letter); the subclasses say which case it was, and that class name
 * is what a dead letter's `dlq_error_class` header shows.
 */
import { SinkRejectedError, SinkUnavailableError } from '../runtime/errors.ts';

/**
 * Thrown when the gateway could not be asked or did not answer for sure: a network error, a timeout, a
 * 5xx, a rate limit, or credentials it refused (a configuration problem that no record can fix). The
 * operation is retried with the same idempotency key, so one that did reach the gateway is not repeated.
 */
export class GatewayUnavailableError extends SinkUnavailableError {
  constructor(
    sink: string,
    message: string,
    /** The provider's error type or HTTP status, for logs. */
    readonly gatewayCode: string,
    cause?: unknown,
  ) {
    super(sink, message, cause);
  }
}

/**
 * Thrown when the gateway refused an operation that is not a payment attempt (a refund it cannot make, an
 * idempotency key reused with other parameters): retrying will not help; the event is dead-lettered so an
 * operator can act. Card declines are never this error: they are a failed payment result.
 */
export class GatewayRejectedError extends SinkRejectedError {
  constructor(
    sink: string,
    message: string,
    readonly gatewayCode: string,
    cause?: unknown,
  ) {
    super(sink, message, cause);
  }
}

/** Thrown when a payment is accepted but not final yet: the batch is retried later and asks again. */
export class PaymentPendingError extends SinkUnavailableError {
  constructor(
    sink: string,
    readonly reservationId: string,
    readonly reference: string,
  ) {
    super(sink, `payment ${reference} of reservation ${reservationId} is not final yet`);
  }
}

/** Thrown when a captured charge could not be refunded: an operator must refund it by hand. */
export class RefundFailedError extends SinkRejectedError {
  constructor(
    sink: string,
    readonly reservationId: string,
    readonly chargeReference: string,
    reason: string,
  ) {
    super(sink, `refund of ${chargeReference} (reservation ${reservationId}) failed: ${reason}`);
  }
}
