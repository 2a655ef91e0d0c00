/**
 * The notification sink's errors. The runtime reads only the `retryable` flag (SinkUnavailableError:
 * retry with backoff; SinkRejectedError: dead letter); the class name is what a dead letter's
 * `dlq_error_class` header shows.
 */
import { SinkRejectedError, SinkUnavailableError } from '../runtime/errors.ts';

/**
 * Thrown when a recipient address can never receive mail: it is not one mailbox, or the SMTP server
 * refused it permanently (5xx to RCPT TO). The event is dead-lettered with the reason.
 */
export class InvalidRecipientError extends SinkRejectedError {
  constructor(
    sink: string,
    readonly recipient: string,
    reason: string,
    readonly smtpCode: number | null = null,
    cause?: unknown,
  ) {
    super(sink, `recipient '${recipient}' refused: ${reason}`, cause);
  }
}

/** Thrown when the SMTP server refused the message itself permanently (a 5xx after the recipients). */
export class MailRejectedError extends SinkRejectedError {
  constructor(
    sink: string,
    message: string,
    readonly smtpCode: number | null,
    cause?: unknown,
  ) {
    super(sink, message, cause);
  }
}

/**
 * Thrown when the SMTP server cannot be reached or answers "try later" (4xx), or refuses our credentials
 * (a configuration problem no record can fix): retried with backoff, nothing is lost.
 */
export class SmtpUnavailableError extends SinkUnavailableError {
  constructor(
    sink: string,
    message: string,
    readonly smtpCode: number | null,
    cause?: unknown,
  ) {
    super(sink, message, cause);
  }
}
