/**
 * The sinks' error classes. A sink converts its driver's errors into these where they enter; the runtime
 * decides retry or dead letter from the `retryable` flag alone, never from message text.
 */
import { SlotstreamError } from '../../common/errors.ts';

/** Thrown when the sink's target cannot be reached or is overloaded right now: try again later. */
export class SinkUnavailableError extends SlotstreamError {
  static readonly code = 'SINK_UNAVAILABLE';
  constructor(
    readonly sink: string,
    message: string,
    cause?: unknown,
  ) {
    super('SINK_UNAVAILABLE', `${sink}: ${message}`, { retryable: true, cause });
  }
}

/** Thrown when the sink's target refuses the data itself (constraint, out-of-range value): retrying will not help. */
export class SinkRejectedError extends SlotstreamError {
  static readonly code = 'SINK_REJECTED';
  constructor(
    readonly sink: string,
    message: string,
    cause?: unknown,
  ) {
    super('SINK_REJECTED', `${sink}: ${message}`, { retryable: false, cause });
  }
}

/** Recorded on a dead letter when a retryable error persisted through every allowed attempt. */
export class RetriesExhaustedError extends SlotstreamError {
  static readonly code = 'SINK_RETRIES_EXHAUSTED';
  constructor(
    readonly attempts: number,
    readonly last: unknown,
  ) {
    super('SINK_RETRIES_EXHAUSTED', `gave up after ${attempts} attempts: ${describe(last).message}`, {
      cause: last,
    });
  }
}

/** Thrown when a dead letter could not be written to its topic; the records stay unprocessed and are retried. */
export class DeadLetterError extends SlotstreamError {
  static readonly code = 'DEAD_LETTER_FAILED';
  constructor(topic: string, cause?: unknown) {
    super('DEAD_LETTER_FAILED', `could not write dead letters to ${topic}`, { retryable: true, cause });
  }
}

/** What the runtime records about an error: class, code, message and whether it may be retried. */
export interface ErrorDescription {
  readonly errorClass: string;
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/**
 * Classifies an error by its flag. A SlotstreamError says whether it is retryable; an error the sink did not
 * convert is unknown, so it is retried (a bug or an outage is likelier than a bad record) until the attempts
 * run out, and then dead-lettered.
 */
export function describe(error: unknown): ErrorDescription {
  if (error instanceof SlotstreamError) {
    return { errorClass: error.name, code: error.code, message: error.message, retryable: error.retryable };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      errorClass: error.name || 'Error',
      code: typeof code === 'string' ? code : 'UNCLASSIFIED',
      message: error.message,
      retryable: true,
    };
  }
  return { errorClass: typeof error, code: 'UNCLASSIFIED', message: String(error), retryable: true };
}
