/**
 * The payment sink's rules without a server: the ledger, the result publisher and the gateway are doubles
 * (test/support/payment-doubles.ts). The gateway double stands in for what stripe-mock cannot produce —
 * declines, timeouts, 5xx, pending and unknown outcomes; the Stripe adapter itself is tested against the
 * real stripe-mock in test/integration/sinks/payment.test.ts.
 */
import { pino } from 'pino';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { DeliveryUnknownError } from '../../../producers/errors.ts';
import {
  GatewayRejectedError,
  GatewayUnavailableError,
  PaymentPendingError,
  RefundFailedError,
} from '../../../sinks/payment/errors.ts';
import { chargeKey, nameBasedUuid, refundKey, resultCommandId } from '../../../sinks/payment/keys.ts';
import { compilePaymentOptions, paymentOptionsFromEnv } from '../../../sinks/payment/options.ts';
import { PaymentSink } from '../../../sinks/payment/sink.ts';
import { chargeRefusal, fromStripeError, outcomeOf } from '../../../sinks/payment/stripe-gateway.ts';
import { describe as describeError } from '../../../sinks/runtime/errors.ts';
import { InMemoryPaymentLedger, RecordingResults, ScriptedGateway } from '../../support/payment-doubles.ts';
import { reservationStory } from '../../support/reservation-events.ts';
import { sinkEvent } from './samples.ts';

const logger = pino({ level: 'silent' });

function bench(options: { now?: number; gateway?: ScriptedGateway } = {}) {
  const gateway = options.gateway ?? new ScriptedGateway();
  const ledger = new InMemoryPaymentLedger();
  const results = new RecordingResults();
  let now = options.now ?? Date.now();
  const sink = new PaymentSink({ gateway, ledger, results, logger, clock: () => now });
  return {
    sink,
    gateway,
    ledger,
    results,
    setNow(ms: number) {
      now = ms;
    },
    apply: (...events: Parameters<typeof sinkEvent>[0][]) =>
      sink.handleBatch(events.map((e, i) => sinkEvent(e, i))),
  };
}

const unavailable = (what = 'Stripe HTTP 500') => new GatewayUnavailableError('payment', what, 'api_error');

