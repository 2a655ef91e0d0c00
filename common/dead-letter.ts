/**
 * Dead letters: a record that can never be processed is written, bytes and headers untouched, to a
 * dead-letter topic with headers that say why and where it came from. Shared by the decider and the
 * sinks, so one tool (dlq:replay) and one runbook read them all.
 */

export const DLQ_HEADERS = {
  reason: 'dlq_reason',
  errorClass: 'dlq_error_class',
  errorCode: 'dlq_error_code',
  originalTopic: 'dlq_original_topic',
  originalPartition: 'dlq_original_partition',
  originalOffset: 'dlq_original_offset',
  attempts: 'dlq_attempts',
  time: 'dlq_time',
} as const;

export interface DeadLetterCause {
  readonly error: unknown;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly attempts: number;
  readonly time: number;
}

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/** The original headers (repeated ones kept as their first value) plus the dead-letter headers. */
export function deadLetterHeaders(
  original: Record<string, HeaderValue>,
  cause: DeadLetterCause,
): Record<string, string | Buffer> {
  const headers: Record<string, string | Buffer> = {};
  for (const [name, value] of Object.entries(original)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = first;
  }
  const error = cause.error;
  const errorClass = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | undefined)?.code;
  headers[DLQ_HEADERS.reason] = error instanceof Error ? error.message : String(error);
  headers[DLQ_HEADERS.errorClass] = errorClass;
  headers[DLQ_HEADERS.errorCode] = typeof code === 'string' ? code : 'UNCLASSIFIED';
  headers[DLQ_HEADERS.originalTopic] = cause.topic;
  headers[DLQ_HEADERS.originalPartition] = String(cause.partition);
  headers[DLQ_HEADERS.originalOffset] = cause.offset;
  headers[DLQ_HEADERS.attempts] = String(cause.attempts);
  headers[DLQ_HEADERS.time] = new Date(cause.time).toISOString();
  return headers;
}
