/**
 * The notification sink against the real broker, registry, PostgreSQL and Mailpit (SMTP in, HTTP API to
 * read what was delivered). The shared Mailpit serves every suite, so the outage test never stops it: the
 * sink talks to Mailpit through a fault-injecting TCP proxy (test/support/tcp-proxy.ts) whose `down()`
 * refuses connections like a stopped server.
 */

import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../common/config.ts';
import type { Event } from '../../../schemas/generated/types.ts';
import { createNotificationSink } from '../../../sinks/notification/sink.ts';
import type { SinkWorker } from '../../../sinks/runtime/worker.ts';
import { eventually, testConfig, testLogger, uniqueName } from '../../helpers.ts';
import { createTestTopics, deleteTestTopics, EventWriter, header, readTopic } from '../../support/kafka.ts';
import { deleteMail, mailTo, mailWithMessageId, searchMail, waitForMail } from '../../support/mailpit.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { reservationStory } from '../../support/reservation-events.ts';
import { caughtUp, startTestWorker } from '../../support/sinks.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

describe('the notification sink on Kafka, PostgreSQL and Mailpit', () => {
  let config: Config;
  let db: TestDatabase;
  let kafka: Kafka;
  let writer: EventWriter;
  let smtp: TcpProxy;
  let worker: SinkWorker;
  const workers: SinkWorker[] = [];

  const startWorker = async (groupId?: string) => {
    const sink = createNotificationSink(config, testLogger, {
      smtp: { host: '127.0.0.1', port: smtp.port },
      options: { smtpTimeoutMs: 2_000 },
      env: {},
    });
    const w = await startTestWorker(config, sink, groupId ? { groupId } : {});
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    db = await createTestDatabase('notify');
    config = testConfig({ TOPIC_PARTITIONS: '2', DATABASE_URL: db.url });
    kafka = await createTestTopics(config);
    writer = new EventWriter(kafka, config);
    smtp = new TcpProxy({ host: config.smtp.host, port: config.smtp.port });
    await smtp.up();
    worker = await startWorker();
  });

  afterAll(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    await writer?.close();
    await smtp?.close();
    if (kafka) await deleteTestTopics(kafka, config);
    await db?.drop();
  });

  it('mails the hold and the confirmation to the customer, with the event id as Message-ID', async () => {
    const r = reservationStory({
      resourceName: 'Rooftop table 7',
      quantity: 3,
      start: Date.UTC(2027, 5, 4, 19, 30),
    });
    const held = r.held();
    const confirmed = r.confirmed(undefined, 'pi_3Ma1');
    await writer.write([held, confirmed]);
    const [heldMail, confirmedMail] = await waitForMail(r.customer.email, 2);

    expect(heldMail?.To).toEqual([{ Name: r.customer.fullName, Address: r.customer.email }]);
    expect(heldMail?.From.Address).toBe('reservations@slotstream.local');
    expect(heldMail?.MessageID).toBe(`${held.eventId}@slotstream.local`);
    expect(heldMail?.Subject).toMatch(/^Reservation held: Rooftop table 7, please pay by /);
    expect(heldMail?.Text).toContain(`Hello ${r.customer.fullName},`);
    expect(heldMail?.Text).toContain('Fri, 4 Jun 2027, 19:30 UTC');
    expect(heldMail?.Text).toContain('€75.00');
    expect(heldMail?.HTML).toContain('Rooftop table 7');

    expect(confirmedMail?.MessageID).toBe(`${confirmed.eventId}@slotstream.local`);
    expect(confirmedMail?.Subject).toBe('Reservation confirmed: Rooftop table 7, Fri, 4 Jun 2027, 19:30 UTC');
    expect(confirmedMail?.Text).toContain('Your payment of €75.00 was received');
    expect(confirmedMail?.Text).toContain('pi_3Ma1');
    expect(confirmedMail?.Text).toContain(r.reservationId);

    const sent = await db.query<{ event_id: string; recipient: string }>(
      'SELECT event_id, recipient FROM sent_notifications WHERE reservation_id = $1 ORDER BY sent_at',
      [r.reservationId],
    );
    expect(sent).toEqual([
      { event_id: held.eventId, recipient: r.customer.email },
      { event_id: confirmed.eventId, recipient: r.customer.email },
    ]);
  });

  it('dead-letters a permanently invalid address with the server’s reason; the others are mailed', async () => {
    const bad = reservationStory({ customer: { email: `${uniqueName('nobody')}@` } }); // Mailpit: 553 at RCPT TO
    const good = reservationStory();
    const badHeld = bad.held();
    await writer.write([badHeld, good.held()]);
    await waitForMail(good.customer.email, 1);
    const letters = await eventually(
      async () => {
        const found = await readTopic(
          kafka,
          `${config.kafka.topicPrefix}reservations.events.dlq.notification`,
        );
        return found.length > 0 ? found : undefined;
      },
      { what: 'the dead letter' },
    );
    expect(letters).toHaveLength(1);
    expect(header(letters[0]?.headers, 'ce_id')).toBe(badHeld.eventId);
    expect(header(letters[0]?.headers, 'dlq_error_class')).toBe('InvalidRecipientError');
    expect(header(letters[0]?.headers, 'dlq_reason')).toMatch(/553/);
    expect(
      await db.query('SELECT 1 FROM sent_notifications WHERE event_id = $1', [badHeld.eventId]),
    ).toHaveLength(0);
  });

  it('rides out an SMTP outage: nothing arrives while it lasts, everything once after', async () => {
    await caughtUp(worker);
    const retriedBefore = await retries(worker);
    await smtp.down();
    const stories = [reservationStory(), reservationStory(), reservationStory()];
    const events = stories.map((s) => s.held());
    await writer.write(events);
    await eventually(async () => ((await retries(worker)) > retriedBefore ? true : undefined), {
      what: 'a retry',
    });
    await new Promise((r) => setTimeout(r, 1_000));
    for (const s of stories) expect(await mailTo(s.customer.email)).toHaveLength(0);

    await smtp.up();
    for (const s of stories) await waitForMail(s.customer.email, 1);
    await caughtUp(worker);
    for (const e of events) expect(await mailWithMessageId(`${e.eventId}@slotstream.local`)).toHaveLength(1);
  });

  it('replaying every event (a new consumer group) sends no mail a second time', async () => {
    const r = reservationStory();
    const events = [r.held(), r.confirmed(), r.cancelled('Confirmed')];
    await writer.write(events);
    await waitForMail(r.customer.email, 3);
    const before = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sent_notifications'))[0]?.n;

    const replay = await startWorker(uniqueName('replay'));
    await caughtUp(replay);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await mailTo(r.customer.email)).toHaveLength(3);
    for (const e of events) expect(await mailWithMessageId(`${e.eventId}@slotstream.local`)).toHaveLength(1);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sent_notifications'))[0]?.n).toBe(
      before,
    );
    await replay.stop(); // a second group would otherwise mail the next test's events too
  });

  it('after a crash between sending and recording, the copy sent again carries the same Message-ID', async () => {
    const r = reservationStory();
    const held = r.held();
    await writer.write([held]);
    await waitForMail(r.customer.email, 1);
    // The crash: the mail went out, the record did not survive.
    await db.query('DELETE FROM sent_notifications WHERE event_id = $1', [held.eventId]);
    const replay = await startWorker(uniqueName('after-crash'));
    await caughtUp(replay);
    const copies = await waitForMail(r.customer.email, 2);
    expect(copies.map((m) => m.MessageID)).toEqual([
      `${held.eventId}@slotstream.local`,
      `${held.eventId}@slotstream.local`,
    ]);
    await replay.stop(); // as above: the next tests count on one group only
  });
  it('mails many reservations at once: every mail arrives exactly once, each reservation’s in order', async () => {
    await caughtUp(worker);
    const domain = `${randomUUID().slice(0, 8)}.concurrent.example.test`;
    const stories = Array.from({ length: 60 }, (_, i) =>
      reservationStory({ customer: { email: `c${i}@${domain}` } }),
    );
    const byStory = stories.map((r) => [r.held(), r.confirmed(), r.cancelled('Confirmed')]);
    // As partitions deliver them: the reservations interleaved, each one's events in order.
    const events: Event[] = [];
    for (let step = 0; step < 3; step++) for (const story of byStory) events.push(story[step] as Event);
    try {
      await writer.write(events);
      const arrived = await eventually(
        async () => {
          const found = await searchMail(`to:"${domain}"`);
          return found.length >= events.length ? found : undefined;
        },
        { timeoutMs: 60_000, what: `${events.length} mails to ${domain}` },
      );
      await caughtUp(worker);
      await new Promise((r) => setTimeout(r, 500)); // a duplicate would have arrived by now
      const all = await searchMail(`to:"${domain}"`);
      expect(all.length).toBe(arrived.length);
      const byMessageId = new Map(all.map((m) => [m.MessageID, m]));
      expect(byMessageId.size).toBe(events.length); // exactly once each
      for (const story of byStory) {
        const mails = story.map((e) => byMessageId.get(`${e.eventId}@slotstream.local`));
        expect(mails.every(Boolean)).toBe(true);
        // Mailpit stamps each mail on arrival (ms): a reservation's next mail leaves only after the server
        // accepted the previous one, so the stamps never go backwards.
        const created = mails.map((m) => Date.parse(m?.Created ?? ''));
        expect(created).toEqual([...created].sort((a, b) => a - b));
        expect(mails.map((m) => m?.Subject.split(':')[0])).toEqual([
          'Reservation held',
          'Reservation confirmed',
          'Reservation cancelled',
        ]);
      }
      const sent = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM sent_notifications WHERE reservation_id = ANY($1::uuid[])',
        [stories.map((r) => r.reservationId)],
      );
      expect(sent[0]?.n).toBe(events.length);
    } finally {
      await deleteMail(`to:"${domain}"`);
    }
  });

  it('regression: a NUL in the customer’s name is mailed, without it, not dead-lettered', async () => {
    await caughtUp(worker);
    const r = reservationStory({
      customer: { fullName: 'Ada\u0000 Lovelace\u0007' },
      resourceName: 'Rooftop\u0000 table',
    });
    const held = r.held();
    const confirmed = r.confirmed();
    await writer.write([held, confirmed]);
    const [heldMail, confirmedMail] = await waitForMail(r.customer.email, 2);
    expect(heldMail?.To).toEqual([{ Name: 'Ada Lovelace', Address: r.customer.email }]);
    expect(heldMail?.Subject).toMatch(/^Reservation held: Rooftop table, please pay by /);
    expect(heldMail?.Text).toContain('Hello Ada Lovelace,');
    expect(confirmedMail?.MessageID).toBe(`${confirmed.eventId}@slotstream.local`);
    for (const mail of [heldMail, confirmedMail]) {
      expect(`${mail?.Subject}${mail?.Text}${mail?.HTML}`).not.toMatch(/(?![\t\r\n])\p{Cc}/u);
    }
    const [contact] = await db.query<{ full_name: string }>(
      'SELECT full_name FROM notification_contacts WHERE reservation_id = $1',
      [r.reservationId],
    );
    expect(contact?.full_name).toBe('Ada Lovelace');
    await caughtUp(worker);
    const letters = await readTopic(kafka, `${config.kafka.topicPrefix}reservations.events.dlq.notification`);
    expect(letters.map((l) => header(l.headers, 'ce_id'))).not.toContain(held.eventId);
  });
});

async function retries(worker: SinkWorker): Promise<number> {
  const metric = await worker.metrics.retries.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}
