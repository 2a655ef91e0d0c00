/**
 * Errors of the command producer library. Each carries a stable `code` and a `retryable` flag (from
 * common/errors.ts), so a caller decides between retrying and giving up without reading message text.
 * kafkajs errors are converted once, in `fromKafkaError`, where they enter.
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

/** Thrown when the broker did not acknowledge a batch (acks=all); `retryable` mirrors kafkajs's verdict. */
export class ProduceFailedError extends SlotstreamError {
  static readonly code = 'PRODUCE_FAILED';
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super('PRODUCE_FAILED', message, options);
  }
}

/** Converts what kafkajs throws into ProduceFailedError; our own errors pass through unchanged. */
export function fromKafkaError(error: unknown): Error {
  if (error instanceof SlotstreamError) return error;
  if (error instanceof KafkaJSError) {
    return new ProduceFailedError(`the broker did not acknowledge the batch: ${error.message}`, {
      retryable: error.retriable,
      cause: error,
    });
  }
  // A failure we cannot classify (a bug, a socket error kafkajs did not wrap): the batch may or may not
  // have been written; a retry with the same command ids is safe because the decider deduplicates.
  return new ProduceFailedError(`sending the batch failed: ${(error as Error)?.message ?? String(error)}`, {
    retryable: true,
    cause: error,
  });
}
