import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromPgError } from '../../../sinks/postgres/errors.ts';
import { project } from '../../../sinks/postgres/projection.ts';
import { BATCH_SQL } from '../../../sinks/postgres/sink.ts';
import {
  mergeRows,
  reservations,
  storableRow,
  storableText,
  upsertSql,
} from '../../../sinks/postgres/tables.ts';
import { SinkRejectedError, SinkUnavailableError } from '../../../sinks/runtime/errors.ts';
import { generateStream, shuffled } from '../../support/events.ts';
import { reservationStory } from '../../support/reservation-events.ts';

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
    // …and names the reservations it left without terms (a status event applied without its hold).
    expect(BATCH_SQL).toContain('RETURNING id, details_version IS NULL AS incomplete');
    const sql = upsertSql(reservations, 3);
    expect(sql).toContain('json_to_recordset($3::json)');
    expect(sql).toContain('WHERE (excluded.version > coalesce(reservations.version, 0))');
    expect(sql).toContain(
      'status = CASE WHEN excluded.version > coalesce(reservations.version, 0) THEN excluded.status',
    );
    expect(sql).not.toMatch(/resource_id = /); // identity columns never change
  });
});

describe('regression: a NUL in customer.fullName failed the ReservationHeld batch (storable texts)', () => {
  it('replaces U+0000 with U+FFFD and leaves every other character as sent', () => {
    expect(storableText('Ada\u0000Love\u0000lace')).toBe('Ada\uFFFDLove\uFFFDlace');
    const untouched = 'Zoë\t\n\u0001\u007f\u0085 部屋 😀 \\u0000';
    expect(storableText(untouched)).toBe(untouched);
    const row = { id: 'a\u0000', full_name: 'ok', n: 1 };
    expect(storableRow({ id: 'text', full_name: 'text', n: 'integer' }, row)).toEqual({
      id: 'a\uFFFD',
      full_name: 'ok',
      n: 1,
    });
    const clean = { id: 'a', full_name: 'b', n: 1 };
    expect(storableRow({ id: 'text', full_name: 'text', n: 'integer' }, clean)).toBe(clean);
  });

  it('projects a hold with a NUL in the name into a whole row, and no NUL reaches any table', () => {
    const story = reservationStory({
      customer: { fullName: 'Ada\u0000Lovelace' },
      resourceName: 'Room\u00001',
    });
    const held = story.held();
    const confirmed = story.confirmed();
    const cancelled = { ...story.cancelled('Confirmed'), reason: 'plans\u0000changed' };
    for (const events of [[held, confirmed, cancelled], [held], [cancelled, confirmed, held]]) {
      const rows = project(events);
      expect(JSON.stringify(rows)).not.toContain('\\u0000');
      expect(rows.customers).toEqual([
        expect.objectContaining({ id: story.customer.id, full_name: 'Ada\uFFFDLovelace' }),
      ]);
      expect(rows.reservations).toEqual([
        expect.objectContaining({
          id: story.reservationId,
          start_at: new Date(held.start).toISOString(),
          end_at: new Date(held.end).toISOString(),
          quantity: held.quantity,
          resource_name: 'Room\uFFFD1',
          details_version: 1,
        }),
      ]);
    }
    expect(project([held, confirmed, cancelled]).reservations[0]).toMatchObject({
      status: 'Cancelled',
      cancel_reason: 'plans\uFFFDchanged',
    });
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
