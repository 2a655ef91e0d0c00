/**
 * The reconciler's rules without a server: which results it sends again and when, what it sends, and what
 * it does with a DUPLICATE whose original decision the ledger never saw. The ledger, the publisher, the
 * sink's progress on the events topic and the decisions "on the topic" are doubles
 * (test/support/payment-doubles.ts); test/integration/sinks/payment-reconcile.test.ts runs it for real.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ProducerUnavailableError } from '../../../producers/errors.ts';
import type { Event } from '../../../schemas/generated/types.ts';
import { resultDecisionOf } from '../../../sinks/payment/decisions.ts';
import { chargeKey, refundKey, resultCommandId } from '../../../sinks/payment/keys.ts';
import { paymentOptionsFromEnv } from '../../../sinks/payment/options.ts';
import { PaymentSink } from '../../../sinks/payment/sink.ts';
import {
  InMemoryDecisionLookup,
  InMemoryPaymentLedger,
  RecordingResults,
  ScriptedGateway,
  ScriptedProgress,
} from '../../support/payment-doubles.ts';
import { type ReservationStory, reservationStory } from '../../support/reservation-events.ts';
import { sinkEvent } from './samples.ts';

const logger = pino({ level: 'silent' });
const GRACE = 60_000;

function bench(
  options: { maxResends?: number; limit?: number; concurrency?: number; gateway?: ScriptedGateway } = {},
) {
  const gateway = options.gateway ?? new ScriptedGateway();
  const ledger = new InMemoryPaymentLedger();
  const results = new RecordingResults();
  const progress = new ScriptedProgress();
  const decisions = new InMemoryDecisionLookup();
  let now = Date.now();
  ledger.now = () => now;
  const sink = new PaymentSink({
    gateway,
    ledger,
    results,
    logger,
    clock: () => now,
    reconcile: { progress, decisions },
    options: {
      reconcileGraceMs: GRACE,
      reconcileMaxResends: options.maxResends ?? 10,
      reconcileLimit: options.limit ?? 500,
      concurrency: options.concurrency ?? 8,
    },
  });
  const reconciler = sink.reconciler;
  if (!reconciler) throw new Error('no reconciler');
  return {
    sink,
    gateway,
    ledger,
    results,
    progress,
    decisions,
    reconcile: () => reconciler.runOnce(),
    advance(ms: number) {
      now += ms;
    },
    apply: (...events: Event[]) => sink.handleBatch(events.map((e, i) => sinkEvent(e, i))),
    row: (r: ReservationStory, holdVersion = 1) =>
      ledger.rows.get(chargeKey({ reservationId: r.reservationId, holdVersion })),
    /** Results sent (and re-sent) for a reservation. */
    sentFor: (r: ReservationStory) => results.sent.filter((s) => s.command.reservationId === r.reservationId),
  };
}

type Bench = ReturnType<typeof bench>;

/** A hold charged and its result acknowledged, but never decided (the write did not happen). */
async function lostResult(b: Bench) {
  const r = reservationStory();
  await b.apply(r.held());
  const first = b.sentFor(r)[0];
  if (!first) throw new Error('no result');
  return { r, first };
}

describe('which events decide a payment result', () => {
  it('ReservationConfirmed, ReservationPaymentFailed and every refusal of a RecordPaymentResult, DUPLICATE apart', () => {
    const r = reservationStory();
    const id = 'c0ffee00-0000-4000-8000-000000000001';
    expect(resultDecisionOf(r.confirmed(id))).toMatchObject({ commandId: id, kind: 'confirmed' });
    expect(resultDecisionOf(r.paymentFailed(id))).toMatchObject({ commandId: id, kind: 'payment_failed' });
    for (const reason of [
      'ILLEGAL_TRANSITION',
      'UNKNOWN_RESERVATION',
      'UNKNOWN_RESOURCE',
      'NOT_OWNER',
      'AMOUNT_MISMATCH',
    ] as const) {
      expect(resultDecisionOf(r.rejected('RecordPaymentResult', reason, { commandId: id }))?.kind).toBe(
        'rejected',
      );
    }
    expect(resultDecisionOf(r.rejected('RecordPaymentResult', 'DUPLICATE', { commandId: id }))?.kind).toBe(
      'duplicate',
    );
    expect(resultDecisionOf(r.rejected('CancelReservation', 'ILLEGAL_TRANSITION'))).toBeUndefined();
    expect(resultDecisionOf(r.held())).toBeUndefined();
    expect(resultDecisionOf(r.cancelled('Pending'))).toBeUndefined();
  });
});

