/**
 * Error classes shared by every worker. Each has a stable `code` and a `retryable` flag: sinks and the
 * decider choose retry or dead letter from the flag, never from message text. Errors from outside are
 * converted once, where they enter; anything not recognised passes through unchanged.
 */

export const ERROR_CODES = [
  'MALFORMED_MESSAGE',
  'MALFORMED_HEADERS',
  'UNKNOWN_SCHEMA',
  'UNKNOWN_RECORD_TYPE',
  'SCHEMA_REGISTRY_UNAVAILABLE',
  'SCHEMA_INCOMPATIBLE',
  // producers/ (the command producer library)
  'INVALID_COMMAND',
  'PRODUCER_NOT_READY',
  'PRODUCER_OVERLOADED',
  'PRODUCER_UNAVAILABLE',
  'PRODUCE_REFUSED',
  'DELIVERY_UNKNOWN',
  // sinks/ (the shared sink runtime and its sinks)
  'SINK_UNAVAILABLE',
  'SINK_REJECTED',
  'SINK_RETRIES_EXHAUSTED',
  'DEAD_LETTER_FAILED',
  'INVALID_REPORT_PARAMETER',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The base of every Slotstream error: a code, a retryable flag and an optional cause. */
export class SlotstreamError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Thrown when a message's bytes are not a Confluent-framed Avro record we can read. */
export class MalformedMessageError extends SlotstreamError {
  static readonly code = 'MALFORMED_MESSAGE';
  constructor(message: string, cause?: unknown) {
    super('MALFORMED_MESSAGE', message, { cause });
  }
}

/** Thrown when a message's CloudEvents headers are missing or malformed; `problems` lists each one. */
export class MalformedHeadersError extends SlotstreamError {
  static readonly code = 'MALFORMED_HEADERS';
  constructor(readonly problems: readonly string[]) {
    super('MALFORMED_HEADERS', `malformed CloudEvents headers: ${problems.join('; ')}`);
  }
}

/** Thrown when a message names a schema id the registry does not know. */
export class UnknownSchemaError extends SlotstreamError {
  static readonly code = 'UNKNOWN_SCHEMA';
  constructor(
    readonly schemaId: number,
    cause?: unknown,
  ) {
    super('UNKNOWN_SCHEMA', `schema id ${schemaId} is not in the registry`, { cause });
  }
}

/** Thrown when a record's type is not one this topic carries (or not one this build knows). */
export class UnknownRecordTypeError extends SlotstreamError {
  static readonly code = 'UNKNOWN_RECORD_TYPE';
  constructor(
    readonly recordName: string,
    readonly topic: string,
  ) {
    super('UNKNOWN_RECORD_TYPE', `record type ${recordName} is not carried by topic ${topic}`);
  }
}

/** Thrown when the schema registry cannot be reached or answers with a server error: try again later. */
export class RegistryUnavailableError extends SlotstreamError {
  static readonly code = 'SCHEMA_REGISTRY_UNAVAILABLE';
  constructor(message: string, cause?: unknown) {
    super('SCHEMA_REGISTRY_UNAVAILABLE', message, { retryable: true, cause });
  }
}

/** Thrown when the registry refuses a schema as incompatible with what is registered under its subject. */
export class SchemaIncompatibleError extends SlotstreamError {
  static readonly code = 'SCHEMA_INCOMPATIBLE';
  constructor(
    readonly subject: string,
    readonly reasons: readonly string[],
  ) {
    super(
      'SCHEMA_INCOMPATIBLE',
      `${subject}: incompatible with the registered schema: ${reasons.join('; ')}`,
    );
  }
}

/** True for errors that a later attempt may fix (network, overload); false for ones it never will. */
export function isRetryable(error: unknown): boolean {
  return error instanceof SlotstreamError ? error.retryable : false;
}
