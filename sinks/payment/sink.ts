/**
 * The payment sink: takes the payment for every hold and reports it back to the decider; refunds what was
 * captured but cannot stand.
 *
 * - ReservationHeld / ReservationReopened with a price → one charge on the gateway, idempotency key
 *   `slotstream:charge:<reservationId>:<holdVersion>` (./keys.ts), then a RecordPaymentResult (SUCCEEDED
 *   with the captured amount and the payment's reference, or FAILED with the gateway's reason) on
 *   `reservations.commands`, keyed by the resource id, with a command id derived from the key. A free hold
 *   (price 0) is reported SUCCEEDED without a gateway call. A hold that has expired (or will within
 *   `chargeMarginMs`), or that a later event of the same batch already ended, is not charged — unless an
 *   earlier attempt may have reached the gateway, whose outcome must then be found out with the same key.
 * - ReservationRejected of one of our SUCCEEDED results (the hold expired or was cancelled meanwhile, the
 *   amount did not match, …; DUPLICATE excepted) → refund that charge — unless that very charge confirmed
 *   the reservation (the refusal is then of our result sent again after a crash, once the decider's
 *   bounded idempotency memory had forgotten it).
 * - ReservationConfirmed → remember which charge confirmed the reservation;
 *   ReservationCancelled with previousStatus Confirmed → refund it.
 *   Refunds use `slotstream:refund:<reservationId>:<holdVersion>`: a charge is refunded at most once.
 * - Every decision about one of our results (ReservationConfirmed, ReservationPaymentFailed,
 *   ReservationRejected of a RecordPaymentResult, DUPLICATE included; ./decisions.ts) is recorded in the
 *   ledger, one UPDATE each; the reconciler (./reconciler.ts) sends again what was recorded as sent but
 *   never decided.
 *
 * Every operation goes through the ledger (./ledger.ts) before and after the gateway call, so a retried or
 * replayed event never charges or refunds twice, and a result is sent again only under its original
 * command id. Errors: see ./stripe-gateway.ts for the gateway's classification; a decline is a result,
 * not an error.
 */

import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { forEachLimited } from '../../common/for-each-limited.ts';
import { CommandBuilder } from '../../producers/index.ts';
import type {
  Event,
  ReservationCancelled,
  ReservationHeld,
  ReservationRejected,
  ReservationReopened,
} from '../../schemas/generated/types.ts';
import { describe } from '../runtime/errors.ts';
import type { Sink, SinkEvent } from '../runtime/types.ts';
import { resultDecisionOf } from './decisions.ts';
import { PaymentPendingError, RefundFailedError } from './errors.ts';
import type { PaymentGateway } from './gateway.ts';
import { chargeKey, refundKey, resultCommandId } from './keys.ts';
import { type Operation, type PaymentLedger, PgPaymentLedger } from './ledger.ts';
import {
  compilePaymentOptions,
  type PaymentSinkOptions,
  paymentOptionsFromEnv,
  paymentRuntimeDefaults,
} from './options.ts';
import { GroupProgress, type SinkProgress } from './progress.ts';
import { Reconciler, type ReconcilerStats } from './reconciler.ts';
import { KafkaResultPublisher, paymentResult, type ResultPublisher } from './results.ts';
import { StripeGateway } from './stripe-gateway.ts';
import { type DecisionLookup, TopicDecisionLookup } from './topic-decisions.ts';

export interface PaymentSinkDeps {
  readonly gateway: PaymentGateway;
  readonly ledger: PaymentLedger;
  readonly results: ResultPublisher;
  readonly logger: Logger;
  /**
   * What the reconciler needs (./reconciler.ts): how far the sink has read the events topic, and a way to
   * find a decision on it. Without them, no reconciler runs (unit tests of the rules).
   */
  readonly reconcile?: { readonly progress: SinkProgress; readonly decisions: DecisionLookup };
  readonly options?: Partial<PaymentSinkOptions>;
  /** The sink's clock, epoch ms (hold expiry checks). @default Date.now */
  readonly clock?: () => number;
  /** @default 'payment' */
  readonly name?: string;
}

/** What the sink did since it started (logs, tests, `slotstream_sink_actions_total`). */
export type PaymentStats = ReconcilerStats & {
  charges: number;
  declines: number;
  freeHolds: number;
  skipped: number;
  resultsSent: number;
  refunds: number;
};