describe('the ledger records decisions', () => {
  it('records the first decision; a DUPLICATE never replaces one, a real decision replaces a DUPLICATE', async () => {
    const b = bench();
    const { r, first } = await lostResult(b);
    const confirmed = r.confirmed(first.command.commandId);
    await b.apply(confirmed);
    expect(b.row(r)).toMatchObject({
      resultDecision: 'confirmed',
      resultDecisionEventId: confirmed.eventId,
      confirmedEventId: confirmed.eventId,
    });
    expect(b.row(r)?.resultDecidedAt).not.toBeNull();
    await b.apply(r.rejected('RecordPaymentResult', 'DUPLICATE', { commandId: first.command.commandId }));
    expect(b.row(r)).toMatchObject({ resultDecision: 'confirmed', resultDecisionEventId: confirmed.eventId });

    const other = await lostResult(b);
    const duplicate = other.r.rejected('RecordPaymentResult', 'DUPLICATE', {
      commandId: other.first.command.commandId,
    });
    await b.apply(duplicate);
    expect(b.row(other.r)).toMatchObject({
      resultDecision: 'duplicate',
      resultDecisionEventId: duplicate.eventId,
    });
    const refused = other.r.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', {
      commandId: other.first.command.commandId,
    });
    await b.apply(refused);
    expect(b.row(other.r)).toMatchObject({
      resultDecision: 'rejected',
      resultDecisionEventId: refused.eventId,
    });
    expect(b.gateway.refunds).toHaveLength(1); // the refusal, not the DUPLICATE, refunded it
  });

  it('records a payment failure as the decision of a FAILED result', async () => {
    const b = bench({
      gateway: new ScriptedGateway().onCharge({
        answer: { status: 'failed', reference: 'pi_x', code: 'card_declined', reason: 'declined' },
      }),
    });
    const { r, first } = await lostResult(b);
    await b.apply(r.paymentFailed(first.command.commandId));
    expect(b.row(r)?.resultDecision).toBe('payment_failed');
  });
});

