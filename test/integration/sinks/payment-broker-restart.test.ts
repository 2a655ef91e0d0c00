/**
 * Payments across broker restarts (regression: a charge whose RecordPaymentResult the ledger recorded as
 * sent, 48 ms after the producer logged "out of order sequence number", was never on the commands topic;
 * the hold expired and nothing refunded it). Holds are requested and charged continuously against a broker
 * of the test's own (test/support/private-broker.ts), restarted once gracefully and once by kill -9, with
 * the decider and the payment sink (real stripe-mock, real PostgreSQL) pointed at it. Afterwards the
 * payment check (sinks/payment/check.ts, which reads the events topic itself) must find nothing: no result
 * recorded without a decision, no refused charge unrefunded, no confirmed charge refunded; and, checked
 * here again from the test's own reader, every succeeded charge has a decided result or a refund.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decider } from '../../../processors/decider/decider.ts';
import type { Event } from '../../../schemas/generated/types.ts';
import { checkPayments, type PaymentCheck } from '../../../sinks/payment/check.ts';
import { formatCheck } from '../../../sinks/payment/check-cli.ts';
import { createPaymentSink } from '../../../sinks/payment/sink.ts';
import type { SinkWorker } from '../../../sinks/runtime/worker.ts';
import { eventually, testLogger, uniqueName } from '../../helpers.ts';
import { DeciderFixture, requestReservation, upsertResource } from '../../support/decider-fixture.ts';
import { readTopic } from '../../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { PrivateBroker } from '../../support/private-broker.ts';
import { caughtUp, startTestWorker } from '../../support/sinks.ts';

const HOUR = 3_600_000;
const GRACE_MS = 5_000;
/** Half the resources hold for a minute (payments confirm); half for 4 s (late results are refused). */
const RESOURCES = 16;
const SHORT_HOLD_MS = 4_000;
const LONG_HOLD_MS = 60_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let broker: PrivateBroker | undefined;

afterAll(async () => {
  await broker?.destroy();
});

