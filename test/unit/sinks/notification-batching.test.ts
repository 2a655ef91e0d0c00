/**
 * The notification sink at volume, without a server: many reservations' mails in flight at once, each
 * reservation's in order; a handful of store round trips per batch, not several per mail; failures that
 * keep what was sent; and the pooled SMTP settings from the environment.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.ts';
import type { Event } from '../../../schemas/generated/types.ts';
import { InvalidRecipientError, SmtpUnavailableError } from '../../../sinks/notification/errors.ts';
import { SmtpMailer, smtpTransportOptions } from '../../../sinks/notification/mailer.ts';
import {
  compileNotificationOptions,
  type NotificationSinkOptions,
  notificationDefaults,
  notificationOptionsFromEnv,
  notificationRuntimeDefaults,
} from '../../../sinks/notification/options.ts';
import { createNotificationSink, NotificationSink } from '../../../sinks/notification/sink.ts';
import { describe as describeError, SinkUnavailableError } from '../../../sinks/runtime/errors.ts';
import { InMemoryNotificationStore, RecordingMailer } from '../../support/notification-doubles.ts';
import { type ReservationStory, reservationStory } from '../../support/reservation-events.ts';
import { sinkEvent } from './samples.ts';

const logger = pino({ level: 'silent' });

function bench(options: Partial<NotificationSinkOptions> = {}, delayMs = 0) {
  const mailer = new RecordingMailer(delayMs);
  const store = new InMemoryNotificationStore();
  const sink = new NotificationSink({
    mailer,
    store,
    logger,
    from: 'Slotstream <reservations@slotstream.local>',
    options,
  });
  return {
    sink,
    mailer,
    store,
    apply: (events: readonly Event[]) => sink.handleBatch(events.map((e, i) => sinkEvent(e, i, i % 6))),
  };
}

/** Each story's lifecycle, interleaved the way six partitions deliver them: every story's events in order. */
function lifecycles(count: number): { stories: ReservationStory[]; events: Event[]; byStory: Event[][] } {
  const stories = Array.from({ length: count }, () => reservationStory());
  const byStory = stories.map((r) => [
    r.held(),
    r.confirmed(),
    r.cancelled('Confirmed'),
    r.reopened(),
    r.expired(),
  ]);
  const events: Event[] = [];
  for (let step = 0; step < 5; step++) for (const story of byStory) events.push(story[step] as Event);
  return { stories, events, byStory };
}

const messageIdOf = (e: Event) => `<${e.eventId}@slotstream.local>`;