describe('the reconciler sends again what was never decided', () => {
  it('sends the very same result again once it is older than the grace period, and not once it is decided', async () => {
    const b = bench();
    const { r, first } = await lostResult(b);

    b.advance(GRACE - 1_000);
    expect(await b.reconcile()).toMatchObject({ waiting: false, resent: 0 });
    b.advance(2_000);
    expect(await b.reconcile()).toMatchObject({ resent: 1, failed: 0 });
    const sent = b.sentFor(r);
    expect(sent).toHaveLength(2);
    const again = sent[1] as (typeof sent)[number];
    expect(again.command.commandId).toBe(
      resultCommandId(chargeKey({ reservationId: r.reservationId, holdVersion: 1 })),
    );
    expect({ ...again.command, acceptedAt: 0 }).toEqual({ ...first.command, acceptedAt: 0 });
    expect(again.provenance).toEqual(first.provenance);
    expect(b.row(r)).toMatchObject({ resultResends: 1 });
    expect(b.sink.stats.resultsResent).toBe(1);

    // Sent again just now: not before another grace period.
    b.advance(GRACE / 2);
    expect((await b.reconcile()).resent).toBe(0);
    // Decided: never again.
    await b.apply(r.confirmed(again.command.commandId));
    b.advance(10 * GRACE);
    expect((await b.reconcile()).resent).toBe(0);
    expect(b.sentFor(r)).toHaveLength(2);
  });

  it('sends nothing while the sink has not read the events topic up to its mark, then measures from that mark', async () => {
    const b = bench();
    const { r } = await lostResult(b);
    b.progress.caughtUp = false;
    b.advance(GRACE + 1_000); // mark taken here
    expect(await b.reconcile()).toMatchObject({ waiting: true, resent: 0 });
    b.advance(10 * GRACE);
    expect(await b.reconcile()).toMatchObject({ waiting: true, resent: 0 });
    expect(b.progress.marks).toBe(1); // the same mark is waited for

    // A result sent after the mark is too young for it, even though it is old by now.
    const late = await lostResult(b);
    b.advance(2 * GRACE);
    b.progress.caughtUp = true;
    expect(await b.reconcile()).toMatchObject({ waiting: false, resent: 1 });
    expect(b.sentFor(r)).toHaveLength(2);
    expect(b.sentFor(late.r)).toHaveLength(1);
    // The next pass takes a new mark: now the late one is due.
    expect(await b.reconcile()).toMatchObject({ resent: 1 });
    expect(b.progress.marks).toBe(2);
    expect(b.sentFor(late.r)).toHaveLength(2);
  });

  it('sends a settled result that was never recorded (its event given up), and never a skipped or pending charge', async () => {
    const b = bench();
    const r = reservationStory();
    b.results.failNext(new Error('kafka away'));
    await expect(b.apply(r.held())).rejects.toThrow('kafka away');
    expect(b.row(r)).toMatchObject({ status: 'succeeded', resultRecordedAt: null });

    const expired = reservationStory({ holdMs: 1_000 });
    b.advance(5_000);
    await b.apply(expired.held()); // not charged: skipped
    expect(b.row(expired)?.status).toBe('skipped');
    const pending = reservationStory();
    b.gateway.onCharge({ answer: { status: 'pending', reference: 'pi_slow' } });
    await expect(b.apply(pending.held())).rejects.toThrow(/not final/);
    expect(b.row(pending)?.status).toBe('pending');

    b.advance(GRACE + 1_000);
    expect((await b.reconcile()).resent).toBe(1);
    expect(b.sentFor(r)).toHaveLength(1);
    expect(b.row(r)?.resultRecordedAt).not.toBeNull();
    expect(b.sentFor(expired)).toHaveLength(0);
    expect(b.sentFor(pending)).toHaveLength(0);
  });

  it('stops a pass at the first result Kafka would not take, and sends it at the next', async () => {
    const b = bench({ concurrency: 1 });
    const lost = [await lostResult(b), await lostResult(b), await lostResult(b)];
    b.advance(GRACE + 1_000);
    b.results.failNext(new ProducerUnavailableError('x', 1_000));
    expect(await b.reconcile()).toMatchObject({ resent: 0, failed: 3 });
    for (const { r } of lost) expect(b.row(r)?.resultResends).toBe(0);
    expect(await b.reconcile()).toMatchObject({ resent: 3, failed: 0 });
  });

  it('sends at most `reconcileLimit` per pass, the oldest first, and gives up after `reconcileMaxResends`', async () => {
    const b = bench({ limit: 2, maxResends: 2 });
    const lost = [];
    for (let i = 0; i < 3; i++) {
      lost.push(await lostResult(b));
      b.advance(1_000);
    }
    b.advance(GRACE);
    expect((await b.reconcile()).resent).toBe(2);
    expect(lost.map(({ r }) => b.row(r)?.resultResends)).toEqual([1, 1, 0]);
    expect((await b.reconcile()).resent).toBe(1);
    b.advance(GRACE + 1_000);
    expect((await b.reconcile()).resent).toBe(2);
    b.advance(GRACE + 1_000);
    expect(await b.reconcile()).toMatchObject({ resent: 1, abandoned: 3 });
    b.advance(GRACE + 1_000);
    expect(await b.reconcile()).toMatchObject({ resent: 0, abandoned: 3 });
    expect(lost.map(({ r }) => b.sentFor(r).length)).toEqual([3, 3, 3]);
  });
});

