/**
 * The payment sink against the real broker, registry, PostgreSQL and stripe-mock (official `stripe` client).
 *
 * Real stripe-mock: the happy path (PaymentIntent created and confirmed, Refund created), the Idempotency-Key
 * on the wire (stripe-mock echoes it), and stripe-mock's own error bodies (400 validation, 401 credentials).
 * Through StripeFaultProxy (a TEST DOUBLE in front of stripe-mock, scripted per request): only what
 * stripe-mock cannot produce — card declines, 5xx, 429, timeouts, unknown outcomes (stripe-mock processed
 * the request, the answer was lost). stripe-mock honours no Idempotency-Key and keeps no state, so "never
 * charged twice" is shown by what reaches it: the requests the proxy saw, and the ledger.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../../common/config.ts';
import { GatewayUnavailableError } from '../../../sinks/payment/errors.ts';
import { chargeKey, refundKey, resultCommandId } from '../../../sinks/payment/keys.ts';
import { createPaymentSink } from '../../../sinks/payment/sink.ts';
import { StripeGateway } from '../../../sinks/payment/stripe-gateway.ts';
import type { SinkWorker } from '../../../sinks/runtime/worker.ts';
import { testConfig, testLogger, uniqueName } from '../../helpers.ts';
import { CommandReader } from '../../support/command-reader.ts';
import { createTestTopics, deleteTestTopics, EventWriter, readTopic } from '../../support/kafka.ts';
import { CountingGateway } from '../../support/payment-doubles.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { reservationStory } from '../../support/reservation-events.ts';
import { caughtUp, startTestWorker } from '../../support/sinks.ts';
import { StripeFaultProxy } from '../../support/stripe-fault-proxy.ts';

const stackConfig = loadConfig();

function gatewayAt(url: string, timeoutMs = 5_000, apiKey = stackConfig.stripe.apiKey) {
  return new StripeGateway({ apiKey, url, paymentMethod: 'pm_card_visa', timeoutMs });
}

const charge = (key = uniqueName('key'), amountMinor = 1_234) => ({
  idempotencyKey: key,
  amount: { amountMinor, currency: 'EUR' },
  description: 'test charge',
  metadata: { reservationId: key },
});

describe('the Stripe gateway on the real stripe-mock', () => {
  let proxy: StripeFaultProxy; // pass-through here: it only records what went over the wire

  beforeAll(async () => {
    proxy = await new StripeFaultProxy(stackConfig.stripe.url).start();
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('creates and confirms a PaymentIntent, sending our idempotency key', async () => {
    const key = uniqueName('charge');
    const outcome = await gatewayAt(proxy.url).charge(charge(key, 4_200));
    expect(outcome).toMatchObject({ status: 'succeeded', amount: { amountMinor: 4_200, currency: 'EUR' } });
    expect(outcome.status === 'succeeded' && outcome.reference).toMatch(/^pi_/);
    const [seen] = proxy.charges().filter((r) => r.idempotencyKey === key);
    expect(seen?.upstreamStatus).toBe(200);
    expect(seen?.params.get('confirm')).toBe('true');
    expect(seen?.params.get('amount')).toBe('4200');
    expect(seen?.params.get('currency')).toBe('eur');
    expect(seen?.params.get('payment_method')).toBe('pm_card_visa');
  });

  it('refunds a PaymentIntent with our idempotency key', async () => {
    const key = uniqueName('refund');
    const outcome = await gatewayAt(proxy.url).refund({
      idempotencyKey: key,
      chargeReference: 'pi_123',
      metadata: {},
    });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.reference).toMatch(/^re_/);
    const [seen] = proxy.refunds().filter((r) => r.idempotencyKey === key);
    expect(seen?.params.get('payment_intent')).toBe('pi_123');
  });

  it('reads stripe-mock’s 400 (a request Stripe will never accept) as a failed payment, not an error', async () => {
    const outcome = await gatewayAt(stackConfig.stripe.url).charge(charge(uniqueName('bad'), 12.5));
    expect(outcome).toMatchObject({ status: 'failed', reference: null, code: 'invalid_request' });
    expect(outcome.status === 'failed' && outcome.reason).toMatch(/amount/);
  });

  it('retries stripe-mock’s 401 (refused credentials) and an unreachable server', async () => {
    const refused = await gatewayAt(stackConfig.stripe.url, 5_000, 'not-a-key')
      .charge(charge())
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GatewayUnavailableError);
    expect((refused as GatewayUnavailableError).message).toMatch(/HTTP 401/);
    const closed = await gatewayAt('http://127.0.0.1:9', 2_000)
      .charge(charge())
      .catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(GatewayUnavailableError);
    expect((closed as GatewayUnavailableError).retryable).toBe(true);
  });
});

describe('the Stripe gateway against what stripe-mock cannot produce (fault proxy: a test double)', () => {
  let proxy: StripeFaultProxy;

  beforeAll(async () => {
    proxy = await new StripeFaultProxy(stackConfig.stripe.url).start();
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('a card decline is a failed payment with the decline code and the PaymentIntent', async () => {
    proxy.onCharge({ kind: 'decline', declineCode: 'insufficient_funds' });
    const outcome = await gatewayAt(proxy.url).charge(charge());
    expect(outcome).toMatchObject({
      status: 'failed',
      code: 'insufficient_funds',
      reason: 'Your card has insufficient funds.',
    });
    expect(outcome.status === 'failed' && outcome.reference).toMatch(/^pi_/);
  });

  it('5xx, 429 and a timeout are retryable errors', async () => {
    proxy.onCharge({ kind: 'status', status: 500 }, { kind: 'status', status: 429 }, { kind: 'hang' });
    const gateway = gatewayAt(proxy.url, 500);
    for (const expected of [/HTTP 500/, /HTTP 429/, /timeout|no answer/i]) {
      const error = await gateway.charge(charge()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GatewayUnavailableError);
      expect((error as Error).message).toMatch(expected);
    }
  });

  it('an answer lost after stripe-mock processed the request is asked again with the same key', async () => {
    const key = uniqueName('lost');
    proxy.onCharge({ kind: 'drop-after-forward' });
    // The stripe client itself retries a connection reset once, with the same Idempotency-Key.
    const outcome = await gatewayAt(proxy.url).charge(charge(key));
    expect(outcome.status).toBe('succeeded');
    const seen = proxy.charges().filter((r) => r.idempotencyKey === key);
    expect(seen.map((r) => r.handling)).toEqual(['drop-after-forward', 'forwarded']);
  });
});

describe('the payment sink on Kafka, PostgreSQL and stripe-mock', () => {
  let config: Config;
  let db: TestDatabase;
  let kafka: Kafka;
  let writer: EventWriter;
  let reader: CommandReader;
  let proxy: StripeFaultProxy;
  let gateway: CountingGateway;
  let worker: SinkWorker;
  const workers: SinkWorker[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('payment');
    config = testConfig({ TOPIC_PARTITIONS: '2', DATABASE_URL: db.url });
    kafka = await createTestTopics(config);
    writer = new EventWriter(kafka, config);
    reader = await new CommandReader(kafka, config).start();
    proxy = await new StripeFaultProxy(config.stripe.url).start();
    gateway = new CountingGateway(gatewayAt(proxy.url, 1_000));
    // No decider here: nobody decides the results, so no reconciler sends them again.
    const sink = createPaymentSink(config, testLogger, {
      gateway,
      autoRegister: true,
      env: {},
      options: { reconcileIntervalMs: 0 },
    });
    worker = await startTestWorker(config, sink);
    workers.push(worker);
  });

  afterAll(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    await reader?.stop();
    await writer?.close();
    await proxy?.close();
    if (kafka) await deleteTestTopics(kafka, config);
    await db?.drop();
  });

  const ledger = (reservationId: string) =>
    db.query<{
      idempotency_key: string;
      kind: string;
      status: string;
      attempts: number;
      gateway_reference: string;
    }>('SELECT * FROM payment_operations WHERE reservation_id = $1 ORDER BY created_at', [reservationId]);

  it('charges a held reservation and puts SUCCEEDED on reservations.commands, keyed by the resource', async () => {
    const r = reservationStory();
    const held = r.held();
    await writer.write([held]);
    const seen = await reader.paymentResult(r.reservationId);
    const key = chargeKey({ reservationId: r.reservationId, holdVersion: 1 });
    expect(seen.key).toBe(r.resourceId);
    expect(seen.command).toMatchObject({
      type: 'RecordPaymentResult',
      commandId: resultCommandId(key),
      reservationId: r.reservationId,
      customerId: r.customer.id,
      outcome: 'SUCCEEDED',
      amount: r.price,
      failureReason: null,
    });
    expect(seen.command.type === 'RecordPaymentResult' && seen.command.paymentReference).toMatch(/^pi_/);
    expect(seen.headers).toMatchObject({ ce_source: '/slotstream/payment', ce_causationid: held.eventId });
    expect(proxy.charges().filter((c) => c.idempotencyKey === key)).toHaveLength(1);
    expect(await ledger(r.reservationId)).toMatchObject([
      { kind: 'charge', status: 'succeeded', attempts: 1 },
    ]);
  });

  it('reports a decline as FAILED at once: no retry, no dead letter', async () => {
    proxy.onCharge({
      kind: 'decline',
      declineCode: 'card_velocity_exceeded',
      message: 'Your card was declined.',
    });
    const r = reservationStory();
    await writer.write([r.held()]);
    const seen = await reader.paymentResult(r.reservationId);
    expect(seen.command).toMatchObject({
      outcome: 'FAILED',
      amount: null,
      failureReason: 'card_velocity_exceeded: Your card was declined.',
    });
    const key = chargeKey({ reservationId: r.reservationId, holdVersion: 1 });
    expect(proxy.charges().filter((c) => c.idempotencyKey === key)).toHaveLength(1);
  });

  it('retries 5xx, 429 and a timeout with the same key until the charge goes through, then reports once', async () => {
    proxy.onCharge({ kind: 'status', status: 502 }, { kind: 'status', status: 429 }, { kind: 'hang' });
    const r = reservationStory();
    await writer.write([r.held()]);
    const seen = await reader.paymentResult(r.reservationId);
    expect(seen.command).toMatchObject({ outcome: 'SUCCEEDED' });
    const key = chargeKey({ reservationId: r.reservationId, holdVersion: 1 });
    const requests = proxy.charges().filter((c) => c.idempotencyKey === key);
    expect(requests.map((c) => c.handling)).toEqual(['status', 'status', 'hang', 'forwarded']);
    expect(await ledger(r.reservationId)).toMatchObject([{ status: 'succeeded', attempts: 4 }]);
    await caughtUp(worker);
    expect(reader.paymentResults(r.reservationId)).toHaveLength(1);
  });

  it('resolves unknown outcomes (stripe-mock processed, the answer lost) with the same key: one result', async () => {
    // Two lost answers per sink attempt (the client retries a reset once itself): the sink must retry.
    proxy.onCharge({ kind: 'drop-after-forward' }, { kind: 'drop-after-forward' });
    const r = reservationStory();
    await writer.write([r.held()]);
    await reader.paymentResult(r.reservationId);
    const key = chargeKey({ reservationId: r.reservationId, holdVersion: 1 });
    const requests = proxy.charges().filter((c) => c.idempotencyKey === key);
    expect(requests.map((c) => c.handling)).toEqual([
      'drop-after-forward',
      'drop-after-forward',
      'forwarded',
    ]);
    expect(requests.every((c) => c.upstreamStatus === 200)).toBe(true); // each one "charged" at stripe-mock
    await caughtUp(worker);
    expect(reader.paymentResults(r.reservationId)).toHaveLength(1);
  });

  it('refunds a captured payment the decider refused, and a confirmed reservation that is cancelled, once each', async () => {
    const late = reservationStory();
    await writer.write([late.held()]);
    const lateResult = (await reader.paymentResult(late.reservationId)).command;
    const paid = reservationStory();
    await writer.write([paid.held()]);
    const paidResult = (await reader.paymentResult(paid.reservationId)).command;
    if (lateResult.type !== 'RecordPaymentResult' || paidResult.type !== 'RecordPaymentResult')
      throw new Error();

    const refused = late.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', {
      commandId: lateResult.commandId,
      currentStatus: 'Expired',
      detail: 'cannot record a payment for a Expired reservation',
    });
    const cancelled = [
      paid.confirmed(paidResult.commandId, paidResult.paymentReference),
      paid.cancelled('Confirmed'),
    ];
    await writer.write([refused, ...cancelled]);
    await writer.write([refused, cancelled[1] as (typeof cancelled)[number]]); // redelivered: nothing more
    await caughtUp(worker);

    for (const [story, result] of [
      [late, lateResult],
      [paid, paidResult],
    ] as const) {
      const key = refundKey({ reservationId: story.reservationId, holdVersion: 1 });
      const refunds = proxy.refunds().filter((x) => x.idempotencyKey === key);
      expect(refunds).toHaveLength(1);
      expect(refunds[0]?.params.get('payment_intent')).toBe(result.paymentReference);
      expect((await ledger(story.reservationId)).map((row) => [row.kind, row.status])).toEqual([
        ['charge', 'succeeded'],
        ['refund', 'succeeded'],
      ]);
    }
  });

  it('replaying every event (a new consumer group) charges nobody again and sends no result again', async () => {
    const results = reader.seen.length;
    const charges = proxy.charges().length;
    const refunds = proxy.refunds().length;
    const again = new CountingGateway(gatewayAt(proxy.url, 1_000));
    const replay = await startTestWorker(
      config,
      createPaymentSink(config, testLogger, {
        gateway: again,
        autoRegister: true,
        env: {},
        options: { reconcileIntervalMs: 0 },
      }),
      {
        groupId: uniqueName('replay'),
      },
    );
    workers.push(replay);
    await caughtUp(replay);
    expect(again.charges).toHaveLength(0);
    expect(again.refunds).toHaveLength(0);
    expect(proxy.charges()).toHaveLength(charges);
    expect(proxy.refunds()).toHaveLength(refunds);
    await new Promise((r) => setTimeout(r, 500)); // anything sent would be on the topic by now
    expect(reader.seen).toHaveLength(results);
    expect(await readTopic(kafka, `${config.kafka.topicPrefix}reservations.events.dlq.payment`)).toHaveLength(
      0,
    );
  });
});
