import { ClickHouseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { fromClickHouseError } from '../../../sinks/clickhouse/errors.ts';
import { InvalidReportParameterError } from '../../../sinks/clickhouse/params.ts';
import { parseReportParams, prepareReport, reports } from '../../../sinks/clickhouse/reports.ts';
import { EVENT_COLUMNS, eventRow } from '../../../sinks/clickhouse/rows.ts';
import { SinkRejectedError, SinkUnavailableError } from '../../../sinks/runtime/errors.ts';
import { generateStream } from '../../support/events.ts';
import { sinkEvent } from './samples.ts';

describe('fact rows', () => {
  it('gives every event a row with the columns analysts need', () => {
    const stream = generateStream({ resources: 1, reservations: 30, seed: 2 });
    for (const [i, event] of stream.events.entries()) {
      const row = eventRow(sinkEvent(event, i, 2));
      expect(row).toHaveLength(EVENT_COLUMNS.length);
      const named = Object.fromEntries(EVENT_COLUMNS.map((c, j) => [c, row[j]]));
      expect(named).toMatchObject({
        event_id: event.eventId,
        event_type: event.type,
        decided_at: event.decidedAt / 1000,
        resource_id: event.resourceId,
        kafka_partition: 2,
        kafka_offset: String(i),
      });
      if (event.type === 'ReservationHeld') {
        expect(named).toMatchObject({
          status: 'Pending',
          quantity: event.quantity,
          amount_minor: event.price.amountMinor,
          currency: event.price.currency,
          start_at: event.start / 1000,
          customer_id: event.customer.id,
        });
      }
      if (event.type === 'ReservationRejected') expect(named).toMatchObject({ reason: event.reason });
    }
  });
});

describe('report parameters', () => {
  it('accepts typed values and fills defaults', () => {
    expect(parseReportParams('topResources', { from: '2026-11-01', to: '2026-11-08' })).toEqual({
      from: '2026-11-01',
      to: '2026-11-08',
      limit: 10,
      by: 'bookings',
    });
    expect(
      parseReportParams('revenue', { from: '2026-11-01', to: '2026-11-08', resourceId: 'room-1' }),
    ).toMatchObject({
      resourceId: 'room-1',
    });
    expect(
      parseReportParams('topResources', { from: '2026-11-01', to: '2026-11-08', limit: '25' }).limit,
    ).toBe(25);
  });

  it('refuses malformed values naming the parameter', () => {
    const cases: [keyof typeof reports, Record<string, unknown>, string][] = [
      ['revenue', { from: '2026-13-01', to: '2026-12-01' }, 'from'],
      ['revenue', { from: '2026-11-01' }, 'to'],
      ['revenue', { from: '2026-11-01', to: '2026-11-01' }, 'to'],
      ['bookingsPerHour', { from: '2026-01-01', to: '2026-03-01' }, 'to'],
      ['revenue', { from: '2026-11-01', to: '2026-12-01', resourceId: '' }, 'resourceId'],
      ['revenue', { from: '2026-11-01', to: '2026-12-01', resourceId: 'x'.repeat(201) }, 'resourceId'],
      ['topResources', { from: '2026-11-01', to: '2026-12-01', limit: 1001 }, 'limit'],
      ['topResources', { from: '2026-11-01', to: '2026-12-01', limit: 1.5 }, 'limit'],
      ['topResources', { from: '2026-11-01', to: '2026-12-01', by: 'revenue' }, 'by'],
      ['revenue', { from: '2026-11-01', to: '2026-12-01', format: 'CSV' }, 'format'],
    ];
    for (const [name, params, parameter] of cases) {
      let error: unknown;
      try {
        parseReportParams(name, params);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(params)).toBeInstanceOf(InvalidReportParameterError);
      expect((error as InvalidReportParameterError).parameter).toBe(parameter);
      expect((error as InvalidReportParameterError).retryable).toBe(false);
    }
  });

  it('never puts a parameter value into the SQL text: values travel as bound parameters', () => {
    const evil = "x' OR 1=1; DROP TABLE events --";
    for (const name of Object.keys(reports) as (keyof typeof reports)[]) {
      const raw =
        name === 'topResources'
          ? { from: '2026-11-01', to: '2026-11-30' }
          : { from: '2026-11-01', to: '2026-11-30', resourceId: evil };
      const { query, params } = prepareReport(name, raw);
      expect(query).not.toContain(evil);
      expect(query).not.toContain('2026-11-01');
      expect(query).toMatch(/\{from:Date\}/);
      for (const placeholder of query.matchAll(/\{(\w+):\w+\}/g))
        expect(Object.keys(params)).toContain(placeholder[1]);
    }
  });
});

describe('ClickHouse error conversion', () => {
  it('refuses data that cannot be parsed and retries the rest', () => {
    const server = (code: string, type: string) => new ClickHouseError({ message: type, code, type });
    expect(fromClickHouseError('clickhouse', server('376', 'CANNOT_PARSE_UUID'))).toBeInstanceOf(
      SinkRejectedError,
    );
    expect(
      fromClickHouseError('clickhouse', server('27', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED')),
    ).toBeInstanceOf(SinkRejectedError);
    expect(fromClickHouseError('clickhouse', server('252', 'TOO_MANY_PARTS'))).toBeInstanceOf(
      SinkUnavailableError,
    );
    expect(fromClickHouseError('clickhouse', server('60', 'UNKNOWN_TABLE'))).toBeInstanceOf(
      SinkUnavailableError,
    );
    expect(
      fromClickHouseError(
        'clickhouse',
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      ),
    ).toBeInstanceOf(SinkUnavailableError);
  });
});