describe('mails of many reservations at once', () => {
  it('sends every reservation’s mails in order while other reservations’ mails are in flight', async () => {
    const b = bench({ concurrency: 16 }, 3);
    const { events, byStory } = lifecycles(60);
    await b.apply(events);

    expect(b.mailer.mails).toHaveLength(events.length);
    expect(new Set(b.mailer.mails.map((m) => m.messageId)).size).toBe(events.length);
    expect(b.mailer.maxInFlight).toBeGreaterThan(1);
    expect(b.mailer.maxInFlight).toBeLessThanOrEqual(16);
    // Random send times make mails finish out of order across reservations, never within one.
    const position = new Map(b.mailer.mails.map((m, i) => [m.messageId, i]));
    for (const story of byStory) {
      const order = story.map((e) => position.get(messageIdOf(e)) ?? -1);
      expect(order).toEqual([...order].sort((x, y) => x - y));
    }
    const sentOrder = b.mailer.mails.map((m) => m.messageId);
    expect(sentOrder).not.toEqual(events.map(messageIdOf)); // reservations did overlap
  });

  it('keeps at most `concurrency` mails in flight, one at a time with concurrency 1', async () => {
    const b = bench({ concurrency: 4 }, 2);
    await b.apply(lifecycles(20).events);
    expect(b.mailer.maxInFlight).toBe(4);
    const one = bench({ concurrency: 1 }, 1);
    const { events, byStory } = lifecycles(5);
    await one.apply(events);
    expect(one.mailer.maxInFlight).toBe(1);
    // one reservation after the other, each in its own order
    expect(one.mailer.mails.map((m) => m.messageId)).toEqual(byStory.flat().map(messageIdOf));
  });

  it('reads and writes the store a few times per batch, not per mail', async () => {
    const b = bench({ recordEvery: 100 });
    const { events } = lifecycles(50); // 250 mails
    await b.apply(events);
    expect(b.mailer.mails).toHaveLength(250);
    expect(b.store.sent.size).toBe(250);
    expect(b.store.calls).toEqual({
      contactsFor: 1,
      addressesOf: 1,
      sentAmong: 1,
      rememberContacts: 1,
      recordSent: 3, // 100 + 100 + 50
    });
  });

  it('plans from the batch in order: a confirmation after a reopening uses the reopened terms', async () => {
    const b = bench();
    const r = reservationStory();
    const held = r.held();
    const failed = r.paymentFailed();
    const reopened = { ...r.reopened(), quantity: 5, price: { amountMinor: 99_00, currency: 'EUR' } };
    const confirmed = r.confirmed();
    await b.apply([held, failed, reopened, confirmed]);
    expect(b.mailer.mails.map((m) => m.subject.split(':')[0])).toEqual([
      'Reservation held',
      'Payment failed',
      'Reservation reopened',
      'Reservation confirmed',
    ]);
    expect(b.mailer.mails[1]?.text).toContain('€50.00'); // the failed payment was for the first hold
    expect(b.mailer.mails[3]?.text).toMatch(/Quantity:\s+5\n/);
    expect(b.store.contacts.get(r.reservationId)?.version).toBe(reopened.reservationVersion);
  });

  it('mails an event that appears twice in a batch once', async () => {
    const b = bench();
    const r = reservationStory();
    const held = r.held();
    await b.apply([held, held, r.confirmed(), held]);
    expect(b.mailer.mails).toHaveLength(2);
    expect(b.sink.stats.alreadySent).toBe(2);
  });

  it('an outage in one reservation: the others are mailed and recorded, its later mails wait, nothing twice', async () => {
    const b = bench({ concurrency: 2 });
    const first = reservationStory();
    const second = reservationStory();
    const events = [first.held(), second.held(), first.confirmed(), second.confirmed()];
    // first.held goes, second.held fails: second's confirmation must not overtake it
    b.mailer.failNext(null, new SmtpUnavailableError('notification', 'SMTP 421 at DATA', 421));
    const error = await b.apply(events).catch((e: unknown) => e);
    expect(describeError(error).retryable).toBe(true);
    expect(b.mailer.mails.map((m) => m.messageId)).toEqual([
      messageIdOf(events[0] as Event),
      messageIdOf(events[2] as Event),
    ]);
    expect([...b.store.sent.keys()].sort()).toEqual([events[0]?.eventId, events[2]?.eventId].sort());

    await b.apply(events); // the runtime retries the batch
    expect(b.mailer.mails.map((m) => m.messageId).slice(2)).toEqual([
      messageIdOf(events[1] as Event),
      messageIdOf(events[3] as Event),
    ]);
    expect(b.store.sent.size).toBe(4);
    expect(b.sink.stats.alreadySent).toBe(2);
  });

  it('prefers a retryable failure over a refusal, so the batch is retried rather than split', async () => {
    const b = bench({ concurrency: 2 });
    const bad = reservationStory();
    const down = reservationStory();
    b.mailer.failNext(
      new InvalidRecipientError('notification', 'x@', 'SMTP 553', 553),
      new SmtpUnavailableError('notification', 'SMTP ECONNECTION', null),
    );
    const error = await b.apply([bad.held(), down.held()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmtpUnavailableError);
  });

  it('a failed record write fails the batch as retryable after every mail went out', async () => {
    const b = bench({ recordEvery: 2 });
    const { events } = lifecycles(3);
    const recordSent = b.store.recordSent.bind(b.store);
    let writes = 0;
    b.store.recordSent = async (records) => {
      writes += 1;
      if (writes === 1) throw new SinkUnavailableError('notification', 'connection to PostgreSQL lost');
      return recordSent(records);
    };
    const error = await b.apply(events).catch((e: unknown) => e);
    expect(describeError(error).retryable).toBe(true);
    expect(b.mailer.mails).toHaveLength(15);
    expect(b.store.sent.size).toBe(13); // the first two records were lost: those two are mailed again
    await b.apply(events);
    expect(b.mailer.mails).toHaveLength(17);
    expect(b.store.sent.size).toBe(15);
  });
});

describe('pooled SMTP settings', () => {
  it('has defaults beside the options, read from NOTIFY_* and checked', () => {
    expect(compileNotificationOptions()).toEqual(notificationDefaults);
    expect(notificationDefaults.concurrency).toBeGreaterThanOrEqual(notificationDefaults.smtpMaxConnections);
    // A batch holds enough reservations to keep every lane busy.
    expect(notificationRuntimeDefaults.maxBatchEvents).toBeGreaterThanOrEqual(
      4 * notificationDefaults.concurrency,
    );
    expect(
      notificationOptionsFromEnv({
        NOTIFY_CONCURRENCY: '200',
        NOTIFY_SMTP_MAX_CONNECTIONS: '12',
        NOTIFY_SMTP_MAX_MESSAGES: '5000',
        NOTIFY_RECORD_EVERY: '50',
      }),
    ).toEqual({ concurrency: 200, smtpMaxConnections: 12, smtpMaxMessages: 5_000, recordEvery: 50 });
    expect(() => notificationOptionsFromEnv({ NOTIFY_SMTP_MAX_CONNECTIONS: '0' })).toThrow(
      /NOTIFY_SMTP_MAX_CONNECTIONS/,
    );
    expect(() => notificationOptionsFromEnv({ NOTIFY_SMTP_MAX_MESSAGES: 'many' })).toThrow(
      /NOTIFY_SMTP_MAX_MESSAGES/,
    );
    expect(() => compileNotificationOptions({ concurrency: 0 })).toThrow(/concurrency/);
  });

  it('gives nodemailer a pool of that size and turnover', () => {
    expect(
      smtpTransportOptions({
        host: 'mail.test',
        port: 25,
        from: 'a@b.test',
        maxConnections: 3,
        maxMessages: 7,
      }),
    ).toMatchObject({ pool: true, maxConnections: 3, maxMessages: 7, host: 'mail.test', port: 25 });
  });

  it('createNotificationSink wires the environment into the pooled transport', async () => {
    const sink = createNotificationSink(loadConfig({}), logger, {
      env: { NOTIFY_CONCURRENCY: '40', NOTIFY_SMTP_MAX_CONNECTIONS: '5', NOTIFY_SMTP_MAX_MESSAGES: '300' },
    });
    try {
      expect(sink.options.concurrency).toBe(40);
      expect(sink.mailer).toBeInstanceOf(SmtpMailer);
      expect((sink.mailer as SmtpMailer).transportOptions).toMatchObject({
        pool: true,
        maxConnections: 5,
        maxMessages: 300,
      });
      const defaults = createNotificationSink(loadConfig({}), logger, { env: {} });
      expect((defaults.mailer as SmtpMailer).transportOptions).toMatchObject({
        maxConnections: notificationDefaults.smtpMaxConnections,
        maxMessages: notificationDefaults.smtpMaxMessages,
      });
      await defaults.close();
    } finally {
      await sink.close();
    }
  });
});