type HoldEvent = ReservationHeld | ReservationReopened;

/** The payment sink. */
export class PaymentSink implements Sink {
  readonly name: string;
  readonly runtimeDefaults = paymentRuntimeDefaults;
  readonly options: PaymentSinkOptions;
  readonly stats: PaymentStats = {
    charges: 0,
    declines: 0,
    freeHolds: 0,
    skipped: 0,
    resultsSent: 0,
    refunds: 0,
    resultsResent: 0,
    duplicatesResolved: 0,
    duplicatesUnresolved: 0,
  };
  /** Sends again the results that were never decided; absent without `deps.reconcile`. */
  readonly reconciler: Reconciler | undefined;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly commands: CommandBuilder;

  constructor(private readonly deps: PaymentSinkDeps) {
    this.name = deps.name ?? 'payment';
    this.options = compilePaymentOptions(deps.options);
    this.logger = deps.logger.child({ component: 'payment-sink' });
    this.clock = deps.clock ?? Date.now;
    this.commands = new CommandBuilder({ clock: this.clock });
    this.reconciler = deps.reconcile
      ? new Reconciler({
          ledger: deps.ledger,
          results: deps.results,
          progress: deps.reconcile.progress,
          decisions: deps.reconcile.decisions,
          applyDecision: (event) => this.applyDecision(event),
          logger: deps.logger,
          options: this.options,
          stats: this.stats,
          clock: this.clock,
        })
      : undefined;
  }

  /** Opens the ledger and the producer, then starts the reconciler (its first pass runs in the background). */
  async start(): Promise<void> {
    await this.deps.ledger.start();
    await this.deps.results.start();
    this.reconciler?.start();
  }

  async close(): Promise<void> {
    await this.reconciler?.stop().catch(() => undefined);
    await Promise.allSettled([this.deps.results.close(), this.deps.ledger.close()]);
  }

  /**
   * Events are grouped by reservation: each group in order, up to `concurrency` groups at a time. A group
   * stops at its first failure; the batch then fails with a retryable error if any group had one (the whole
   * batch is retried, and what was done is skipped through the ledger), else with the first refusal (the
   * runtime isolates it).
   */
  async handleBatch(events: readonly SinkEvent[]): Promise<void> {
    const groups = new Map<string, SinkEvent[]>();
    for (const e of events) {
      const id = 'reservationId' in e.event ? e.event.reservationId : undefined;
      if (id === undefined) continue;
      const group = groups.get(id);
      if (group) group.push(e);
      else groups.set(id, [e]);
    }
    const failures: unknown[] = [];
    await forEachLimited([...groups.values()], this.options.concurrency, async (group) => {
      for (const [i, e] of group.entries()) {
        try {
          await this.apply(e, group.slice(i + 1));
        } catch (error) {
          failures.push(error);
          return;
        }
      }
    });
    if (failures.length === 0) return;
    throw failures.find((f) => describe(f).retryable) ?? failures[0];
  }

  private async apply(e: SinkEvent, later: readonly SinkEvent[]): Promise<void> {
    const event = e.event;
    switch (event.type) {
      case 'ReservationHeld':
      case 'ReservationReopened':
        return this.charge(e, event, later);
      case 'ReservationRejected':
      case 'ReservationConfirmed':
      case 'ReservationPaymentFailed':
        return this.applyDecision(event);
      case 'ReservationCancelled':
        if (event.previousStatus === 'Confirmed') return this.refundCancelled(e, event);
        return;
      default:
        return;
    }
  }