describe('keys', () => {
  it('derives a charge and a refund key per hold, and a deterministic result command id', () => {
    const hold = { reservationId: '8c4f2a8e-2f8b-4c55-a3c6-0b9a4c2b1d10', holdVersion: 1 };
    expect(chargeKey(hold)).toBe('slotstream:charge:8c4f2a8e-2f8b-4c55-a3c6-0b9a4c2b1d10:1');
    expect(chargeKey({ ...hold, holdVersion: 3 })).not.toBe(chargeKey(hold));
    expect(refundKey(hold)).not.toBe(chargeKey(hold));
    expect(resultCommandId(chargeKey(hold))).toBe(resultCommandId(chargeKey(hold)));
    expect(resultCommandId(chargeKey(hold))).not.toBe(
      resultCommandId(chargeKey({ ...hold, holdVersion: 3 })),
    );
    expect(resultCommandId(chargeKey(hold))).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('computes RFC 9562 version 5 UUIDs (the RFC example: www.example.com in the DNS namespace)', () => {
    expect(nameBasedUuid('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
});

describe('options', () => {
  it('reads PAYMENT_* and names a malformed key', () => {
    expect(paymentOptionsFromEnv({ PAYMENT_CONCURRENCY: '3', PAYMENT_METHOD: 'pm_card_mastercard' })).toEqual(
      {
        concurrency: 3,
        paymentMethod: 'pm_card_mastercard',
      },
    );
    expect(() => paymentOptionsFromEnv({ PAYMENT_GATEWAY_TIMEOUT_MS: 'soon' })).toThrow(
      /PAYMENT_GATEWAY_TIMEOUT_MS/,
    );
    expect(() => paymentOptionsFromEnv({ PAYMENT_METHOD: '4242 4242' })).toThrow(/PAYMENT_METHOD/);
    expect(compilePaymentOptions({ concurrency: 2 }).paymentMethod).toBe('pm_card_visa');
  });
});

describe('charging a hold', () => {
  it('charges the held price once and reports SUCCEEDED under a command id derived from the key', async () => {
    const b = bench();
    const r = reservationStory();
    const held = r.held();
    await b.apply(held);

    const key = chargeKey({ reservationId: r.reservationId, holdVersion: 1 });
    expect(b.gateway.charges).toHaveLength(1);
    expect(b.gateway.charges[0]).toMatchObject({
      idempotencyKey: key,
      amount: r.price,
      metadata: { reservationId: r.reservationId, resourceId: r.resourceId, customerId: r.customer.id },
    });
    expect(b.results.sent).toHaveLength(1);
    const [{ command, provenance }] = b.results.sent as [(typeof b.results.sent)[number]];
    expect(command).toMatchObject({
      type: 'RecordPaymentResult',
      commandId: resultCommandId(key),
      idempotencyKey: key,
      resourceId: r.resourceId,
      reservationId: r.reservationId,
      customerId: r.customer.id,
      outcome: 'SUCCEEDED',
      amount: r.price,
      failureReason: null,
    });
    expect(command.paymentReference).toMatch(/^pi_/);
    expect(provenance).toEqual({
      source: '/slotstream/payment',
      correlationId: held.causationCommandId,
      causationId: held.eventId,
    });
  });

  it('does nothing for an event seen again: no second charge, no second result', async () => {
    const b = bench();
    const held = reservationStory().held();
    await b.apply(held);
    await b.apply(held);
    await b.apply(held, held);
    expect(b.gateway.charges).toHaveLength(1);
    expect(b.results.sent).toHaveLength(1);
  });

  it('reports a card decline as FAILED with the reason, without retrying it', async () => {
    const gateway = new ScriptedGateway().onCharge({
      answer: {
        status: 'failed',
        reference: 'pi_declined',
        code: 'insufficient_funds',
        reason: 'Your card has insufficient funds.',
      },
    });
    const b = bench({ gateway });
    const r = reservationStory();
    await b.apply(r.held());
    expect(gateway.charges).toHaveLength(1);
    expect(b.results.sent[0]?.command).toMatchObject({
      outcome: 'FAILED',
      paymentReference: 'pi_declined',
      amount: null,
      failureReason: 'insufficient_funds: Your card has insufficient funds.',
    });
    expect(b.sink.stats.declines).toBe(1);
  });

  it('reports a decline whose message holds control characters, without them (a NUL would block the result)', async () => {
    const gateway = new ScriptedGateway().onCharge({
      answer: {
        status: 'failed',
        reference: 'pi_declined',
        code: 'card_declined',
        reason: 'Declined\u0000 by\u001b the bank.\nCall it.',
      },
    });
    const b = bench({ gateway });
    await b.apply(reservationStory().held());
    expect(b.results.sent[0]?.command).toMatchObject({
      outcome: 'FAILED',
      failureReason: 'card_declined: Declined by the bank.\nCall it.',
    });
  });

  it('retries a 5xx or a timeout with the same key and reports once', async () => {
    const gateway = new ScriptedGateway().onCharge(
      { throws: unavailable('Stripe HTTP 503') },
      { throws: unavailable('Stripe no answer, timeout') },
    );
    const b = bench({ gateway });
    const held = reservationStory().held();
    for (let i = 0; i < 2; i++) {
      const error = await b.apply(held).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GatewayUnavailableError);
      expect(describeError(error).retryable).toBe(true);
      expect(b.results.sent).toHaveLength(0);
    }
    await b.apply(held);
    expect(gateway.charges).toHaveLength(3);
    expect(gateway.chargedKeys).toHaveLength(1);
    expect(b.results.sent).toHaveLength(1);
    expect(b.results.sent[0]?.command.outcome).toBe('SUCCEEDED');
    expect([...b.ledger.rows.values()][0]?.attempts).toBe(3);
  });

  it('resolves an unknown outcome with the same key even after the hold expired (never a second key)', async () => {
    const gateway = new ScriptedGateway().onCharge({
      throws: unavailable('Stripe no answer, socket hang up'),
    });
    const now = Date.now();
    const b = bench({ gateway, now });
    const held = reservationStory({ now, holdMs: 60_000 }).held();
    await expect(b.apply(held)).rejects.toBeInstanceOf(GatewayUnavailableError);
    b.setNow(held.holdExpiresAt + 1); // the first attempt may have charged: find out, do not skip
    await b.apply(held);
    expect(gateway.chargedKeys).toEqual([chargeKey({ reservationId: held.reservationId, holdVersion: 1 })]);
    expect(b.results.sent).toHaveLength(1);
  });

  it('asks again about a pending payment by its reference instead of creating another', async () => {
    const gateway = new ScriptedGateway()
      .onCharge({ answer: { status: 'pending', reference: 'pi_processing' } })
      .onLookup({
        answer: {
          status: 'succeeded',
          reference: 'pi_processing',
          amount: { amountMinor: 5_000, currency: 'EUR' },
        },
      });
    const b = bench({ gateway });
    const held = reservationStory().held();
    const error = await b.apply(held).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentPendingError);
    expect(describeError(error).retryable).toBe(true);
    await b.apply(held);
    expect(gateway.charges).toHaveLength(1);
    expect(gateway.lookups).toEqual(['pi_processing']);
    expect(b.results.sent[0]?.command).toMatchObject({
      outcome: 'SUCCEEDED',
      paymentReference: 'pi_processing',
    });
  });

  it('sends the same command again when the broker did not acknowledge it, without charging again', async () => {
    const b = bench();
    b.results.failNext(
      new DeliveryUnknownError('any', new Error('the broker did not acknowledge the batch')),
    );
    const held = reservationStory().held();
    await expect(b.apply(held)).rejects.toBeInstanceOf(DeliveryUnknownError);
    await b.apply(held);
    expect(b.gateway.charges).toHaveLength(1);
    expect(b.results.sent).toHaveLength(1);
    expect(b.results.sent[0]?.command.commandId).toBe(
      resultCommandId(chargeKey({ reservationId: held.reservationId, holdVersion: 1 })),
    );
  });

  it('does not charge a hold that expired, or expires within the margin, before any attempt', async () => {
    const now = Date.now();
    const b = bench({ now });
    const expired = reservationStory({ now: now - 120_000, holdMs: 60_000 }).held();
    const closeCall = reservationStory({ now: now - 1_000, holdMs: 1_500 }).held();
    await b.apply(expired, closeCall);
    expect(b.gateway.charges).toHaveLength(0);
    expect(b.results.sent).toHaveLength(0);
    expect(b.sink.stats.skipped).toBe(2);
    await b.apply(expired); // and it stays skipped
    expect(b.gateway.charges).toHaveLength(0);
  });

  it('does not charge a hold that a later event of the same batch already ended', async () => {
    const b = bench();
    const r = reservationStory();
    await b.apply(r.held(), r.cancelled('Pending'));
    expect(b.gateway.charges).toHaveLength(0);
    expect(b.results.sent).toHaveLength(0);
  });

  it('reports a free hold SUCCEEDED without calling the gateway', async () => {
    const b = bench();
    const r = reservationStory({ price: { amountMinor: 0, currency: 'EUR' } });
    await b.apply(r.held());
    expect(b.gateway.charges).toHaveLength(0);
    expect(b.results.sent[0]?.command).toMatchObject({
      outcome: 'SUCCEEDED',
      paymentReference: null,
      amount: { amountMinor: 0, currency: 'EUR' },
    });
  });

  it('charges a reopened reservation under a key of its own', async () => {
    const b = bench();
    const r = reservationStory();
    await b.apply(r.held());
    await b.apply(r.paymentFailed());
    await b.apply(r.reopened());
    expect(b.gateway.chargedKeys).toEqual([
      chargeKey({ reservationId: r.reservationId, holdVersion: 1 }),
      chargeKey({ reservationId: r.reservationId, holdVersion: 3 }),
    ]);
    expect(new Set(b.results.sent.map((s) => s.command.commandId)).size).toBe(2);
  });

  it('keeps each reservation in order and lets the others through when one fails', async () => {
    const gateway = new ScriptedGateway().onCharge({ throws: unavailable() });
    const b = bench({ gateway });
    const events = [reservationStory().held(), reservationStory().held(), reservationStory().held()];
    await expect(b.apply(...events)).rejects.toBeInstanceOf(GatewayUnavailableError);
    expect(b.results.sent).toHaveLength(2);
    await b.apply(...events);
    expect(b.results.sent).toHaveLength(3);
    expect(gateway.chargedKeys).toHaveLength(3);
  });
});

describe('refunds', () => {
  async function paid() {
    const b = bench();
    const r = reservationStory();
    await b.apply(r.held());
    const result = b.results.sent[0]?.command;
    if (!result) throw new Error('no result');
    return { b, r, result };
  }

  it('refunds a captured payment whose result the decider refused (the hold had expired)', async () => {
    const { b, r, result } = await paid();
    const refused = r.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', {
      commandId: result.commandId,
      currentStatus: 'Expired',
      detail: 'cannot record a payment for a Expired reservation',
    });
    await b.apply(refused);
    expect(b.gateway.refunds).toHaveLength(1);
    expect(b.gateway.refunds[0]).toMatchObject({
      idempotencyKey: refundKey({ reservationId: r.reservationId, holdVersion: 1 }),
      chargeReference: result.paymentReference,
    });
    await b.apply(refused); // replayed: refunded once
    expect(b.gateway.refunds).toHaveLength(1);
  });

  it('refunds on AMOUNT_MISMATCH, not on DUPLICATE, and never a failed payment', async () => {
    const { b, r, result } = await paid();
    await b.apply(r.rejected('RecordPaymentResult', 'DUPLICATE', { commandId: result.commandId }));
    expect(b.gateway.refunds).toHaveLength(0);
    await b.apply(r.rejected('RecordPaymentResult', 'AMOUNT_MISMATCH', { commandId: result.commandId }));
    expect(b.gateway.refunds).toHaveLength(1);

    const declined = bench({
      gateway: new ScriptedGateway().onCharge({
        answer: { status: 'failed', reference: null, code: 'card_declined', reason: 'declined' },
      }),
    });
    const s = reservationStory();
    await declined.apply(s.held());
    const failedResult = declined.results.sent[0]?.command;
    await declined.apply(
      s.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', { commandId: failedResult?.commandId }),
    );
    expect(declined.gateway.refunds).toHaveLength(0);
  });

  it('refunds the charge that confirmed a reservation when it is cancelled, once', async () => {
    const { b, r, result } = await paid();
    await b.apply(r.confirmed(result.commandId, result.paymentReference));
    const cancelled = r.cancelled('Confirmed');
    await b.apply(cancelled);
    await b.apply(cancelled);
    expect(b.gateway.refunds).toHaveLength(1);
    expect(b.gateway.refunds[0]?.chargeReference).toBe(result.paymentReference);
  });

  it('keeps the payment when a result sent again is refused because that payment confirmed the reservation', async () => {
    // A crash after the broker took the result but before the ledger noted it: the result goes out again,
    // and on a busy resource the decider may have forgotten its id (its idempotency memory is bounded).
    const { b, r, result } = await paid();
    await b.apply(r.confirmed(result.commandId, result.paymentReference));
    await b.apply(
      r.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', {
        commandId: result.commandId,
        currentStatus: 'Confirmed',
      }),
    );
    expect(b.gateway.refunds).toHaveLength(0);
  });

  it('does not refund a Pending reservation that is cancelled (nothing was captured for it)', async () => {
    const b = bench();
    const r = reservationStory();
    await b.apply(r.held());
    await b.apply(r.cancelled('Pending'));
    expect(b.gateway.refunds).toHaveLength(0);
  });

  it('after cancel → reopen → pay → cancel, refunds each confirmed charge once', async () => {
    const { b, r, result } = await paid();
    await b.apply(r.confirmed(result.commandId, result.paymentReference));
    await b.apply(r.cancelled('Confirmed'));
    await b.apply(r.reopened());
    const second = b.results.sent[1]?.command;
    await b.apply(r.confirmed(second?.commandId, second?.paymentReference));
    await b.apply(r.cancelled('Confirmed'));
    expect(b.gateway.refunds.map((x) => x.idempotencyKey)).toEqual([
      refundKey({ reservationId: r.reservationId, holdVersion: 1 }),
      refundKey({ reservationId: r.reservationId, holdVersion: 4 }), // held 1, confirmed 2, cancelled 3, reopened 4
    ]);
  });

  it('retries a refund the gateway could not take now, and dead-letters one it refused for good', async () => {
    const { b, r, result } = await paid();
    b.gateway.onRefund(
      { throws: unavailable('Stripe HTTP 429, rate_limit') },
      { answer: { status: 'failed', reference: 're_failed', reason: 'expired_or_canceled_card' } },
    );
    const refused = r.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', { commandId: result.commandId });
    await expect(b.apply(refused)).rejects.toBeInstanceOf(GatewayUnavailableError);
    const error = await b.apply(refused).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefundFailedError);
    expect(describeError(error).retryable).toBe(false);
  });
});

