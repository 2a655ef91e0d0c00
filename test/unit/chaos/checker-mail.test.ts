/**
 * The chaos checker's mail check (6) on evidence made by hand: a missing mail and a second delivery are
 * violations, except a copy of the same message sent again after the notification sink was killed
 * between the server's accept and the sink's record.
 */
import { describe, expect, it } from 'vitest';
import { check, type Evidence } from '../../chaos/checker.ts';
import type { CollectedMail } from '../../chaos/mail-collector.ts';
import type { DecodedRecord } from '../../chaos/topic-reader.ts';

const T0 = Date.parse('2026-12-04T10:00:00Z');

function held(eventId: string, reservationId: string): DecodedRecord {
  return {
    partition: 0,
    offset: 0n,
    key: 'room-1',
    type: 'ReservationHeld',
    value: {
      eventId,
      reservationId,
      causationCommandId: `cmd-${eventId}`,
      idempotencyKey: null,
      customer: { id: `cust-${reservationId}` },
      holdExpiresAt: T0 + 3_600_000,
    },
  };
}

const mail = (eventId: string, at: number): CollectedMail => ({
  id: `${eventId}-${at}`,
  messageId: `<${eventId}@slotstream.local>`,
  to: 'a@chaos.test',
  subject: 'held',
  created: new Date(at).toISOString(),
});

function mailCheck(mails: CollectedMail[], notificationKills: number[]) {
  const evidence: Evidence = {
    events: [held('e1', 'r1'), held('e2', 'r2')],
    commands: [],
    unreadable: [],
    operations: [],
    capacities: new Map(),
    ledger: [],
    readModel: [],
    mails,
    clickhouseEventIds: new Set(),
    gatheredAt: T0,
    notificationKills,
  };
  const result = check(evidence).find((r) => r.id === '6');
  if (!result) throw new Error('no mail check');
  return result;
}

describe('chaos checker: one mail per mailable event', () => {
  it('passes one mail per event', () => {
    expect(mailCheck([mail('e1', T0), mail('e2', T0)], []).violations).toEqual([]);
  });

  it('reports a missing mail', () => {
    const result = mailCheck([mail('e1', T0)], []);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toMatch(/^no mail for/);
  });

  it('reports a second delivery that no kill of the notification sink explains', () => {
    const result = mailCheck([mail('e1', T0), mail('e1', T0 + 10_000), mail('e2', T0)], [T0 - 1_000]);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toMatch(/^2 mails for/);
  });

  it('counts, and allows, a copy sent again after a kill between accept and record', () => {
    const result = mailCheck([mail('e1', T0), mail('e1', T0 + 10_000), mail('e2', T0)], [T0 + 100]);
    expect(result.violations).toEqual([]);
    expect(result.notes.join(' ')).toMatch(/between accept and record: 1/);
  });
});
