/**
 * The reconciler on the real stack: the decider in-process (DeciderFixture), the payment sink on Kafka,
 * PostgreSQL and stripe-mock (through StripeFaultProxy as a pass-through recorder of what reached it).
 *
 * A result Kafka acknowledged without writing it cannot be produced on demand with the real broker, so the
 * sink's publisher is wrapped in AcknowledgingWithoutWriting (test/support/payment-doubles.ts): a test
 * double for a failure the real broker cannot produce on demand (a client acknowledging a write that did
 * not happen). It drops the first send of the results of chosen reservations; the ledger then records them
 * as sent, exactly as it did in the incident. Everything else is real: the re-sent command goes through the
 * real producer, the decider decides it, the refund reaches stripe-mock.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { runner } from 'node-pg-migrate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../../schemas/generated/types.ts';
import { chargeKey, refundKey, resultCommandId } from '../../../sinks/payment/keys.ts';
import {
  type Operation,
  PgPaymentLedger,
  type Settlement,
  type UndecidedQuery,
} from '../../../sinks/payment/ledger.ts';
import { KafkaResultPublisher } from '../../../sinks/payment/results.ts';
import { createPaymentSink, type PaymentSink } from '../../../sinks/payment/sink.ts';
import { StripeGateway } from '../../../sinks/payment/stripe-gateway.ts';
import { MIGRATIONS_DIR } from '../../../sinks/postgres/migrate.ts';
import type { SinkWorker } from '../../../sinks/runtime/worker.ts';
import { eventually, testLogger } from '../../helpers.ts';
import { CommandReader } from '../../support/command-reader.ts';
import { DeciderFixture, requestReservation, upsertResource } from '../../support/decider-fixture.ts';
import { AcknowledgingWithoutWriting } from '../../support/payment-doubles.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { startTestWorker } from '../../support/sinks.ts';
import { StripeFaultProxy } from '../../support/stripe-fault-proxy.ts';

const HOUR = 3_600_000;
const GRACE_MS = 4_000;

interface LedgerRow {
  idempotency_key: string;
  kind: string;
  status: string;
  gateway_reference: string | null;
  result_recorded_at: Date | null;
  result_decided_at: Date | null;
  result_decision: string | null;
  result_decision_event_id: string | null;
  confirmed_event_id: string | null;
  result_resends: number;
}

describe('the reconciler sends again a result Kafka acknowledged but never wrote', () => {
  let db: TestDatabase;
  let fixture: DeciderFixture;
  let proxy: StripeFaultProxy;
  let reader: CommandReader;
  let results: AcknowledgingWithoutWriting;
  let sink: PaymentSink;
  let worker: SinkWorker;
  /** Reservations whose first result is acknowledged without being written. */
  const lose = new Set<string>();

  beforeAll(async () => {
    db = await createTestDatabase('reconcile');
    fixture = await new DeciderFixture({ DATABASE_URL: db.url }).setup();
    await fixture.readEvents();
    await fixture.startDecider();
    proxy = await new StripeFaultProxy(fixture.config.stripe.url).start();
    reader = await new CommandReader(fixture.kafka, fixture.config).start();
    results = new AcknowledgingWithoutWriting(
      new KafkaResultPublisher(fixture.config, testLogger, { autoRegister: true }),
      (command, earlierDrops) => lose.has(command.reservationId) && earlierDrops === 0,
    );
    sink = createPaymentSink(fixture.config, testLogger, {
      gateway: new StripeGateway({
        apiKey: fixture.config.stripe.apiKey,
        url: proxy.url,
        paymentMethod: 'pm_card_visa',
        timeoutMs: 10_000,
      }),
      results,
      autoRegister: true,
      env: {},
      // Short holds in one scenario: charge whatever has not expired yet.
      options: { chargeMarginMs: 0, reconcileIntervalMs: 500, reconcileGraceMs: GRACE_MS },
    });
    worker = await startTestWorker(fixture.config, sink);
  });

  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await reader?.stop();
    await proxy?.close();
    await fixture?.teardown();
    await db?.drop();
  });

  const ledgerRow = async (key: string) =>
    (await db.query<LedgerRow>('SELECT * FROM payment_operations WHERE idempotency_key = $1', [key]))[0];

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

  const hold = async (holdTimeoutMs: number, options: { lost: boolean }) => {
    const resourceId = `boat-${randomUUID().slice(0, 8)}`;
    await fixture.send([
      upsertResource(resourceId, 1, { unitPrice: { amountMinor: 3_000, currency: 'EUR' }, holdTimeoutMs }),
    ]);
    const start = Math.ceil((Date.now() + 48 * HOUR) / HOUR) * HOUR;
    const request = requestReservation(resourceId, start, start + HOUR, 1);
    if (options.lost) lose.add(request.reservationId);
    await fixture.send([request]);
    const held = await decided('ReservationHeld', request.reservationId);
    const key = chargeKey({ reservationId: request.reservationId, holdVersion: 1 });
    return { request, held, key, commandId: resultCommandId(key) };
  };

  it('confirms the reservation once the same result is sent again; nothing refunded', async () => {
    const { request, held, key, commandId } = await hold(60_000, { lost: true });

    const confirmed = await decided('ReservationConfirmed', request.reservationId);
    expect(confirmed.causationCommandId).toBe(commandId);
    // The first send was acknowledged and recorded, but never written: the decision came from the re-send.
    expect(results.dropped.filter((c) => c.reservationId === request.reservationId)).toHaveLength(1);
    expect(confirmed.decidedAt - held.decidedAt).toBeGreaterThanOrEqual(GRACE_MS);
    const onTopic = reader.paymentResults(request.reservationId);
    expect(onTopic).toHaveLength(1);
    expect(onTopic[0]?.command).toMatchObject({ commandId, outcome: 'SUCCEEDED', amount: held.price });
    expect(onTopic[0]?.headers).toMatchObject({
      ce_source: '/slotstream/payment',
      ce_causationid: held.eventId,
    });

    const row = await eventually(
      async () => {
        const r = await ledgerRow(key);
        return r?.result_decision === 'confirmed' ? r : undefined;
      },
      { what: 'the confirmation in the ledger' },
    );
    expect(row).toMatchObject({
      status: 'succeeded',
      result_resends: 1,
      result_decision_event_id: confirmed.eventId,
      confirmed_event_id: confirmed.eventId,
    });
    expect(row.result_recorded_at).not.toBeNull();
    expect(sink.stats.resultsResent).toBeGreaterThanOrEqual(1);

    // Decided: never sent again, however many passes run.
    await new Promise((r) => setTimeout(r, GRACE_MS + 1_500));
    expect(reader.paymentResults(request.reservationId)).toHaveLength(1);
    expect((await ledgerRow(key))?.result_resends).toBe(1);
    const refundId = refundKey({ reservationId: request.reservationId, holdVersion: 1 });
    expect(proxy.refunds().filter((r) => r.idempotencyKey === refundId)).toHaveLength(0);
  });

  it('refunds the charge at stripe-mock when the hold expired before the result was sent again', async () => {
    const { request, key, commandId } = await hold(3_000, { lost: true });

    await decided('ReservationExpired', request.reservationId);
    const refused = await eventually(async () => fixture.eventsFor(commandId)[0]?.message, {
      what: 'the decision about the result sent again',
    });
    expect(refused).toMatchObject({
      type: 'ReservationRejected',
      commandType: 'RecordPaymentResult',
      reason: 'ILLEGAL_TRANSITION',
      currentStatus: 'Expired',
    });
    const charge = await ledgerRow(key);
    const refundId = refundKey({ reservationId: request.reservationId, holdVersion: 1 });
    const atStripe = await eventually(
      async () => {
        const seen = proxy.refunds().filter((r) => r.idempotencyKey === refundId);
        return seen.length > 0 ? seen : undefined;
      },
      { what: 'the refund at stripe-mock' },
    );
    expect(atStripe).toHaveLength(1);
    expect(atStripe[0]?.params.get('payment_intent')).toBe(charge?.gateway_reference);
    const refund = await eventually(
      async () => {
        const r = await ledgerRow(refundId);
        return r?.status === 'succeeded' ? r : undefined;
      },
      { what: 'the refund in the ledger' },
    );
    expect(refund.kind).toBe('refund');
    expect(await ledgerRow(key)).toMatchObject({ result_decision: 'rejected', confirmed_event_id: null });
  });

  it('resolves a DUPLICATE whose original decision the ledger never saw from the events topic, and keeps the payment', async () => {
    const { request, key, commandId } = await hold(60_000, { lost: false });
    const confirmed = await decided('ReservationConfirmed', request.reservationId);
    await eventually(
      async () => ((await ledgerRow(key))?.result_decision === 'confirmed' ? true : undefined),
      {
        what: 'the confirmation in the ledger',
      },
    );
    // A ledger restored from a backup taken before the decision: the result recorded long ago, no decision.
    await db.query(
      `UPDATE payment_operations
          SET result_decided_at = NULL, result_decision = NULL, result_decision_event_id = NULL,
              confirmed_event_id = NULL, result_recorded_at = now() - interval '1 hour'
        WHERE idempotency_key = $1`,
      [key],
    );

    // Sent again → DUPLICATE (the decider remembers the id) → looked up on the topic → the confirmation.
    const duplicate = await eventually(
      async () =>
        fixture
          .eventsFor(commandId)
          .map((e) => e.message)
          .find((e) => e.type === 'ReservationRejected' && e.reason === 'DUPLICATE'),
      { what: 'the DUPLICATE answer to the result sent again' },
    );
    expect(duplicate).toMatchObject({ duplicateOf: commandId });
    const row = await eventually(
      async () => {
        const r = await ledgerRow(key);
        return r?.result_decision === 'confirmed' ? r : undefined;
      },
      { what: 'the original decision applied' },
    );
    expect(row).toMatchObject({
      confirmed_event_id: confirmed.eventId,
      result_decision_event_id: confirmed.eventId,
    });
    expect(sink.stats.duplicatesResolved).toBeGreaterThanOrEqual(1);
    const refundId = refundKey({ reservationId: request.reservationId, holdVersion: 1 });
    expect(proxy.refunds().filter((r) => r.idempotencyKey === refundId)).toHaveLength(0);
  });

  it('`npm run payments:check` finds nothing wanting here, and names a result recorded without a decision', async () => {
    const env = {
      ...process.env,
      DATABASE_URL: db.url,
      TOPIC_PREFIX: fixture.config.kafka.topicPrefix,
      LOG_LEVEL: 'warn',
    };
    const run = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        execFile(
          'npx',
          ['tsx', 'sinks/payment/check-cli.ts', '--grace-seconds', '5'],
          { env },
          (error, stdout) =>
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout }),
        );
      });
    const clean = await run();
    expect(clean.out).toMatch(/succeeded charges: 3\n/);
    expect(clean.out).toMatch(/results decided: {3}3\n/);
    expect(clean.out).toMatch(/refunded: {10}1\n/);
    expect(clean.out).toMatch(/recorded but undecided for more than 5 s: 0\n/);
    expect(clean.code).toBe(0);

    // A result the ledger calls recorded an hour ago that nobody decided, and that the reconciler has
    // given up on (so it does not repair it before the check runs).
    const reservationId = randomUUID();
    const key = chargeKey({ reservationId, holdVersion: 1 });
    await db.query(
      `INSERT INTO payment_operations (idempotency_key, kind, reservation_id, resource_id, customer_id, hold_version,
         amount_minor, currency, status, settled_minor, settled_currency, gateway_reference, cause_event_id,
         result_command_id, result_recorded_at, result_resends)
       VALUES ($1, 'charge', $2, 'gone', 'c', 1, 700, 'EUR', 'succeeded', 700, 'EUR', 'pi_lost', $3, $4,
               now() - interval '1 hour', 10)`,
      [key, reservationId, randomUUID(), resultCommandId(key)],
    );
    const found = await run();
    expect(found.code).toBe(1);
    expect(found.out).toMatch(/recorded but undecided for more than 5 s: 1\n/);
    expect(found.out).toContain(key);
    await db.query('DELETE FROM payment_operations WHERE idempotency_key = $1', [key]);
  });
});

