/**
 * Regression: a reservation whose customer.fullName held a NUL character (U+0000) made the notification
 * sink dead-letter its event (PostgreSQL refuses NUL in text, SQLSTATE 22021, a refusal). Events already
 * on the topic may carry such text, so the sink must mail them anyway: control characters removed from
 * header fields (display name, subject), body text rendered safely, nothing the store refuses.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../../schemas/generated/types.ts';
import { InvalidRecipientError } from '../../../sinks/notification/errors.ts';
import { singleMailbox } from '../../../sinks/notification/mailer.ts';
import { buildMessage } from '../../../sinks/notification/mime.ts';
import { NotificationSink } from '../../../sinks/notification/sink.ts';
import { render } from '../../../sinks/notification/templates.ts';
import { bodyText, hasControlCharacters, headerText } from '../../../sinks/notification/text.ts';
import { InMemoryNotificationStore, RecordingMailer } from '../../support/notification-doubles.ts';
import { reservationStory } from '../../support/reservation-events.ts';
import { sinkEvent } from './samples.ts';

const logger = pino({ level: 'silent' });
/** Control characters a header may never hold. */
const ANY_CONTROL = /\p{Cc}/u;
/** Control characters a body may not hold (line feeds and tabs may). */
const BODY_CONTROL = /(?![\t\n])\p{Cc}/u;

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
    apply: (...events: Event[]) => sink.handleBatch(events.map((e, i) => sinkEvent(e, i))),
  };
}

describe('regression: a NUL in customer.fullName', () => {
  it('is mailed, not dead-lettered, with the control characters gone from the name, subject and body', async () => {
    const b = bench();
    const r = reservationStory({
      customer: { fullName: 'Ada\u0000 Lovelace\u0007' },
      resourceName: 'Table\u0000 7\u001b[31m',
    });
    const held = r.held();
    const confirmed = r.confirmed();
    await b.apply(held, confirmed); // the in-memory store refuses NUL as PostgreSQL does: this used to throw

    expect(b.mailer.mails).toHaveLength(2);
    for (const mail of b.mailer.mails) {
      expect(mail.to).toEqual({ name: 'Ada Lovelace', address: r.customer.email });
      expect(mail.subject).not.toMatch(ANY_CONTROL);
      expect(mail.subject).toContain('Table 7[31m');
      expect(mail.text).not.toMatch(BODY_CONTROL);
      expect(mail.html).not.toMatch(BODY_CONTROL);
      expect(mail.text).toContain('Hello Ada Lovelace,');
    }
    expect(b.store.contacts.get(r.reservationId)).toMatchObject({
      fullName: 'Ada Lovelace',
      resourceName: 'Table 7[31m',
    });
    expect([...b.store.sent.keys()]).toEqual([held.eventId, confirmed.eventId]);
  });

  it('cleans free text from the decider too: refusal details, payment failures, cancellation reasons', async () => {
    const b = bench();
    const r = reservationStory();
    await b.apply(
      r.held(),
      r.paymentFailed(undefined, 'card_declined\u0000: try\r\nagain'),
      r.rejected('CancelReservation', 'ILLEGAL_TRANSITION', { detail: 'cannot\u0000 cancel\u0085 now' }),
    );
    expect(b.mailer.mails).toHaveLength(3);
    for (const mail of b.mailer.mails) {
      expect(mail.subject).not.toMatch(ANY_CONTROL);
      expect(mail.text).not.toMatch(BODY_CONTROL);
      expect(mail.html).not.toMatch(BODY_CONTROL);
    }
    expect(b.mailer.mails[1]?.text).toContain('(card_declined: try\nagain)');
    expect(b.mailer.mails[2]?.text).toContain('(cannot cancel now)');
  });

  it('does not keep a contact whose address holds a control character: no mail may reach a cleaned-up address', async () => {
    const b = bench();
    const r = reservationStory({ customer: { email: 'ada\u0000@example.test' } });
    // Its own mail is refused by the mailer (a dead letter, as for any address that is not one mailbox),
    // and nothing reaches the store to be refused there.
    const error = await b.apply(r.held()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRecipientError);
    expect(b.store.contacts.size).toBe(0);
    expect(b.store.sent.size).toBe(0);
    await b.apply(r.confirmed());
    expect(b.sink.stats.noAddress).toBe(1);
    expect(() => singleMailbox('notification', 'ada\u0000@example.test')).toThrow(InvalidRecipientError);
    expect(() => singleMailbox('notification', 'ada@example.test\u001b')).toThrow(InvalidRecipientError);
  });
});

