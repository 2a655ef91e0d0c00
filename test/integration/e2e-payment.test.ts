/**
 * End to end through the decider: request → ReservationHeld → payment sink (Stripe client on the real
 * stripe-mock) → RecordPaymentResult on reservations.commands → ReservationConfirmed → mail in the real
 * Mailpit. The decider runs in-process (DeciderFixture), with both sinks in-process on the same test-unique
 * topics and a database of the test's own.
 *
 * stripe-mock cannot decline a card or answer late, so those two scenarios put StripeFaultProxy (a TEST
 * DOUBLE for exactly those answers; everything else passes through to stripe-mock) in front of it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../schemas/generated/types.ts';
import { createNotificationSink } from '../../sinks/notification/sink.ts';
import { formatMoney, formatTime } from '../../sinks/notification/templates.ts';
import { createPaymentSink } from '../../sinks/payment/sink.ts';
import { StripeGateway } from '../../sinks/payment/stripe-gateway.ts';
import type { SinkWorker } from '../../sinks/runtime/worker.ts';
import { eventually, testLogger, uniqueName } from '../helpers.ts';
import { CommandReader } from '../support/command-reader.ts';
import { customer, DeciderFixture, requestReservation, upsertResource } from '../support/decider-fixture.ts';
import { mailTo, mailWithMessageId, waitForMail } from '../support/mailpit.ts';
import { CountingGateway } from '../support/payment-doubles.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { caughtUp, startTestWorker } from '../support/sinks.ts';
import { StripeFaultProxy } from '../support/stripe-fault-proxy.ts';

const HOUR = 3_600_000;

describe('request → hold → payment → confirmation → e-mail, through the decider', () => {
  let db: TestDatabase;
  let fixture: DeciderFixture;
  let proxy: StripeFaultProxy;
  let gateway: CountingGateway;
  let reader: CommandReader;
  const workers: SinkWorker[] = [];

  const startSinks = async (groupSuffix = '') => {
    const counting = new CountingGateway(
      new StripeGateway({
        apiKey: fixture.config.stripe.apiKey,
        url: proxy.url,
        paymentMethod: 'pm_card_visa',
        timeoutMs: 10_000,
      }),
    );
    const group = (name: string) => (groupSuffix ? { groupId: `${name}-${groupSuffix}` } : {});
    const payment = createPaymentSink(fixture.config, testLogger, {
      gateway: counting,
      autoRegister: true,
      ...group('payment'), // the reconciler watches the group the worker reads with
      // The late-payment scenario holds for 3 s: charge whatever is not expired yet.
      options: { chargeMarginMs: 0 },
      env: {},
    });
    const notification = createNotificationSink(fixture.config, testLogger, { env: {} });
    const started = await Promise.all([
      startTestWorker(fixture.config, payment, group('payment')),
      startTestWorker(fixture.config, notification, group('notification')),
    ]);
    workers.push(...started);
    return { gateway: counting, workers: started };
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2e');
    fixture = await new DeciderFixture({ DATABASE_URL: db.url }).setup();
    await fixture.readEvents();
    await fixture.startDecider();
    proxy = await new StripeFaultProxy(fixture.config.stripe.url).start();
    reader = await new CommandReader(fixture.kafka, fixture.config).start();
    ({ gateway } = await startSinks());
  });

  afterAll(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    await reader?.stop();
    await proxy?.close();
    await fixture?.teardown();
    await db?.drop();
  });

  /** The first event of a type about a reservation, once the decider has written it. */
  const decided = <T extends Event['type']>(type: T, reservationId: string, timeoutMs = 30_000) =>
    eventually(
      async () =>
        fixture.events
          .map((e) => e.message)
          .find(
            (e): e is Extract<Event, { type: T }> =>
              e.type === type && 'reservationId' in e && e.reservationId === reservationId,
          ),
      { timeoutMs, what: `${type} for ${reservationId}` },
    );

  const resource = async (name: string, extra: { capacity?: number; holdTimeoutMs?: number } = {}) => {
    const resourceId = `kayak-${randomUUID().slice(0, 8)}`;
    await fixture.send([
      upsertResource(resourceId, extra.capacity ?? 1, {
        name,
        unitPrice: { amountMinor: 2_500, currency: 'EUR' },
        holdTimeoutMs: extra.holdTimeoutMs ?? 60_000,
      }),
    ]);
    return resourceId;
  };

  const slot = () => {
    const start = Math.ceil((Date.now() + 48 * HOUR) / HOUR) * HOUR;
    return { start, end: start + 2 * HOUR };
  };

  it('confirms a paid reservation and mails the confirmation with the reservation’s details', async () => {
    const name = `Harbour kayak ${randomUUID().slice(0, 4)}`;
    const resourceId = await resource(name, { capacity: 2 });
    const { start, end } = slot();
    const who = customer(uniqueName('ada').slice(0, 20));
    const request = requestReservation(resourceId, start, end, 2, { customer: who });
    await fixture.send([request]);

    const held = await decided('ReservationHeld', request.reservationId);
    expect(held.price).toEqual({ amountMinor: 5_000, currency: 'EUR' });
    const confirmed = await decided('ReservationConfirmed', request.reservationId);
    expect(confirmed.paymentReference).toMatch(/^pi_/);
    expect(confirmed.price).toEqual(held.price);
    const [result] = reader.paymentResults(request.reservationId);
    expect(result?.key).toBe(resourceId);
    expect(confirmed.causationCommandId).toBe(result?.command.commandId);

    const [heldMail, confirmedMail] = await waitForMail(who.email, 2);
    expect(heldMail?.Subject).toBe(
      `Reservation held: ${name}, please pay by ${formatTime(held.holdExpiresAt)}`,
    );
    expect(confirmedMail?.To).toEqual([{ Name: who.fullName, Address: who.email }]);
    expect(confirmedMail?.Subject).toBe(`Reservation confirmed: ${name}, ${formatTime(start)}`);
    expect(confirmedMail?.MessageID).toBe(`${confirmed.eventId}@slotstream.local`);
    for (const detail of [
      `Hello ${who.fullName},`,
      `Your payment of ${formatMoney(held.price)} was received`,
      name,
      formatTime(start),
      formatTime(end),
      request.reservationId,
      confirmed.paymentReference ?? '',
    ]) {
      expect(confirmedMail?.Text).toContain(detail);
    }
    expect(confirmedMail?.HTML).toContain(name);
  });

  it('a declined payment releases the hold (capacity free again) and mails the failure', async () => {
    const name = `Sunset kayak ${randomUUID().slice(0, 4)}`;
    const resourceId = await resource(name, { capacity: 1 });
    const { start, end } = slot();
    const first = requestReservation(resourceId, start, end, 1, {
      customer: customer(uniqueName('bo').slice(0, 20)),
    });
    proxy.onCharge({ kind: 'decline', declineCode: 'insufficient_funds' });
    await fixture.send([first]);

    const failed = await decided('ReservationPaymentFailed', first.reservationId);
    expect(failed.failureReason).toBe('insufficient_funds: Your card has insufficient funds.');
    const [, failureMail] = await waitForMail(first.customer.email, 2);
    expect(failureMail?.Subject).toBe(`Payment failed: ${name}, your hold was released`);
    expect(failureMail?.Text).toContain('insufficient_funds: Your card has insufficient funds.');

    // The only unit is free again: another customer gets it, and pays.
    const second = requestReservation(resourceId, start, end, 1, {
      customer: customer(uniqueName('cy').slice(0, 20)),
    });
    await fixture.send([second]);
    await decided('ReservationHeld', second.reservationId);
    await decided('ReservationConfirmed', second.reservationId);
    await waitForMail(second.customer.email, 2);
  });

  it('refunds a payment that succeeds after the hold expired', async () => {
    const name = `Night kayak ${randomUUID().slice(0, 4)}`;
    const resourceId = await resource(name, { holdTimeoutMs: 3_000 });
    const { start, end } = slot();
    const request = requestReservation(resourceId, start, end, 1, {
      customer: customer(uniqueName('di').slice(0, 20)),
    });
    proxy.onCharge({ kind: 'delay', ms: 4_500 }); // the gateway answers after the hold has expired
    await fixture.send([request]);

    await decided('ReservationExpired', request.reservationId);
    const refused = await eventually(
      async () =>
        fixture.events
          .map((e) => e.message)
          .find(
            (e) =>
              e.type === 'ReservationRejected' &&
              e.reservationId === request.reservationId &&
              e.commandType === 'RecordPaymentResult',
          ),
      { what: 'the refused payment result' },
    );
    expect(refused).toMatchObject({ reason: 'ILLEGAL_TRANSITION', currentStatus: 'Expired' });
    const paid = reader.paymentResults(request.reservationId)[0]?.command;
    if (paid?.type !== 'RecordPaymentResult') throw new Error('no payment result');
    expect(paid.outcome).toBe('SUCCEEDED');
    const refund = await eventually(
      async () => gateway.refunds.find((r) => r.metadata.reservationId === request.reservationId),
      { what: 'the refund' },
    );
    expect(refund.chargeReference).toBe(paid.paymentReference);
    const atStripe = await eventually(
      async () => {
        const seen = proxy.refunds().filter((r) => r.idempotencyKey === refund.idempotencyKey);
        return seen.length > 0 ? seen : undefined;
      },
      { what: 'the refund at stripe-mock' },
    );
    expect(atStripe.map((r) => r.params.get('payment_intent'))).toEqual([paid.paymentReference]);
    const mails = await waitForMail(request.customer.email, 2);
    expect(mails.map((m) => m.Subject.split(':')[0])).toEqual(['Reservation held', 'Reservation expired']);
  });

  it('replaying the same events charges no one again and sends no second e-mail', async () => {
    for (const w of workers) await caughtUp(w);
    const results = reader.seen.filter((s) => s.command.type === 'RecordPaymentResult').length;
    const charges = proxy.charges().length;
    const customers = [
      ...new Set(
        fixture.events.map((e) => e.message).flatMap((e) => ('customer' in e ? [e.customer.email] : [])),
      ),
    ];
    const mailsBefore = new Map<string, number>();
    for (const email of customers) mailsBefore.set(email, (await mailTo(email)).length);

    const replay = await startSinks(randomUUID());
    for (const w of replay.workers) await caughtUp(w);
    await new Promise((r) => setTimeout(r, 1_000)); // anything sent would have arrived by now

    expect(replay.gateway.charges).toHaveLength(0);
    expect(replay.gateway.refunds).toHaveLength(0);
    expect(proxy.charges()).toHaveLength(charges);
    expect(reader.seen.filter((s) => s.command.type === 'RecordPaymentResult')).toHaveLength(results);
    for (const email of customers) expect((await mailTo(email)).length, email).toBe(mailsBefore.get(email));
    const sent = await db.query<{ message_id: string }>('SELECT message_id FROM sent_notifications');
    expect(sent).toHaveLength(8); // held + confirmed; held + failed, held + confirmed; held + expired
    for (const { message_id } of sent)
      expect(await mailWithMessageId(message_id), message_id).toHaveLength(1);
  });
});
