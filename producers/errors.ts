/**
 * Errors of the command producer library. Each carries a stable `code` and a `retryable` flag (from
 * common/errors.ts), so a caller decides between retrying and giving up without reading message text.
 *
 * A failed `send` says one of two things (`outcomeOf`): refused — nothing was sent (invalid input, not
 * running, overloaded, Kafka unreachable before the delivery timeout, a record the broker refuses for its
 * content) — or DeliveryUnknownError: the command was handed to Kafka and may be on the topic.
 */
import '../common/kafkajs-fast-encoder.ts'; // before kafkajs loads
import kafkajs from 'kafkajs';
import { SlotstreamError } from '../common/errors.ts';

// kafkajs is CommonJS and Node's ESM loader cannot see its error classes as named exports.
const { KafkaJSError } = kafkajs;

/** One thing wrong with a command's input: the field path and what is wrong with it. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** Thrown when a command builder is given input the contract cannot carry; `problems` lists each one. */
export class InvalidCommandError extends SlotstreamError {
  static readonly code = 'INVALID_COMMAND';
  constructor(
    readonly commandType: string,
    readonly problems: readonly Problem[],
  ) {
    super(
      'INVALID_COMMAND',
      `invalid ${commandType}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
    );
  }
}

/** Thrown when a command is sent before `connect()` finished or after `disconnect()` began. */
export class ProducerNotReadyError extends SlotstreamError {
  static readonly code = 'PRODUCER_NOT_READY';
  constructor(readonly state: string) {
    super('PRODUCER_NOT_READY', `the command producer is ${state}, not running`, { retryable: true });
  }
}

/** Thrown when the send buffer is full: the broker is slower than the offered load; back off and retry. */
export class ProducerOverloadedError extends SlotstreamError {
  static readonly code = 'PRODUCER_OVERLOADED';
  constructor(readonly bufferedMessages: number) {
    super('PRODUCER_OVERLOADED', `${bufferedMessages} messages are waiting for the broker; try again later`, {
      retryable: true,
    });
  }
}

/**
 * Thrown when a command was handed to Kafka but no acknowledgement came before its delivery timeout: it may
 * or may not be on the topic. Re-send the very same command (same command id) to learn the outcome: the
 * decider decides a command id once, so a command written twice is decided once.
 */
export class DeliveryUnknownError extends SlotstreamError {
  static readonly code = 'DELIVERY_UNKNOWN';
  constructor(
    readonly commandId: string,
    cause: unknown,
  ) {
    super(
      'DELIVERY_UNKNOWN',
      `command ${commandId} may or may not have reached Kafka (${describeCause(cause)}); re-send the same command to learn its outcome`,
      { retryable: true, cause },
    );
  }
}

/** Thrown when Kafka could not be reached before a command's delivery timeout: it was never sent. */
export class ProducerUnavailableError extends SlotstreamError {
  static readonly code = 'PRODUCER_UNAVAILABLE';
  constructor(
    readonly commandId: string,
    waitedMs: number,
  ) {
    super('PRODUCER_UNAVAILABLE', `command ${commandId} waited ${waitedMs} ms for Kafka and was not sent`, {
      retryable: true,
    });
  }
}

/** Thrown when the broker refused a command for what it is (too large, invalid): it was not written. */
export class ProduceRefusedError extends SlotstreamError {
  static readonly code = 'PRODUCE_REFUSED';
  constructor(
    readonly commandId: string,
    cause: unknown,
  ) {
    super('PRODUCE_REFUSED', `the broker refused command ${commandId}: ${describeCause(cause)}`, { cause });
  }
}

/** What a caller may conclude from a failed `send`. */
export type SendOutcome = 'refused' | 'unknown';

/** `unknown` for DeliveryUnknownError (re-send the same command), `refused` for anything else: nothing was sent. */
export function outcomeOf(error: unknown): SendOutcome {
  return error instanceof DeliveryUnknownError ? 'unknown' : 'refused';
}

// Broker errors about the records themselves: every attempt with the same bytes is refused the same way,
// so a record refused with one of them was never written.
const REFUSED_FOR_CONTENT = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);

/** True when kafkajs's error (or its cause) is a broker refusal of the records' content. */
export function isRefusedForContent(error: unknown): boolean {
  for (let e = error; e instanceof KafkaJSError; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && REFUSED_FOR_CONTENT.has(type)) return true;
    if ((e as { cause?: unknown }).cause === e) break;
  }
  return false;
}

function describeCause(cause: unknown): string {
  return (cause as Error)?.message ?? String(cause);
}