describe('safe text', () => {
  it('makes header text one line without control characters', () => {
    expect(headerText('Ada\u0000 Love\u0007lace')).toBe('Ada Lovelace');
    expect(headerText('  a\r\n\tb\u2028c\u0085d  ')).toBe('a b cd');
    expect(headerText('x'.repeat(10), 5)).toBe('xxxx…');
    expect(hasControlCharacters('a\u009fb')).toBe(true);
    expect(hasControlCharacters('Zoë Ångström')).toBe(false);
  });

  it('keeps line breaks and tabs in body text, nothing else', () => {
    expect(bodyText('a\r\nb\rc\nd\te\u0000f\u001bg\u007fh\u0080i')).toBe('a\nb\nc\nd\tefghi');
  });

  it('renders templates safely whatever the names hold', () => {
    const mail = render({
      kind: 'held',
      reservation: {
        reservationId: 'r-1',
        customerName: '<b>Ada</b>\u0000',
        resourceName: 'Room\u0000\r\nBcc: x@y.test',
        start: Date.UTC(2027, 0, 1, 10),
        end: Date.UTC(2027, 0, 1, 12),
        quantity: 1,
        price: { amountMinor: 1_000, currency: 'EUR' },
        holdExpiresAt: Date.UTC(2026, 11, 31, 10),
      },
    });
    expect(mail.subject).toBe(
      'Reservation held: Room Bcc: x@y.test, please pay by Thu, 31 Dec 2026, 10:00 UTC',
    );
    expect(mail.html).toContain('Hello &lt;b&gt;Ada&lt;/b&gt;,');
    expect(mail.text).toContain('  What:        Room Bcc: x@y.test\n');
    expect(`${mail.subject}${mail.text}${mail.html}`).not.toMatch(BODY_CONTROL);
  });
});

describe('the message built in one piece', () => {
  const mail = {
    from: 'Slotstream <reservations@slotstream.local>',
    to: { name: 'Zoë "Z" Ångström, <x@y.test>', address: 'zoe@example.test' },
    subject: `Reservation held: Salle à manger ${'très longue '.repeat(12)}`,
    messageId: '<0b7e7d0e-4a57-4c38-9a2f-5a6c1f1f2b11@slotstream.local>',
    references: '<reservation-r-1@slotstream.local>',
    headers: { 'X-Slotstream-Event-Id': '0b7e7d0e-4a57-4c38-9a2f-5a6c1f1f2b11' },
    text: `Hello Zoë,\n\n.a line that starts with a dot\n${'€'.repeat(100)}\nSlotstream\n`,
    html: '<p>Hello Zoë,</p>\n',
    boundaryKey: '<0b7e7d0e-4a57-4c38-9a2f-5a6c1f1f2b11@slotstream.local>',
    date: new Date(Date.UTC(2027, 0, 1, 12)),
  };
  const message = buildMessage(mail).toString('utf8');
  const [head = '', ...rest] = message.split('\r\n\r\n');

  it('is 7-bit, CRLF-only, with short lines and no control characters', () => {
    expect(message).not.toMatch(/[^\t\r\n\u0020-\u007e]/);
    expect(message.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (const line of message.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(rest.length).toBeGreaterThan(0);
  });

  it('has the sink’s headers, the display name encoded as one mailbox', () => {
    const unfolded = head.replace(/\r\n[ \t]/g, ' ');
    expect(unfolded).toMatch(/^From: Slotstream <reservations@slotstream\.local>$/m);
    expect(unfolded).toMatch(/^To: =\?UTF-8\?Q\?Zo=C3=AB_=22Z=22_.*\?= <zoe@example\.test>$/m);
    expect(unfolded).not.toMatch(/^To:.*<x@y\.test>/m);
    expect(unfolded).toMatch(/^Message-ID: <0b7e7d0e-4a57-4c38-9a2f-5a6c1f1f2b11@slotstream\.local>$/m);
    expect(unfolded).toMatch(/^In-Reply-To: <reservation-r-1@slotstream\.local>$/m);
    expect(unfolded).toMatch(/^References: <reservation-r-1@slotstream\.local>$/m);
    expect(unfolded).toMatch(/^X-Slotstream-Event-Id: 0b7e7d0e-4a57-4c38-9a2f-5a6c1f1f2b11$/m);
    expect(unfolded).toMatch(/^Date: Fri, 01 Jan 2027 12:00:00 \+0000$/m);
    expect(unfolded).toMatch(/^Content-Type: multipart\/alternative; boundary="--_NmP-0b7e7d0e/m);
  });

  it('carries the text and the HTML, quoted-printable, decoding to what was rendered', () => {
    const boundary = /boundary="([^"]+)"/.exec(head)?.[1] ?? '';
    const parts = message.split(`--${boundary}`).slice(1, 3);
    const decoded = parts.map((part) => {
      const [headers = '', ...body] = part.split('\r\n\r\n');
      expect(headers).toMatch(/Content-Transfer-Encoding: quoted-printable/);
      return decodeQuotedPrintable(body.join('\r\n\r\n').replace(/\r\n$/, ''));
    });
    expect(decoded[0]).toBe(mail.text.replace(/\n/g, '\r\n'));
    expect(decoded[1]).toBe(mail.html.replace(/\n/g, '\r\n'));
    expect(message.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });
});

function decodeQuotedPrintable(value: string): string {
  const bytes: number[] = [];
  const soft = value.replace(/=\r\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=') {
      bytes.push(Number.parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(soft.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}