describe('a DUPLICATE whose original decision the ledger never saw', () => {
  /** A captured charge whose result the decider answered with a DUPLICATE only (the original missed). */
  async function duplicateOnly(b: Bench) {
    const { r, first } = await lostResult(b);
    await b.apply(r.rejected('RecordPaymentResult', 'DUPLICATE', { commandId: first.command.commandId }));
    return { r, commandId: first.command.commandId };
  }

  it('finds the confirmation on the events topic and keeps the payment', async () => {
    const b = bench();
    const { r, commandId } = await duplicateOnly(b);
    const confirmed = r.confirmed(commandId);
    b.decisions.events.push(confirmed);
    expect(await b.reconcile()).toMatchObject({ duplicatesResolved: 1, duplicatesUnresolved: 0 });
    expect(b.row(r)).toMatchObject({ resultDecision: 'confirmed', confirmedEventId: confirmed.eventId });
    expect(b.gateway.refunds).toHaveLength(0);
    // A later refusal of the same result (sent again after the decider forgot it) keeps it too.
    await b.apply(
      r.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', { commandId, currentStatus: 'Confirmed' }),
    );
    expect(b.gateway.refunds).toHaveLength(0);
    expect((await b.reconcile()).duplicatesResolved).toBe(0);
  });

  it('finds the refusal on the events topic and refunds the charge, once', async () => {
    const b = bench();
    const { r, commandId } = await duplicateOnly(b);
    b.decisions.events.push(
      r.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', { commandId, currentStatus: 'Expired' }),
    );
    expect((await b.reconcile()).duplicatesResolved).toBe(1);
    expect(b.gateway.refunds.map((x) => x.idempotencyKey)).toEqual([
      refundKey({ reservationId: r.reservationId, holdVersion: 1 }),
    ]);
    expect(b.row(r)?.resultDecision).toBe('rejected');
    await b.reconcile();
    expect(b.gateway.refunds).toHaveLength(1);
  });

  it('keeps a confirmed payment when the topic holds its confirmation and a later refusal', async () => {
    const b = bench();
    const { r, commandId } = await duplicateOnly(b);
    b.decisions.events.push(
      r.confirmed(commandId),
      r.rejected('RecordPaymentResult', 'ILLEGAL_TRANSITION', { commandId, currentStatus: 'Confirmed' }),
    );
    await b.reconcile();
    expect(b.gateway.refunds).toHaveLength(0);
    expect(b.row(r)?.resultDecision).toBe('confirmed');
  });

  it('never refunds blindly when the original decision cannot be found, and does not look again and again', async () => {
    const b = bench();
    const { r } = await duplicateOnly(b);
    expect(await b.reconcile()).toMatchObject({ duplicatesResolved: 0, duplicatesUnresolved: 1 });
    expect(await b.reconcile()).toMatchObject({ duplicatesUnresolved: 0 });
    expect(b.decisions.asked).toHaveLength(1);
    expect(b.gateway.refunds).toHaveLength(0);
    expect(b.row(r)?.resultDecision).toBe('duplicate');
    expect(b.sink.stats.duplicatesUnresolved).toBe(1);
  });

  it('does not look up what holds no money: a free hold or a failed payment', async () => {
    const b = bench({
      gateway: new ScriptedGateway().onCharge({
        answer: { status: 'failed', reference: 'pi_x', code: 'card_declined', reason: 'declined' },
      }),
    });
    await duplicateOnly(b);
    const free = reservationStory({ price: { amountMinor: 0, currency: 'EUR' } });
    await b.apply(free.held());
    const freeResult = b.sentFor(free)[0]?.command.commandId;
    await b.apply(free.rejected('RecordPaymentResult', 'DUPLICATE', { commandId: freeResult }));
    await b.reconcile();
    expect(b.decisions.asked).toHaveLength(0);
  });
});

describe('reconciler options', () => {
  it('reads PAYMENT_RECONCILE_* and names a malformed key', () => {
    expect(
      paymentOptionsFromEnv({
        PAYMENT_RECONCILE_INTERVAL_MS: '0',
        PAYMENT_RECONCILE_GRACE_MS: '120000',
        PAYMENT_RECONCILE_LIMIT: '50',
        PAYMENT_RECONCILE_MAX_RESENDS: '3',
      }),
    ).toEqual({
      reconcileIntervalMs: 0,
      reconcileGraceMs: 120_000,
      reconcileLimit: 50,
      reconcileMaxResends: 3,
    });
    expect(() => paymentOptionsFromEnv({ PAYMENT_RECONCILE_LIMIT: '0' })).toThrow(/PAYMENT_RECONCILE_LIMIT/);
    expect(() => paymentOptionsFromEnv({ PAYMENT_RECONCILE_GRACE_MS: 'a minute' })).toThrow(
      /PAYMENT_RECONCILE_GRACE_MS/,
    );
  });
});