describe('the ledger in PostgreSQL: decisions and what the reconciler selects', () => {
  let db: TestDatabase;
  let ledger: PgPaymentLedger;
  beforeAll(async () => {
    db = await createTestDatabase('ledger_decisions');
    ledger = new PgPaymentLedger({ url: db.url, logger: testLogger });
    await ledger.start();
  });
  afterAll(async () => {
    await ledger?.close();
    await db?.drop();
  });

  const charge = async (settle: Settlement | null, recordedSecondsAgo: number | null) => {
    const reservationId = randomUUID();
    const key = chargeKey({ reservationId, holdVersion: 1 });
    await ledger.open({
      key,
      kind: 'charge',
      reservationId,
      resourceId: 'res-1',
      customerId: 'cust-1',
      holdVersion: 1,
      amount: { amountMinor: 500, currency: 'EUR' },
      causeEventId: randomUUID(),
      resultCommandId: resultCommandId(key),
      refundOf: null,
      refundReason: null,
      correlationId: 'corr-1',
    });
    if (settle) await ledger.settle(key, settle);
    if (recordedSecondsAgo !== null) {
      await ledger.markRecorded(key);
      await db.query(
        `UPDATE payment_operations SET result_recorded_at = now() - make_interval(secs => $2) WHERE idempotency_key = $1`,
        [key, recordedSecondsAgo],
      );
    }
    return { key, reservationId, commandId: resultCommandId(key) };
  };
  const paid: Settlement = {
    status: 'succeeded',
    reference: 'pi_1',
    settled: { amountMinor: 500, currency: 'EUR' },
  };
  const keys = (ops: readonly { key: string }[]) => ops.map((o) => o.key);

  it('selects settled charges without a decision, oldest send first, bounded, and not past the re-sends allowed', async () => {
    const old = await charge(paid, 300);
    const failed = await charge(
      { status: 'failed', reference: null, code: 'card_declined', reason: 'no' },
      200,
    );
    const neverRecorded = await charge(paid, null);
    const skipped = await charge({ status: 'skipped', reason: 'expired' }, null);
    const pending = await charge(null, null);
    const decided = await charge(paid, 400);
    await ledger.noteDecision({ commandId: decided.commandId, eventId: randomUUID(), kind: 'confirmed' });
    const ours = new Set(keys([old, failed, neverRecorded, skipped, pending, decided]));
    const select = async (q: Partial<UndecidedQuery> = {}) =>
      keys(
        await ledger.undecidedResults({ sentBefore: Date.now() + 5_000, maxResends: 10, limit: 100, ...q }),
      ).filter((k) => ours.has(k));

    expect(await select()).toEqual([old.key, failed.key, neverRecorded.key]);
    expect(await select({ sentBefore: Date.now() - 250_000 })).toEqual([old.key]);
    expect(await select({ limit: 2 })).toEqual([old.key, failed.key]);

    await ledger.markResent(old.key);
    await ledger.markResent(neverRecorded.key);
    expect(await select()).toEqual([failed.key, old.key, neverRecorded.key]); // by the latest send
    expect(await select({ maxResends: 1 })).toEqual([failed.key]);
    expect(await ledger.countAbandoned(1)).toBe(2);
    const [row] = await db.query<{ result_resends: number; result_recorded_at: Date | null }>(
      'SELECT * FROM payment_operations WHERE idempotency_key = $1',
      [neverRecorded.key],
    );
    expect(row?.result_resends).toBe(1);
    expect(row?.result_recorded_at).not.toBeNull(); // acknowledged now
  });

  it('keeps the first decision; a real one replaces a DUPLICATE; a confirmation links the charge once', async () => {
    const a = await charge(paid, 10);
    const [e1, e2, e3] = [randomUUID(), randomUUID(), randomUUID()];
    expect(
      await ledger.noteDecision({ commandId: a.commandId, eventId: e1, kind: 'duplicate' }),
    ).toMatchObject({
      resultDecision: 'duplicate',
      resultDecisionEventId: e1,
    });
    expect(keys(await ledger.duplicateOnly(1_000))).toContain(a.key);
    expect(
      await ledger.noteDecision({ commandId: a.commandId, eventId: e2, kind: 'confirmed' }),
    ).toMatchObject({
      resultDecision: 'confirmed',
      resultDecisionEventId: e2,
      confirmedEventId: e2,
    });
    expect(keys(await ledger.duplicateOnly(1_000))).not.toContain(a.key);
    const after = await ledger.noteDecision({ commandId: a.commandId, eventId: e3, kind: 'rejected' });
    expect(after).toMatchObject({
      resultDecision: 'confirmed',
      resultDecisionEventId: e2,
      confirmedEventId: e2,
    });
    await ledger.noteDecision({ commandId: a.commandId, eventId: randomUUID(), kind: 'duplicate' });
    expect((await ledger.open({ ...(after as Operation) })).resultDecision).toBe('confirmed');
    expect(
      await ledger.noteDecision({ commandId: randomUUID(), eventId: randomUUID(), kind: 'confirmed' }),
    ).toBeUndefined();
  });

  it('lists a captured DUPLICATE-only charge until a refund of it succeeded', async () => {
    const c = await charge(paid, 10);
    await ledger.noteDecision({ commandId: c.commandId, eventId: randomUUID(), kind: 'duplicate' });
    const refund = refundKey({ reservationId: c.reservationId, holdVersion: 1 });
    await ledger.open({
      key: refund,
      kind: 'refund',
      reservationId: c.reservationId,
      resourceId: 'res-1',
      customerId: 'cust-1',
      holdVersion: 1,
      amount: { amountMinor: 500, currency: 'EUR' },
      causeEventId: randomUUID(),
      resultCommandId: null,
      refundOf: c.key,
      refundReason: 'test',
    });
    expect(keys(await ledger.duplicateOnly(1_000))).toContain(c.key); // the refund is still pending
    await ledger.settle(refund, {
      status: 'succeeded',
      reference: 're_1',
      settled: { amountMinor: 500, currency: 'EUR' },
    });
    expect(keys(await ledger.duplicateOnly(1_000))).not.toContain(c.key);
  });
});

