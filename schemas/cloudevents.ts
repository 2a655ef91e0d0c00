/**
 * CloudEvents Kafka protocol binding, binary mode: the event's attributes travel as `ce_*` headers and the
 * Avro bytes are the value. One helper builds them and one parses them; a missing or malformed attribute is
 * reported (MalformedHeadersError lists every problem), never guessed at.
 */
import type { IHeaders } from 'kafkajs';
import { MalformedHeadersError } from '../common/errors.ts';

export const CE_SPECVERSION = '1.0';
export const AVRO_CONTENT_TYPE = 'application/avro';

/** Header names. Correlation and causation ids are CloudEvents extension attributes. */
export const CE_HEADERS = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  time: 'ce_time',
  subject: 'ce_subject',
  correlationId: 'ce_correlationid',
  causationId: 'ce_causationid',
  contentType: 'content-type',
} as const;

/** The attributes of one message. */
export interface CloudEventAttributes {
  /** Unique per message: the command id or the event id. */
  readonly id: string;
  /** Who produced it, as a URI reference, e.g. `/slotstream/api`. */
  readonly source: string;
  /** The record's fully qualified Avro name, e.g. `slotstream.events.ReservationHeld`. */
  readonly type: string;
  /** When it happened, in epoch milliseconds. */
  readonly time: number;
  /** What it is about: the reservation id, or the resource id for resource records. */
  readonly subject: string;
  /** The id shared by everything one client request set off. */
  readonly correlationId: string;
  /** The id of the message that directly caused this one (for a client's command: the request id). */
  readonly causationId: string;
}

export function buildHeaders(attributes: CloudEventAttributes): Record<string, string> {
  return {
    [CE_HEADERS.specversion]: CE_SPECVERSION,
    [CE_HEADERS.id]: attributes.id,
    [CE_HEADERS.source]: attributes.source,
    [CE_HEADERS.type]: attributes.type,
    [CE_HEADERS.time]: new Date(attributes.time).toISOString(),
    [CE_HEADERS.subject]: attributes.subject,
    [CE_HEADERS.correlationId]: attributes.correlationId,
    [CE_HEADERS.causationId]: attributes.causationId,
    [CE_HEADERS.contentType]: AVRO_CONTENT_TYPE,
  };
}

/** Reads one header as a string; a repeated header is ambiguous and counts as malformed. */
export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

// RFC 3339 date-time, as CloudEvents requires for `time`.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Parses and checks the attributes; throws MalformedHeadersError naming every problem found. */
export function parseHeaders(headers: IHeaders | undefined): CloudEventAttributes {
  const problems: string[] = [];
  const read = (name: string, required = true): string => {
    const raw = headers?.[name];
    if (Array.isArray(raw)) {
      problems.push(`${name} appears more than once`);
      return '';
    }
    const value = headerString(headers, name);
    if (value === undefined || value === '') {
      if (required) problems.push(`${name} is missing`);
      return '';
    }
    return value;
  };
  const specversion = read(CE_HEADERS.specversion);
  if (specversion && specversion !== CE_SPECVERSION) {
    problems.push(`${CE_HEADERS.specversion} must be ${CE_SPECVERSION}, got '${specversion}'`);
  }
  const contentType = read(CE_HEADERS.contentType);
  if (contentType && contentType !== AVRO_CONTENT_TYPE) {
    problems.push(`${CE_HEADERS.contentType} must be ${AVRO_CONTENT_TYPE}, got '${contentType}'`);
  }
  const timeText = read(CE_HEADERS.time);
  const time = Date.parse(timeText);
  if (timeText && (!RFC3339.test(timeText) || Number.isNaN(time))) {
    problems.push(`${CE_HEADERS.time} is not an RFC 3339 timestamp: '${timeText}'`);
  }
  const attributes: CloudEventAttributes = {
    id: read(CE_HEADERS.id),
    source: read(CE_HEADERS.source),
    type: read(CE_HEADERS.type),
    time,
    subject: read(CE_HEADERS.subject),
    correlationId: read(CE_HEADERS.correlationId),
    causationId: read(CE_HEADERS.causationId),
  };
  if (problems.length > 0) throw new MalformedHeadersError(problems);
  return attributes;
}
