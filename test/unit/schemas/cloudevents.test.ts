import { describe, expect, it } from 'vitest';
import { MalformedHeadersError } from '../../../common/errors.ts';
import { buildHeaders, type CloudEventAttributes, parseHeaders } from '../../../schemas/cloudevents.ts';

const attributes: CloudEventAttributes = {
  id: '6f1c1c1e-4b7e-4b43-9b7a-0b1f1d4b2f10',
  source: '/slotstream/processor',
  type: 'slotstream.events.ReservationHeld',
  time: Date.UTC(2026, 10, 25, 12, 0, 0, 123),
  subject: 'res-1',
  correlationId: 'corr-1',
  causationId: 'cmd-1',
};

function asKafkaHeaders(headers: Record<string, string>) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));
}

describe('CloudEvents headers', () => {
  it('builds the binary-mode headers and parses them back from Kafka buffers', () => {
    const headers = buildHeaders(attributes);
    expect(headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: attributes.id,
      ce_type: attributes.type,
      ce_time: '2026-11-25T12:00:00.123Z',
      'content-type': 'application/avro',
    });
    expect(parseHeaders(asKafkaHeaders(headers))).toEqual(attributes);
  });

  it('reports every missing attribute instead of guessing', () => {
    const headers = buildHeaders(attributes);
    delete (headers as Record<string, string>).ce_id;
    delete (headers as Record<string, string>).ce_correlationid;
    const error = (() => {
      try {
        parseHeaders(asKafkaHeaders(headers));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(MalformedHeadersError);
    expect((error as MalformedHeadersError).problems).toEqual([
      'ce_id is missing',
      'ce_correlationid is missing',
    ]);
  });

  it('rejects a wrong specversion, content type and a time that is not RFC 3339', () => {
    const headers = {
      ...buildHeaders(attributes),
      ce_specversion: '0.3',
      'content-type': 'application/json',
      ce_time: 'yesterday',
    };
    expect(() => parseHeaders(asKafkaHeaders(headers))).toThrow(
      /ce_specversion must be 1.0.*content-type.*ce_time/,
    );
  });

  it('treats a repeated header as malformed', () => {
    const headers: Record<string, Buffer | Buffer[]> = asKafkaHeaders(buildHeaders(attributes));
    headers.ce_type = [Buffer.from('a'), Buffer.from('b')];
    expect(() => parseHeaders(headers)).toThrow(/ce_type appears more than once/);
  });

  it('reports absent headers as all missing', () => {
    expect(() => parseHeaders(undefined)).toThrow(MalformedHeadersError);
  });
});
