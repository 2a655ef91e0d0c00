/**
 * The reconciler: the payment ledger never claims a result that has no decision.
 *
 * "The broker acknowledged the result" (`result_recorded_at`) does not prove the result is on the commands
 * topic: a Kafka client can be told a write happened that did not (kafkajs after an OUT_OF_ORDER_SEQUENCE
 * error). Money taken for a hold whose result never arrives is never confirmed and, once the hold expires,
 * never refunded. So the sink also records when it reads the decider's decision about each result
 * (`result_decided_at`, PaymentSink.applyDecision), and the reconciler — at start, then every
 * `reconcileIntervalMs` — sends again every settled charge's result that has none:
 *
 * 1. **Lag is not loss.** A pass first takes a mark: where the events topic ends now (EventsMark). Results
 *    are sent again only once the sink's consumer group has committed past that mark, and only those last
 *    sent more than `reconcileGraceMs` before the mark was taken: their decision, had there been one, was
 *    written before the mark and has been read. Until the sink gets there, the pass sends nothing and the
 *    mark is kept for the next pass.
 * 2. **The same command.** The result is rebuilt from the ledger row by `paymentResult` — the function the
 *    sink sends it with — so it carries the same command id. The decider decides a command id once: a result
 *    that never arrived is decided now (confirmed if the hold is still there; refused if the hold expired or
 *    is gone, which the sink's refund rule answers with a refund); one that did arrive is answered with a
 *    DUPLICATE after its original decision, which the sink reads first on the same partition.
 * 3. **A DUPLICATE whose original decision the sink never read** (rows from before the ledger recorded
 *    decisions, or a ledger restored from a backup) proves the result was decided, not how. For a captured
 *    charge that neither confirmed its reservation nor was refunded, the reconciler reads the original
 *    decision back from the events topic (TopicDecisionLookup) and applies it as the sink would have: a
 *    confirmation is recorded (nothing refunded), a refusal refunds. Not found (past the topic's retention):
 *    logged as an error for an operator, never refunded blindly — the charge may have confirmed the
 *    reservation.
 *
 * Nothing is ever refunded that confirmed a reservation: refunds still come only from the sink's rules,
 * which keep a charge whose ReservationConfirmed it has read (a confirmation precedes any refusal of the same
 * result on the partition).
 *
 * Each pass is bounded (`reconcileLimit` rows); a result still undecided after `reconcileMaxResends` sends
 * is left to an operator (logged at every pass; `npm run payments:check` lists it).
 */
import type { Logger } from 'pino';
import { forEachLimited } from '../../common/for-each-limited.ts';
import { CommandBuilder } from '../../producers/index.ts';
import type { Provenance } from '../../schemas/codec.ts';
import type { Event, RecordPaymentResult } from '../../schemas/generated/types.ts';
import { describe } from '../runtime/errors.ts';
import type { Operation, PaymentLedger } from './ledger.ts';
import type { PaymentSinkOptions } from './options.ts';
import type { EventsMark, SinkProgress } from './progress.ts';
import { paymentResult, type ResultPublisher } from './results.ts';
import type { DecisionLookup } from './topic-decisions.ts';

/** Counts the reconciler adds to the sink's (exported as `slotstream_sink_actions_total`). */
export type ReconcilerStats = {
  /** Results sent again under their original command id. */
  resultsResent: number;
  /** DUPLICATE-only charges whose original decision was found on the events topic and applied. */
  duplicatesResolved: number;
  /** DUPLICATE-only charges whose original decision could not be found (an operator must look). */
  duplicatesUnresolved: number;
};

export interface ReconcilerDeps {
  readonly ledger: PaymentLedger;
  readonly results: ResultPublisher;
  readonly progress: SinkProgress;
  readonly decisions: DecisionLookup;
  /** Applies a decision read from the events topic exactly as the sink applies one it consumes. */
  readonly applyDecision: (event: Event) => Promise<void>;
  readonly logger: Logger;
  readonly options: Pick<
    PaymentSinkOptions,
    'reconcileIntervalMs' | 'reconcileGraceMs' | 'reconcileLimit' | 'reconcileMaxResends' | 'concurrency'
  >;
  readonly stats: ReconcilerStats;
  /** Epoch ms; must agree with the ledger's clock within the grace period. @default Date.now */
  readonly clock?: () => number;
}

/** What one pass did. */
export interface ReconcileReport {
  /** The sink has not read the events topic up to the pass's mark yet: nothing was sent. */
  readonly waiting: boolean;
  /** Results sent again (acknowledged by Kafka). */
  readonly resent: number;
  /** Results due that could not be sent (Kafka unavailable, outcome unknown, a command that cannot be built). */
  readonly failed: number;
  /** Results without a decision that were sent `reconcileMaxResends` times already. */
  readonly abandoned: number;
  readonly duplicatesResolved: number;
  readonly duplicatesUnresolved: number;
}

/** Finds results without a decision and sends them again; see the module comment. */
export class Reconciler {
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly commands: CommandBuilder;
  /** The mark a pass waits for the sink to reach, with the time it was taken. */
  private mark: { readonly at: number; readonly end: EventsMark; warned?: boolean } | undefined;
  /** DUPLICATE-only charges looked up in vain or whose refund failed for good, since this process started. */
  private readonly givenUp = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<ReconcileReport> | undefined;
  private stopped = false;

  constructor(private readonly deps: ReconcilerDeps) {
    this.logger = deps.logger.child({ component: 'payment-reconciler' });
    this.clock = deps.clock ?? Date.now;
    this.commands = new CommandBuilder({ clock: this.clock });
  }