  private async charge(e: SinkEvent, hold: HoldEvent, later: readonly SinkEvent[]): Promise<void> {
    const { ledger, gateway } = this.deps;
    const key = chargeKey({ reservationId: hold.reservationId, holdVersion: hold.reservationVersion });
    let op = await ledger.open({
      key,
      kind: 'charge',
      reservationId: hold.reservationId,
      resourceId: hold.resourceId,
      customerId: hold.customer.id,
      holdVersion: hold.reservationVersion,
      amount: hold.price,
      causeEventId: hold.eventId,
      resultCommandId: resultCommandId(key),
      refundOf: null,
      refundReason: null,
      correlationId: e.attributes.correlationId,
    });
    if (op.status === 'skipped' || op.resultRecordedAt !== null) return;
    const log = this.logger.child({ reservationId: hold.reservationId, key });

    if (op.status === 'pending' && op.attempts === 0) {
      const skip = this.reasonNotToCharge(hold, later);
      if (skip !== undefined) {
        await ledger.settle(key, { status: 'skipped', reason: skip });
        this.stats.skipped += 1;
        log.debug({ reason: skip }, 'hold not charged');
        return;
      }
      if (hold.price.amountMinor === 0) {
        op = await ledger.settle(key, { status: 'succeeded', reference: null, settled: hold.price });
        this.stats.freeHolds += 1;
      }
    }

    if (op.status === 'pending') {
      await ledger.attempt(key);
      const outcome = op.gatewayReference
        ? await gateway.chargeStatus(op.gatewayReference)
        : await gateway.charge({
            idempotencyKey: key,
            amount: hold.price,
            description: `${hold.resourceName} × ${hold.quantity}, reservation ${hold.reservationId}`,
            metadata: {
              reservationId: hold.reservationId,
              resourceId: hold.resourceId,
              customerId: hold.customer.id,
              holdVersion: String(hold.reservationVersion),
            },
          });
      if (outcome.status === 'pending') {
        await ledger.setReference(key, outcome.reference);
        throw new PaymentPendingError(this.name, hold.reservationId, outcome.reference);
      }
      if (outcome.status === 'succeeded') {
        op = await ledger.settle(key, {
          status: 'succeeded',
          reference: outcome.reference,
          settled: outcome.amount,
        });
        this.stats.charges += 1;
        log.info({ reference: outcome.reference, amount: outcome.amount }, 'payment captured');
      } else {
        op = await ledger.settle(key, outcome);
        this.stats.declines += 1;
        log.info(
          { reference: outcome.reference, code: outcome.code, reason: outcome.reason },
          'payment failed',
        );
      }
    }

    await this.sendResult(op);
  }

  /** Why a hold that was never sent to the gateway should not be charged now, if it should not. */
  private reasonNotToCharge(hold: HoldEvent, later: readonly SinkEvent[]): string | undefined {
    const ended = later.find(
      (l) => 'reservationVersion' in l.event && l.event.reservationVersion > hold.reservationVersion,
    );
    if (ended) return `the hold was already ended by ${ended.event.type}`;
    const left = hold.holdExpiresAt - this.clock();
    if (left < this.options.chargeMarginMs) {
      return left <= 0
        ? `the hold expired at ${new Date(hold.holdExpiresAt).toISOString()}`
        : `the hold expires in ${left} ms, less than the charge margin`;
    }
    return undefined;
  }

  private async sendResult(op: Operation): Promise<void> {
    const { command, provenance } = paymentResult(this.commands, op);
    await this.deps.results.publish(command, provenance);
    await this.deps.ledger.markRecorded(op.key);
    this.stats.resultsSent += 1;
  }

  /**
   * Records a decision about one of our results in the ledger (anything else: nothing) and refunds a
   * captured charge whose result was refused. Also called by the reconciler with a decision it read back
   * from the events topic.
   */
  async applyDecision(event: Event): Promise<void> {
    const decision = resultDecisionOf(event);
    if (decision === undefined) return;
    const charge = await this.deps.ledger.noteDecision(decision);
    if (decision.kind === 'rejected' && event.type === 'ReservationRejected') {
      await this.refundRefused(event, charge);
    }
  }

  private async refundRefused(rejected: ReservationRejected, charge: Operation | undefined): Promise<void> {
    if (!charge) {
      this.logger.warn(
        { reservationId: rejected.reservationId, commandId: rejected.causationCommandId },
        'a payment result this sink did not send was refused: not refunded here',
      );
      return;
    }
    if (charge.status !== 'succeeded') return; // a FAILED result refused: nothing was captured
    if (charge.confirmedEventId !== null) {
      // This charge confirmed the reservation (its ReservationConfirmed came first, on the same partition):
      // the refusal is of the same result sent again after the decider's idempotency memory let it go.
      this.logger.info(
        { reservationId: rejected.reservationId, reason: rejected.reason },
        'a repeated payment result was refused; the payment confirmed the reservation and is kept',
      );
      return;
    }
    await this.refund(
      rejected.eventId,
      charge,
      `payment result refused (${rejected.reason}): ${rejected.detail}`,
    );
  }

