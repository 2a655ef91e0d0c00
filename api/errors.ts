/**
 * HTTP errors of the API. Every 4xx answers `{ error, code, details }` with a stable machine-readable
 * `code`; a 5xx says only that something failed and the request id to quote, never internals.
 */

export const API_ERROR_CODES = [
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'CUSTOMER_MISMATCH',
  'NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'RESERVATION_NOT_FOUND',
  'RESOURCE_NOT_FOUND',
  'CUSTOMER_NOT_FOUND',
  'RESERVATION_REJECTED',
  'RESOURCE_CHANGE_REJECTED',
  'IDEMPOTENCY_KEY_INVALID',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_USE',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'OUTCOME_UNKNOWN',
  'NOT_IMPLEMENTED',
  'INTERNAL',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The body of every error answer. */
export interface ErrorBody {
  readonly error: string;
  readonly code: ApiErrorCode | string;
  readonly details: Record<string, unknown> | null;
}

/** Thrown by a route or hook to answer with a precise error; the error handler renders it. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    return { error: this.message, code: this.code, details: this.details };
  }
}

export const unauthenticated = (message: string) =>
  new ApiError(401, 'UNAUTHENTICATED', message, null, { 'www-authenticate': 'Bearer realm="slotstream"' });

export const forbidden = (message: string, details: Record<string, unknown> | null = null) =>
  new ApiError(403, 'FORBIDDEN', message, details);
