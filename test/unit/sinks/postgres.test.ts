import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromPgError } from '../../../sinks/postgres/errors.ts';
import { project } from '../../../sinks/postgres/projection.ts';
import { BATCH_SQL } from '../../../sinks/postgres/sink.ts';
import { mergeRows, reservations, upsertSql } from '../../../sinks/postgres/tables.ts';
import { SinkRejectedError, SinkUnavailableError } from '../../../sinks/runtime/errors.ts';
import { generateStream, shuffled } from '../../support/events.ts';

const stream = generateStream({ resources: 3, reservations: 60, customers: 5, seed: 4 });

describe('read-model projection', () => {
  it('projects the expected state of each reservation', () => {
    const rows = project(stream.events);
    expect(rows.reservations).toHaveLength(stream.reservations.size);
    for (const row of rows.reservations) {
      const want = stream.reservations.get(row.id);
      expect(row).toMatchObject({
        status: want?.status,
        version: want?.version,
        quantity: want?.quantity,
        price_minor: want?.priceMinor,
        start_at: new Date(want?.start ?? 0).toISOString(),
      });
    }
    expect(rows.decisions).toHaveLength(stream.events.length);
    expect(rows.resources).toHaveLength(3);
  });

  it('gives the same rows whatever the order and repetition of the events (property)', () => {
    const reference = project(stream.events);
    fc.assert(
      fc.property(
        fc.integer(),
        fc.array(fc.nat(stream.events.length - 1), { maxLength: 40 }),
        (seed, repeats) => {
          const noisy = shuffled([...stream.events, ...repeats.map((i) => stream.events[i] as never)], seed);
          expect(project(noisy)).toEqual(reference);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('merges rows commutatively and idempotently, so the batch fold and the upsert agree', () => {
    const byReservation = new Map<string, ReturnType<typeof project>['reservations']>();
    for (const event of stream.events) {
      const row = project([event]).reservations[0];
      if (row) byReservation.set(row.id, [...(byReservation.get(row.id) ?? []), row]);
    }
    for (const rows of byReservation.values()) {
      for (const a of rows) {
        expect(mergeRows(reservations, a, a)).toEqual(a);
        for (const b of rows) expect(mergeRows(reservations, a, b)).toEqual(mergeRows(reservations, b, a));
      }
    }
  });

  it('writes all four tables in one statement whose updates only move rows forward', () => {
    expect(BATCH_SQL.match(/INSERT INTO/g)).toHaveLength(4);
    const sql = upsertSql(reservations, 3);
    expect(sql).toContain('json_to_recordset($3::json)');
    expect(sql).toContain('WHERE (excluded.version > coalesce(reservations.version, 0))');
    expect(sql).toContain(
      'status = CASE WHEN excluded.version > coalesce(reservations.version, 0) THEN excluded.status',
    );
    expect(sql).not.toMatch(/resource_id = /); // identity columns never change
  });
});

describe('PostgreSQL error conversion', () => {
  const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });
  it('refuses data errors (classes 22, 23) and retries everything else', () => {
    for (const code of ['22001', '22003', '22P02', '23505', '23514']) {
      expect(fromPgError('postgres', pgError(code))).toBeInstanceOf(SinkRejectedError);
    }
    for (const code of ['08006', '40001', '40P01', '53300', '57P01', '57014', '42P01', 'XX000']) {
      expect(fromPgError('postgres', pgError(code))).toBeInstanceOf(SinkUnavailableError);
    }
    expect(fromPgError('postgres', new Error('Connection terminated unexpectedly'))).toBeInstanceOf(
      SinkUnavailableError,
    );
    expect(
      fromPgError('postgres', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
    ).toBeInstanceOf(SinkUnavailableError);
  });
});