  private async refundCancelled(e: SinkEvent, cancelled: ReservationCancelled): Promise<void> {
    const charges = await this.deps.ledger.confirmedCharges(cancelled.reservationId);
    if (charges.length === 0) {
      this.logger.warn(
        { reservationId: cancelled.reservationId },
        'a Confirmed reservation was cancelled but no charge of this sink confirmed it: not refunded here',
      );
      return;
    }
    for (const charge of charges) {
      await this.refund(
        e.event.eventId,
        charge,
        `reservation cancelled after confirmation${cancelled.reason ? `: ${cancelled.reason}` : ''}`,
      );
    }
  }

  private async refund(causeEventId: string, charge: Operation, reason: string): Promise<void> {
    const reference = charge.gatewayReference;
    const amount = charge.settled ?? charge.amount;
    if (reference === null || amount.amountMinor === 0) return; // a free hold: nothing to give back
    const { ledger, gateway } = this.deps;
    const key = refundKey({ reservationId: charge.reservationId, holdVersion: charge.holdVersion });
    const op = await ledger.open({
      key,
      kind: 'refund',
      reservationId: charge.reservationId,
      resourceId: charge.resourceId,
      customerId: charge.customerId,
      holdVersion: charge.holdVersion,
      amount,
      causeEventId,
      resultCommandId: null,
      refundOf: charge.key,
      refundReason: reason.slice(0, 1000),
    });
    if (op.status === 'succeeded') return;
    await ledger.attempt(key);
    const outcome = await gateway.refund({
      idempotencyKey: key,
      chargeReference: reference,
      metadata: {
        reservationId: charge.reservationId,
        holdVersion: String(charge.holdVersion),
        reason: reason.slice(0, 500),
      },
    });
    const log = this.logger.child({ reservationId: charge.reservationId, key, charge: reference });
    if (outcome.status === 'failed') {
      await ledger.settle(key, {
        status: 'failed',
        reference: outcome.reference,
        code: 'refund_failed',
        reason: outcome.reason,
      });
      log.error({ reason: outcome.reason }, 'refund failed: an operator must refund by hand');
      throw new RefundFailedError(this.name, charge.reservationId, reference, outcome.reason);
    }
    await ledger.settle(key, { status: 'succeeded', reference: outcome.reference, settled: amount });
    this.stats.refunds += 1;
    log.info({ refund: outcome.reference, amount, reason }, 'refunded');
  }
}

/**
 * Builds the payment sink from the configuration: Stripe, the ledger in PostgreSQL, results to Kafka, and
 * the reconciler watching the sink's consumer group.
 */
export function createPaymentSink(
  config: Config,
  logger: Logger,
  overrides: {
    options?: Partial<PaymentSinkOptions>;
    gateway?: PaymentGateway;
    /** Replaces the Kafka publisher of results (tests). */
    results?: ResultPublisher;
    autoRegister?: boolean;
    env?: Record<string, string | undefined>;
    /**
     * The consumer group the sink's worker uses, when not the runtime's default
     * (`${TOPIC_PREFIX}slotstream-sink-payment`): the reconciler waits for it to read the events topic.
     */
    groupId?: string;
  } = {},
): PaymentSink {
  const options = compilePaymentOptions(
    paymentOptionsFromEnv(overrides.env ?? process.env),
    overrides.options,
  );
  const gateway =
    overrides.gateway ??
    new StripeGateway({
      apiKey: config.stripe.apiKey,
      url: config.stripe.url,
      paymentMethod: options.paymentMethod,
      timeoutMs: options.gatewayTimeoutMs,
    });
  return new PaymentSink({
    gateway,
    ledger: new PgPaymentLedger({ url: config.postgres.url, logger }),
    results:
      overrides.results ?? new KafkaResultPublisher(config, logger, { autoRegister: overrides.autoRegister }),
    logger,
    options,
    reconcile: {
      progress: new GroupProgress({
        config,
        logger,
        groupId: overrides.groupId ?? `${config.kafka.topicPrefix}slotstream-sink-payment`,
      }),
      decisions: new TopicDecisionLookup(config, logger),
    },
  });
}