describe('Stripe errors, converted where they enter', () => {
  const generate = (raw: Record<string, unknown>) =>
    (Stripe.errors.StripeError as unknown as { generate(raw: unknown): Error }).generate(raw);

  it('turns a card decline and an invalid request into a failed outcome, never an error', () => {
    const declined = generate({
      statusCode: 402,
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
      payment_intent: { id: 'pi_1' },
    });
    expect(chargeRefusal(declined)).toEqual({
      status: 'failed',
      reference: 'pi_1',
      code: 'insufficient_funds',
      reason: 'Your card has insufficient funds.',
    });
    const tooSmall = generate({
      statusCode: 400,
      type: 'invalid_request_error',
      code: 'amount_too_small',
      message: 'Amount must be at least €0.50 eur',
    });
    expect(chargeRefusal(tooSmall)).toMatchObject({ status: 'failed', code: 'amount_too_small' });
  });

  it('retries network errors, 5xx, 409, 429, refused credentials and Stripe-Should-Retry', () => {
    const cases = [
      new Stripe.errors.StripeConnectionError({
        message: 'Request aborted due to timeout being reached (10000ms)',
      }),
      generate({ statusCode: 500, type: 'api_error', message: 'internal' }),
      generate({ statusCode: 503, type: 'api_error', message: 'unavailable' }),
      generate({
        statusCode: 409,
        type: 'invalid_request_error',
        code: 'idempotency_key_in_use',
        message: 'in use',
      }),
      generate({ statusCode: 429, type: 'invalid_request_error', code: 'rate_limit', message: 'slow down' }),
      generate({ statusCode: 401, type: 'invalid_request_error', message: 'bad key' }),
      generate({
        statusCode: 400,
        type: 'invalid_request_error',
        code: 'lock_timeout',
        message: 'locked',
        headers: { 'stripe-should-retry': 'true' },
      }),
    ];
    for (const error of cases) {
      expect(chargeRefusal(error)).toBeUndefined();
      const converted = fromStripeError('payment', 'charge', error);
      expect(converted, String(error)).toBeInstanceOf(GatewayUnavailableError);
      expect(describeError(converted).retryable).toBe(true);
    }
  });

  it('dead-letters an idempotency key reused with other parameters, and passes foreign errors through', () => {
    const reused = generate({
      statusCode: 400,
      type: 'idempotency_error',
      message: 'Keys for idempotent requests can only be used with the same parameters',
    });
    expect(chargeRefusal(reused)).toBeUndefined();
    expect(fromStripeError('payment', 'charge', reused)).toBeInstanceOf(GatewayRejectedError);
    const bug = new TypeError('x is undefined');
    expect(fromStripeError('payment', 'charge', bug)).toBe(bug);
  });

  it('maps PaymentIntent statuses to outcomes', () => {
    const intent = (status: string, extra: Record<string, unknown> = {}) =>
      ({
        id: 'pi_9',
        status,
        amount: 1_000,
        amount_received: 0,
        currency: 'eur',
        last_payment_error: null,
        livemode: false,
        ...extra,
      }) as unknown as Stripe.PaymentIntent;
    expect(outcomeOf(intent('succeeded', { amount_received: 1_000 }))).toEqual({
      status: 'succeeded',
      reference: 'pi_9',
      amount: { amountMinor: 1_000, currency: 'EUR' },
    });
    expect(outcomeOf(intent('processing'))).toEqual({ status: 'pending', reference: 'pi_9' });
    expect(
      outcomeOf(
        intent('requires_payment_method', {
          last_payment_error: { code: 'card_declined', decline_code: 'generic_decline', message: 'declined' },
        }),
      ),
    ).toEqual({ status: 'failed', reference: 'pi_9', code: 'generic_decline', reason: 'declined' });
    expect(outcomeOf(intent('requires_action'))).toMatchObject({ status: 'failed', code: 'requires_action' });
  });
});