  /** Runs a pass now (in the background) and then every `reconcileIntervalMs`; 0 runs none. */
  start(): void {
    if (this.deps.options.reconcileIntervalMs <= 0) return;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      try {
        await this.runOnce();
      } catch (error) {
        this.logger.warn({ err: error }, 'reconciliation pass failed; trying again at the next one');
      }
      if (this.stopped) return;
      this.timer = setTimeout(loop, this.deps.options.reconcileIntervalMs);
      this.timer.unref(); // never what keeps a process alive
    };
    void loop();
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
    await this.deps.progress.close();
  }

  /** One pass (or the pass already in progress). */
  runOnce(): Promise<ReconcileReport> {
    this.current ??= this.pass().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async pass(): Promise<ReconcileReport> {
    const { ledger, progress, options } = this.deps;
    this.mark ??= { at: this.clock(), end: await progress.mark() };
    let waiting = true;
    let resent = 0;
    let failed = 0;
    if (await progress.reached(this.mark.end)) {
      waiting = false;
      const sentBefore = this.mark.at - options.reconcileGraceMs;
      this.mark = undefined;
      const due = await ledger.undecidedResults({
        sentBefore,
        maxResends: options.reconcileMaxResends,
        limit: options.reconcileLimit,
      });
      ({ resent, failed } = await this.resend(due));
    } else if (!this.mark.warned && this.clock() - this.mark.at > 5 * options.reconcileGraceMs) {
      this.mark.warned = true;
      this.logger.warn(
        { markTakenAt: new Date(this.mark.at).toISOString() },
        'the sink has not read the events topic up to where it ended then: no result is sent again until it has',
      );
    }
    const abandoned = await ledger.countAbandoned(options.reconcileMaxResends);
    if (abandoned > 0) {
      this.logger.error(
        { abandoned, maxResends: options.reconcileMaxResends },
        'payment results still undecided after every re-send: an operator must look (npm run payments:check)',
      );
    }
    const duplicates = await this.resolveDuplicates();
    const report = { waiting, resent, failed, abandoned, ...duplicates };
    const acted = resent + failed + duplicates.duplicatesResolved + duplicates.duplicatesUnresolved > 0;
    if (acted) this.logger.info(report, 'reconciliation pass');
    else this.logger.debug(report, 'reconciliation pass');
    return report;
  }

  /** Sends each result again; stops at the first failure to deliver (Kafka is likely away). */
  private async resend(due: readonly Operation[]): Promise<{ resent: number; failed: number }> {
    let resent = 0;
    let failed = 0;
    let blocked: unknown;
    await forEachLimited(due, this.deps.options.concurrency, async (op) => {
      if (blocked !== undefined) {
        failed += 1;
        return;
      }
      const log = this.logger.child({
        reservationId: op.reservationId,
        key: op.key,
        commandId: op.resultCommandId,
      });
      let built: { command: RecordPaymentResult; provenance: Provenance };
      try {
        built = paymentResult(this.commands, op);
      } catch (error) {
        failed += 1;
        log.error({ err: error }, 'cannot rebuild the payment result of this charge: an operator must look');
        return;
      }
      try {
        await this.deps.results.publish(built.command, built.provenance);
      } catch (error) {
        failed += 1;
        blocked = error;
        log.warn(
          { err: error, code: describe(error).code },
          'could not send an undecided payment result again; the next pass tries again',
        );
        return;
      }
      await this.deps.ledger.markResent(op.key);
      this.deps.stats.resultsResent += 1;
      resent += 1;
      log.warn(
        {
          status: op.status,
          recordedAt: op.resultRecordedAt === null ? null : new Date(op.resultRecordedAt).toISOString(),
          resends: op.resultResends + 1,
        },
        op.resultRecordedAt === null
          ? 'payment result was never recorded as sent: sent again under the same command id'
          : 'payment result recorded as sent has no decision: sent again under the same command id',
      );
    });
    return { resent, failed };
  }

  /** Looks up, on the events topic, the original decision of charges only a DUPLICATE answered. */
  private async resolveDuplicates(): Promise<{ duplicatesResolved: number; duplicatesUnresolved: number }> {
    const rows = (await this.deps.ledger.duplicateOnly(this.deps.options.reconcileLimit)).filter(
      (op) => op.resultCommandId !== null && !this.givenUp.has(op.key),
    );
    let duplicatesResolved = 0;
    let duplicatesUnresolved = 0;
    if (rows.length === 0) return { duplicatesResolved, duplicatesUnresolved };
    const found = await this.deps.decisions.find(new Set(rows.map((op) => op.resultCommandId as string)));
    for (const op of rows) {
      const log = this.logger.child({ reservationId: op.reservationId, key: op.key });
      const events = found.get(op.resultCommandId as string);
      if (!events) {
        this.givenUp.add(op.key);
        this.deps.stats.duplicatesUnresolved += 1;
        duplicatesUnresolved += 1;
        log.error(
          { commandId: op.resultCommandId, reference: op.gatewayReference },
          'the decider called this payment result a DUPLICATE, but its original decision is neither in the ledger nor on the events topic: not refunded; an operator must decide',
        );
        continue;
      }
      try {
        for (const event of events) await this.deps.applyDecision(event);
      } catch (error) {
        if (!describe(error).retryable) this.givenUp.add(op.key);
        log.error({ err: error }, 'applying the original decision of a DUPLICATE payment result failed');
        continue;
      }
      this.deps.stats.duplicatesResolved += 1;
      duplicatesResolved += 1;
      log.info(
        { decisions: events.map((e) => e.type) },
        'applied the original decision of a payment result the decider had called a DUPLICATE',
      );
    }
    return { duplicatesResolved, duplicatesUnresolved };
  }
}