describe('payments across broker restarts (a broker of the test own)', () => {
  let db: TestDatabase;
  let fixture: DeciderFixture;
  let decider: Decider;
  let worker: SinkWorker;
  const replaced: string[] = [];
  let supervising = true;

  const newSink = () =>
    createPaymentSink(fixture.config, testLogger, {
      autoRegister: true,
      env: {},
      options: { chargeMarginMs: 0, reconcileIntervalMs: 1_000, reconcileGraceMs: GRACE_MS },
    });

  beforeAll(async () => {
    broker = await PrivateBroker.create(uniqueName('payment-restart'));
    db = await createTestDatabase('payment_restart');
    fixture = await new DeciderFixture({ KAFKA_BROKERS: broker.bootstrap, DATABASE_URL: db.url }).setup();
    decider = await fixture.startDecider();
    // Retry forever, as the production defaults ride out about ten minutes.
    worker = await startTestWorker(fixture.config, newSink(), { maxAttempts: 0 });
    // What a supervisor does: a worker that failed for good is started again.
    void (async () => {
      while (supervising) {
        await pause(1_000);
        if (!supervising) break;
        try {
          if (decider.state === 'failed') {
            decider = await fixture.startDecider();
            replaced.push('decider');
          }
          if (worker.state === 'failed') {
            worker = await startTestWorker(fixture.config, newSink(), { maxAttempts: 0 });
            replaced.push('payment sink');
          }
        } catch (error) {
          testLogger.warn({ err: error }, 'supervisor could not restart a worker yet');
        }
      }
    })();
  });

  afterAll(async () => {
    supervising = false;
    await worker?.stop().catch(() => undefined);
    await fixture?.teardown().catch(() => undefined);
    await db?.drop();
  });

  it('charges keep being decided or refunded; the payment check finds nothing undecided', {
    timeout: 420_000,
  }, async () => {
    const running = broker as PrivateBroker;
    const resources = Array.from({ length: RESOURCES }, (_, i) => ({
      id: `pier-${i}-${randomUUID().slice(0, 6)}`,
      holdTimeoutMs: i % 2 === 0 ? LONG_HOLD_MS : SHORT_HOLD_MS,
    }));
    await fixture.send(
      resources.map((r) =>
        upsertResource(r.id, 100_000, {
          unitPrice: { amountMinor: 1_500, currency: 'EUR' },
          holdTimeoutMs: r.holdTimeoutMs,
        }),
      ),
    );

    // About twelve requests a second until told to stop; a send refused during a restart is offered again.
    let stop = false;
    let offered = 0;
    const loop = (async () => {
      const start = Math.ceil((Date.now() + 72 * HOUR) / HOUR) * HOUR;
      for (let i = 0; !stop; i++) {
        const resource = resources[i % RESOURCES] as (typeof resources)[number];
        const request = requestReservation(
          resource.id,
          start + (i % 50) * HOUR,
          start + (i % 50) * HOUR + HOUR,
        );
        try {
          await fixture.send([request]);
          offered += 1;
        } catch {
          await pause(500);
        }
        await pause(80);
      }
    })();

    const restarted: number[] = [];
    await pause(8_000);
    await running.restart('graceful', 2_000);
    restarted.push(Date.now());
    await pause(8_000);
    await running.restart('kill', 2_000);
    restarted.push(Date.now());
    await pause(10_000);
    stop = true;
    await loop;

    // Every hold ends — confirmed, refused payment (expired, then refunded) or failed payment — as read
    // afresh from the topic each time (a reader that lived through the restarts may lag behind).
    const endings = new Set(['ReservationConfirmed', 'ReservationExpired', 'ReservationPaymentFailed']);
    const events = await eventually(
      async () => {
        const records = await readTopic(fixture.kafka, fixture.topics.events, 60_000);
        const all = await Promise.all(
          records.map(async (m) => (await fixture.codec.decodeEvent(m.value, m.headers)).message),
        );
        const ended = new Set(
          all.flatMap((e) => (endings.has(e.type) && 'reservationId' in e ? [e.reservationId] : [])),
        );
        const held = all.filter((e) => e.type === 'ReservationHeld');
        return held.length > 0 && held.every((h) => ended.has(h.reservationId)) ? all : undefined;
      },
      { timeoutMs: LONG_HOLD_MS + 120_000, intervalMs: 3_000, what: 'every hold to end' },
    );
    await caughtUp(worker, 120_000);

    // The check, until the reconciler and the refunds have caught up (they run every second).
    let check: PaymentCheck | undefined;
    await eventually(
      async () => {
        check = await checkPayments({ config: fixture.config, logger: testLogger, graceMs: GRACE_MS });
        return check.ok ? check : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 2_000, what: 'the payment check to find nothing wanting' },
    ).catch(() => undefined); // the assertions below name what is wanting
    const final =
      check ?? (await checkPayments({ config: fixture.config, logger: testLogger, graceMs: GRACE_MS }));
    const count = (type: Event['type']) => events.filter((e) => e.type === type).length;
    const [{ resends } = { resends: '0' }] = await db.query<{ resends: string }>(
      'SELECT coalesce(sum(result_resends), 0) AS resends FROM payment_operations',
    );
    const confirmed = events.filter((e) => e.type === 'ReservationConfirmed');
    const beforeRestarts = confirmed.filter((e) => e.decidedAt < (restarted[0] as number) - 2_000).length;
    const afterKill = confirmed.filter((e) => e.decidedAt > (restarted[1] as number)).length;
    console.log(
      `payments across restarts: offered ${offered}, held ${count('ReservationHeld')}, confirmed ` +
        `${confirmed.length} (${beforeRestarts} before the restarts, ${afterKill} after the kill), expired ` +
        `${count('ReservationExpired')}; results sent again by the reconciler ${resends}; ` +
        `workers replaced: [${replaced.join(', ')}]\n${formatCheck(final, GRACE_MS / 1000)}`,
    );
    expect(final.undecided).toEqual([]);
    expect(final.unrecorded).toEqual([]);
    expect(final.unrefunded).toEqual([]);
    expect(final.refundedConfirmed).toEqual([]);
    expect(final.succeeded).toBeGreaterThan(100);
    // Payments went on around both restarts.
    expect(beforeRestarts).toBeGreaterThan(10);
    expect(afterKill).toBeGreaterThan(10);

    // Independently of the check's code: every succeeded charge has a decision on the events topic (as
    // this test read it) or a refund, and none that confirmed its reservation was refunded.
    const charges = await db.query<{ idempotency_key: string; result_command_id: string; refunded: boolean }>(
      `SELECT c.idempotency_key, c.result_command_id,
              EXISTS (SELECT 1 FROM payment_operations r
                       WHERE r.refund_of = c.idempotency_key AND r.status = 'succeeded') AS refunded
         FROM payment_operations c WHERE c.kind = 'charge' AND c.status = 'succeeded'`,
    );
    expect(charges.length).toBe(final.succeeded);
    const decisions = new Map<string, Event[]>();
    for (const e of events) {
      decisions.set(e.causationCommandId, [...(decisions.get(e.causationCommandId) ?? []), e]);
    }
    const decisionsOf = (c: { result_command_id: string }) => decisions.get(c.result_command_id) ?? [];
    expect(charges.filter((c) => !c.refunded && decisionsOf(c).length === 0)).toEqual([]);
    expect(
      charges.filter((c) => c.refunded && decisionsOf(c).some((e) => e.type === 'ReservationConfirmed')),
    ).toEqual([]);
  });
});
