/**
 * The notification sink's rules and templates without a server: the store and the mailer are doubles
 * (test/support/notification-doubles.ts). Delivery through a real SMTP server (Mailpit) is tested in
 * test/integration/sinks/notification.test.ts.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  InvalidRecipientError,
  MailRejectedError,
  SmtpUnavailableError,
} from '../../../sinks/notification/errors.ts';
import { fromSmtpError, singleMailbox } from '../../../sinks/notification/mailer.ts';
import { notificationOptionsFromEnv } from '../../../sinks/notification/options.ts';
import { domainOf, NotificationSink } from '../../../sinks/notification/sink.ts';
import { escapeHtml, formatMoney, formatTime, render } from '../../../sinks/notification/templates.ts';
import { describe as describeError } from '../../../sinks/runtime/errors.ts';
import { InMemoryNotificationStore, RecordingMailer } from '../../support/notification-doubles.ts';
import { reservationStory } from '../../support/reservation-events.ts';
import { sinkEvent } from './samples.ts';

const logger = pino({ level: 'silent' });

function bench() {
  const mailer = new RecordingMailer();
  const store = new InMemoryNotificationStore();
  const sink = new NotificationSink({
    mailer,
    store,
    logger,
    from: 'Slotstream <reservations@slotstream.local>',
  });
  return {
    sink,
    mailer,
    store,
    apply: (...events: Parameters<typeof sinkEvent>[0][]) =>
      sink.handleBatch(events.map((e, i) => sinkEvent(e, i))),
  };
}

const START = Date.UTC(2027, 2, 14, 18, 0);

describe('templates', () => {
  const details = {
    reservationId: '0b7e7d0e-4a57-4c38-9a2f-5a6c1f1f2b11',
    customerName: 'Ada <Lovelace>',
    resourceName: 'Table\r\nBcc: evil@example.test',
    start: START,
    end: START + 2 * 3_600_000,
    quantity: 2,
    price: { amountMinor: 5_000, currency: 'EUR' },
    holdExpiresAt: Date.UTC(2027, 2, 1, 12, 15),
  };

  it('formats times in UTC and money in the currency’s own minor unit', () => {
    expect(formatTime(START)).toBe('Sun, 14 Mar 2027, 18:00 UTC');
    expect(formatMoney({ amountMinor: 5_000, currency: 'EUR' })).toBe('€50.00');
    expect(formatMoney({ amountMinor: 1_000, currency: 'JPY' })).toBe('JP¥1,000');
    expect(formatMoney({ amountMinor: 1_234, currency: 'ZZZ' })).toMatch(/12\.34/);
  });

  it('says what is held, until when to pay, in the customer’s name, in text and escaped HTML', () => {
    const mail = render({ kind: 'held', reservation: details });
    expect(mail.subject).toBe(
      'Reservation held: Table Bcc: evil@example.test, please pay by Mon, 1 Mar 2027, 12:15 UTC',
    );
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.text).toContain('Hello Ada <Lovelace>,');
    expect(mail.text).toContain('€50.00 must arrive by Mon, 1 Mar 2027, 12:15 UTC');
    expect(mail.text).toContain('Sun, 14 Mar 2027, 18:00 UTC');
    expect(mail.text).toContain(details.reservationId);
    expect(mail.html).toContain('Hello Ada &lt;Lovelace&gt;,');
    expect(mail.html).not.toContain('<Lovelace>');
  });

  it('gives a human reason for a refusal', () => {
    const mail = render({
      kind: 'rejected',
      customerName: 'Ada',
      reservationId: details.reservationId,
      resourceId: 'table-7',
      reservation: null,
      commandType: 'RequestReservation',
      reason: 'UNAVAILABLE',
      detail: 'requested 2, at most 1 free at every instant',
      currentStatus: null,
    });
    expect(mail.subject).toBe('Reservation not possible: resource table-7');
    expect(mail.text).toContain('there is not enough availability left for that period');
    expect(mail.text).toContain('requested 2, at most 1 free');
    const late = render({
      kind: 'rejected',
      customerName: 'Ada',
      reservationId: details.reservationId,
      resourceId: 'table-7',
      reservation: details,
      commandType: 'CancelReservation',
      reason: 'ILLEGAL_TRANSITION',
      detail: 'cannot cancel a Completed reservation',
      currentStatus: 'Completed',
    });
    expect(late.text).toContain('your request to cancel');
    expect(late.text).toContain('the reservation is completed, which does not allow it');
  });

  it('mentions the refund when a paid reservation is cancelled', () => {
    expect(render({ kind: 'cancelled', reservation: details, reason: null, refundDue: true }).text).toContain(
      'will be refunded',
    );
    expect(
      render({ kind: 'cancelled', reservation: details, reason: null, refundDue: false }).text,
    ).not.toContain('refunded');
  });

  it('writes times exactly as the en-GB formatter does', () => {
    const intl = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'UTC',
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    let t = Date.UTC(1990, 0, 1);
    for (let i = 0; i < 5_000; i++) {
      t += 7_919_999_989; // about three months and a prime number of ms: every month, weekday, hour
      expect(formatTime(t)).toBe(`${intl.format(t)} UTC`);
    }
    expect(formatTime(Date.UTC(2027, 8, 9, 16, 40))).toBe('Thu, 9 Sept 2027, 16:40 UTC');
    expect(formatTime(Date.UTC(999, 0, 1))).toBe(`${intl.format(Date.UTC(999, 0, 1))} UTC`);
  });

  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('the notification sink', () => {
  it('mails a held reservation once, with the event id as Message-ID, and records it', async () => {
    const b = bench();
    const r = reservationStory();
    const held = r.held();
    await b.apply(held);
    expect(b.mailer.mails).toHaveLength(1);
    const mail = b.mailer.mails[0];
    expect(mail).toMatchObject({
      messageId: `<${held.eventId}@slotstream.local>`,
      to: { name: r.customer.fullName, address: r.customer.email },
      references: `<reservation-${r.reservationId}@slotstream.local>`,
      headers: { 'X-Slotstream-Event-Id': held.eventId, 'X-Slotstream-Reservation-Id': r.reservationId },
    });
    expect(mail?.subject).toMatch(/^Reservation held: /);
    expect(b.store.sent.get(held.eventId)).toMatchObject({
      recipient: r.customer.email,
      eventType: 'ReservationHeld',
    });
    await b.apply(held, held);
    expect(b.mailer.mails).toHaveLength(1);
    expect(b.sink.stats.alreadySent).toBe(2);
  });

  it('mails every step of a lifecycle from the details of the hold', async () => {
    const b = bench();
    const r = reservationStory();
    await b.apply(r.held(), r.confirmed(), r.cancelled('Confirmed'), r.reopened(), r.expired());
    const subjects = b.mailer.mails.map((m) => m.subject.split(':')[0]);
    expect(subjects).toEqual([
      'Reservation held',
      'Reservation confirmed',
      'Reservation cancelled',
      'Reservation reopened',
      'Reservation expired',
    ]);
    expect(new Set(b.mailer.mails.map((m) => m.to.address))).toEqual(new Set([r.customer.email]));
    const s = reservationStory();
    await b.apply(s.held(), s.paymentFailed(), s.reopened(), s.confirmed(), s.completed());
    expect(b.mailer.mails.slice(5).map((m) => m.subject.split(':')[0])).toEqual([
      'Reservation held',
      'Payment failed',
      'Reservation reopened',
      'Reservation confirmed',
      'Reservation completed',
    ]);
  });

  it('skips events it has no address for, and refusals that are not the customer’s business', async () => {
    const b = bench();
    const r = reservationStory();
    await b.apply(r.confirmed()); // its ReservationHeld was never seen
    await b.apply(r.rejected('RequestReservation', 'UNAVAILABLE')); // a new customer: only an id
    expect(b.mailer.mails).toHaveLength(0);
    expect(b.sink.stats.noAddress).toBe(2);
    await b.apply(r.held());
    await b.apply(
      r.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION'),
      r.rejected('CancelReservation', 'DUPLICATE'),
    );
    expect(b.mailer.mails).toHaveLength(1);
  });

  it('tells a known customer why a new request was refused, at the address of their other reservation', async () => {
    const b = bench();
    const first = reservationStory();
    await b.apply(first.held());
    const second = reservationStory({ customer: first.customer });
    await b.apply(
      second.rejected('RequestReservation', 'UNAVAILABLE', { detail: 'requested 2, at most 0 free' }),
    );
    expect(b.mailer.mails).toHaveLength(2);
    expect(b.mailer.mails[1]).toMatchObject({ to: { address: first.customer.email } });
    expect(b.mailer.mails[1]?.text).toContain('requested 2, at most 0 free');
  });

  it('answers a refused request about someone else’s reservation to the requester, without its details', async () => {
    const b = bench();
    const owner = reservationStory();
    await b.apply(owner.held());
    const intruder = reservationStory();
    await b.apply(intruder.held());
    const refused = owner.rejected('CancelReservation', 'NOT_OWNER', { customerId: intruder.customer.id });
    await b.apply(refused);
    const mail = b.mailer.mails.at(-1);
    expect(mail?.to.address).toBe(intruder.customer.email);
    expect(mail?.text).not.toContain(owner.customer.fullName);
    expect(mail?.text).not.toContain('Quantity');
  });

  it('does not mail what comes too late to help: old events, and a payment deadline already passed', async () => {
    const b = bench();
    const old = reservationStory({ now: Date.now() - 4 * 86_400_000 });
    await b.apply(old.held(), old.confirmed());
    const late = reservationStory({ now: Date.now() - 120_000, holdMs: 60_000 });
    await b.apply(late.held(), late.expired());
    expect(b.mailer.mails.map((m) => m.subject.split(':')[0])).toEqual(['Reservation expired']);
    expect(b.mailer.mails[0]?.to.address).toBe(late.customer.email); // the contact was kept all the same
    expect(b.sink.stats.stale).toBe(3);
  });

  it('retries an SMTP outage without losing or repeating mail', async () => {
    const b = bench();
    const r = reservationStory();
    const events = [r.held(), r.confirmed()];
    b.mailer.failNext(null, new SmtpUnavailableError('notification', 'SMTP ECONNECTION', null));
    // first mail goes, the second fails: the batch is retried as a whole
    const error = await b.apply(...events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmtpUnavailableError);
    expect(describeError(error).retryable).toBe(true);
    await b.apply(...events);
    expect(b.mailer.mails.map((m) => m.subject.split(':')[0])).toEqual([
      'Reservation held',
      'Reservation confirmed',
    ]);
  });

  it('refuses an address for good (dead letter) while the other reservations are mailed', async () => {
    const b = bench();
    const bad = reservationStory({ customer: { email: 'nobody@' } });
    const good = reservationStory();
    b.mailer.failNext(new InvalidRecipientError('notification', 'nobody@', 'SMTP 553 at RCPT TO', 553));
    const error = await b.apply(bad.held(), good.held()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRecipientError);
    expect(describeError(error).retryable).toBe(false);
    expect(b.mailer.mails.map((m) => m.to.address)).toEqual([good.customer.email]);
  });
});

describe('SMTP errors, converted where they enter', () => {
  const smtp = (fields: Record<string, unknown>) =>
    Object.assign(new Error(String(fields.response ?? 'smtp')), fields);

  it('dead-letters permanent refusals and retries everything else', () => {
    const cases: [Record<string, unknown>, unknown][] = [
      [{ code: 'EENVELOPE', responseCode: 553, command: 'RCPT TO' }, InvalidRecipientError],
      [{ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }, InvalidRecipientError],
      [{ code: 'EENVELOPE' }, InvalidRecipientError], // nodemailer: "No recipients defined"
      [{ code: 'EMESSAGE', responseCode: 554, command: 'DATA' }, MailRejectedError],
      [{ code: 'EENVELOPE', responseCode: 452, command: 'RCPT TO' }, SmtpUnavailableError],
      [{ code: 'EMESSAGE', responseCode: 421, command: 'DATA' }, SmtpUnavailableError],
      [{ code: 'ECONNECTION' }, SmtpUnavailableError],
      [{ code: 'ETIMEDOUT' }, SmtpUnavailableError],
      [{ code: 'ESOCKET' }, SmtpUnavailableError],
      [{ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' }, SmtpUnavailableError],
    ];
    for (const [fields, expected] of cases) {
      const converted = fromSmtpError('notification', 'a@example.test', smtp(fields));
      expect(converted, JSON.stringify(fields)).toBeInstanceOf(expected as typeof Error);
    }
  });

  it('accepts exactly one bare mailbox, nothing that could reach a second person', () => {
    expect(singleMailbox('n', 'ada@example.test')).toBe('ada@example.test');
    expect(singleMailbox('n', ' ada@example.test ')).toBe('ada@example.test');
    expect(singleMailbox('n', 'x@')).toBe('x@'); // syntactically one mailbox: the server decides
    for (const bad of [
      '',
      '   ',
      'a@x.test, b@y.test',
      'a@x.test; b@y.test',
      'Eve <eve@x.test>',
      'a@x.test\r\nBcc: b@y.test',
    ]) {
      expect(() => singleMailbox('n', bad), bad).toThrow(InvalidRecipientError);
    }
  });

  it('names Message-IDs after the sender’s domain and reads NOTIFY_* settings', () => {
    expect(domainOf('Slotstream <reservations@mail.slotstream.example>')).toBe('mail.slotstream.example');
    expect(domainOf('bookings@example.org')).toBe('example.org');
    expect(domainOf('nobody')).toBe('slotstream.local');
    expect(notificationOptionsFromEnv({ NOTIFY_CONCURRENCY: '2', NOTIFY_MAX_EVENT_AGE_MS: '0' })).toEqual({
      concurrency: 2,
      maxEventAgeMs: 0,
    });
    expect(() => notificationOptionsFromEnv({ NOTIFY_CONCURRENCY: '0' })).toThrow(/NOTIFY_CONCURRENCY/);
  });
});