describe('the migration that adds decisions to the ledger', () => {
  const FILE = '1796404728920_payment-result-decisions';
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('ledger-migration');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('marks as decided what the ledger already knew: a confirmed charge, a refunded one; not the rest', async () => {
    const migration = {
      databaseUrl: db.url,
      dir: MIGRATIONS_DIR,
      migrationsTable: 'pgmigrations',
      file: FILE,
    };
    await runner({ ...migration, direction: 'down', log: () => {} });
    const insert = (key: string, kind: string, extra: Record<string, string | null> = {}) =>
      db.query(
        `INSERT INTO payment_operations (idempotency_key, kind, reservation_id, resource_id, customer_id,
           hold_version, amount_minor, currency, status, cause_event_id, result_command_id, result_recorded_at,
           confirmed_event_id, refund_of)
         VALUES ($1, $2, $3, 'r', 'c', 1, 100, 'EUR', 'succeeded', $4, $5, now(), $6, $7)`,
        [
          key,
          kind,
          randomUUID(),
          extra.cause ?? randomUUID(),
          kind === 'charge' ? randomUUID() : null,
          extra.confirmed ?? null,
          extra.refundOf ?? null,
        ],
      );
    const confirmedEvent = randomUUID();
    const rejection = randomUUID();
    await insert('confirmed', 'charge', { confirmed: confirmedEvent });
    await insert('refused', 'charge');
    await insert('refund-of-refused', 'refund', { refundOf: 'refused', cause: rejection });
    await insert('unknown', 'charge');
    await runner({ ...migration, direction: 'up', log: () => {} });
    const rows = await db.query<{
      idempotency_key: string;
      result_decision: string | null;
      event: string | null;
    }>(
      `SELECT idempotency_key, result_decision, result_decision_event_id AS event
         FROM payment_operations WHERE kind = 'charge' ORDER BY idempotency_key`,
    );
    expect(rows).toEqual([
      { idempotency_key: 'confirmed', result_decision: 'confirmed', event: confirmedEvent },
      { idempotency_key: 'refused', result_decision: 'rejected', event: rejection },
      { idempotency_key: 'unknown', result_decision: null, event: null },
    ]);
  });
});
