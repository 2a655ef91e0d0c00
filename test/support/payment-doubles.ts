/**
 * Test doubles of the payment sink's ports, for the unit tier (no server) and for counting what reaches
 * the real stripe-mock. The gateway double stands in ONLY for what stripe-mock cannot produce (card
 * declines, timeouts, 5xx, pending and unknown outcomes); happy paths and real error bodies are tested
 * against stripe-mock in the integration tier.
 */
import { randomUUID } from 'node:crypto';
import type { Provenance } from '../../schemas/codec.ts';
import type { Event, RecordPaymentResult } from '../../schemas/generated/types.ts';
import type { ResultDecision } from '../../sinks/payment/decisions.ts';
import type {
  ChargeOutcome,
  ChargeRequest,
  PaymentGateway,
  RefundOutcome,
  RefundRequest,
} from '../../sinks/payment/gateway.ts';
import type {
  NewOperation,
  Operation,
  PaymentLedger,
  Settlement,
  UndecidedQuery,
} from '../../sinks/payment/ledger.ts';
import type { EventsMark, SinkProgress } from '../../sinks/payment/progress.ts';
import type { ResultPublisher } from '../../sinks/payment/results.ts';
import type { DecisionLookup } from '../../sinks/payment/topic-decisions.ts';

/** The ledger in memory, with the same semantics as PgPaymentLedger; its clock is `now`. */
export class InMemoryPaymentLedger implements PaymentLedger {
  readonly rows = new Map<string, Operation>();
  /** Epoch ms of the ledger's clock (PostgreSQL's now()). */
  now: () => number = Date.now;
  /** When each row last changed (updated_at). */
  private readonly updatedAt = new Map<string, number>();

  /** Writes a row and stamps its updated_at, as every UPDATE of the SQL does. */
  private put(key: string, row: Operation): void {
    this.updatedAt.set(key, this.now());
    this.rows.set(key, row);
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {}

  private get(key: string): Operation {
    const row = this.rows.get(key);
    if (!row) throw new Error(`no operation ${key}`);
    return row;
  }

  async open(op: NewOperation): Promise<Operation> {
    const existing = this.rows.get(op.key);
    if (existing) return existing;
    const row: Operation = {
      ...op,
      status: 'pending',
      attempts: 0,
      gatewayReference: null,
      settled: null,
      failureCode: null,
      failureReason: null,
      resultRecordedAt: null,
      confirmedEventId: null,
      correlationId: op.correlationId ?? null,
      resultDecidedAt: null,
      resultDecision: null,
      resultDecisionEventId: null,
      resultResends: 0,
      resultResentAt: null,
    };
    this.put(op.key, row);
    return row;
  }

  async attempt(key: string): Promise<void> {
    const row = this.get(key);
    this.put(key, { ...row, attempts: row.attempts + 1 });
  }

  async setReference(key: string, reference: string): Promise<void> {
    this.put(key, { ...this.get(key), gatewayReference: reference });
  }

  async settle(key: string, s: Settlement): Promise<Operation> {
    const row = this.get(key);
    const next: Operation = {
      ...row,
      status: s.status,
      gatewayReference: s.status === 'skipped' ? row.gatewayReference : (s.reference ?? row.gatewayReference),
      settled: s.status === 'succeeded' ? s.settled : null,
      failureCode: s.status === 'failed' ? s.code : null,
      failureReason: s.status === 'succeeded' ? null : s.reason,
    };
    this.put(key, next);
    return next;
  }

  async markRecorded(key: string): Promise<void> {
    const row = this.get(key);
    this.put(key, { ...row, resultRecordedAt: row.resultRecordedAt ?? this.now() });
  }

  async noteDecision(d: ResultDecision): Promise<Operation | undefined> {
    const row = [...this.rows.values()].find((r) => r.resultCommandId === d.commandId);
    if (!row) return undefined;
    const take =
      row.resultDecidedAt === null || (row.resultDecision === 'duplicate' && d.kind !== 'duplicate');
    const next: Operation = {
      ...row,
      ...(take
        ? { resultDecidedAt: this.now(), resultDecision: d.kind, resultDecisionEventId: d.eventId }
        : {}),
      confirmedEventId: d.kind === 'confirmed' ? (row.confirmedEventId ?? d.eventId) : row.confirmedEventId,
    };
    this.put(row.key, next);
    return next;
  }

  /** When the result was last sent: resent, else recorded, else (never recorded) when the row last changed. */
  lastSent(row: Operation): number {
    return row.resultResentAt ?? row.resultRecordedAt ?? (this.updatedAt.get(row.key) as number);
  }

  private undecided(row: Operation): boolean {
    return (
      row.kind === 'charge' &&
      row.resultDecidedAt === null &&
      (row.status === 'succeeded' || row.status === 'failed')
    );
  }

  async undecidedResults(q: UndecidedQuery): Promise<Operation[]> {
    return [...this.rows.values()]
      .filter((r) => this.undecided(r) && this.lastSent(r) < q.sentBefore && r.resultResends < q.maxResends)
      .sort((a, b) => this.lastSent(a) - this.lastSent(b))
      .slice(0, q.limit);
  }

  async countAbandoned(maxResends: number): Promise<number> {
    return [...this.rows.values()].filter((r) => this.undecided(r) && r.resultResends >= maxResends).length;
  }

  async markResent(key: string): Promise<void> {
    const row = this.get(key);
    const now = this.now();
    this.put(key, {
      ...row,
      resultResends: row.resultResends + 1,
      resultResentAt: now,
      resultRecordedAt: row.resultRecordedAt ?? now,
    });
  }

  async duplicateOnly(limit: number): Promise<Operation[]> {
    const rows = [...this.rows.values()];
    return rows
      .filter(
        (c) =>
          c.resultDecision === 'duplicate' &&
          c.kind === 'charge' &&
          c.status === 'succeeded' &&
          (c.settled ?? c.amount).amountMinor > 0 &&
          c.confirmedEventId === null &&
          !rows.some((r) => r.kind === 'refund' && r.refundOf === c.key && r.status === 'succeeded'),
      )
      .sort((a, b) => (a.resultDecidedAt ?? 0) - (b.resultDecidedAt ?? 0))
      .slice(0, limit);
  }

  async confirmedCharges(reservationId: string): Promise<Operation[]> {
    return [...this.rows.values()]
      .filter(
        (r) =>
          r.reservationId === reservationId &&
          r.kind === 'charge' &&
          r.status === 'succeeded' &&
          r.confirmedEventId !== null,
      )
      .sort((a, b) => a.holdVersion - b.holdVersion);
  }
}

/** Records the result commands instead of sending them; `failNext` makes the next publishes throw. */
export class RecordingResults implements ResultPublisher {
  readonly sent: { command: RecordPaymentResult; provenance: Provenance }[] = [];
  private failures: Error[] = [];

  async start(): Promise<void> {}
  async close(): Promise<void> {}

  failNext(...errors: Error[]): void {
    this.failures.push(...errors);
  }

  async publish(command: RecordPaymentResult, provenance: Provenance): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.sent.push({ command, provenance });
  }
}

/**
 * A test double for a failure the real broker cannot produce on demand (a client acknowledging a write that
 * did not happen): wraps a real publisher and, for the results `drops` selects, resolves as if Kafka had
 * acknowledged them without sending anything — what kafkajs's idempotent producer did after an
 * OUT_OF_ORDER_SEQUENCE_NUMBER error (the broker acknowledged a later batch as a "duplicate" of an earlier
 * one without writing it). Everything else goes through to the real publisher.
 */
export class AcknowledgingWithoutWriting implements ResultPublisher {
  /** The results that were acknowledged but not written. */
  readonly dropped: RecordPaymentResult[] = [];

  constructor(
    private readonly inner: ResultPublisher,
    private readonly drops: (command: RecordPaymentResult, earlierDrops: number) => boolean,
  ) {}

  start(): Promise<void> {
    return this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async publish(command: RecordPaymentResult, provenance: Provenance): Promise<void> {
    const earlier = this.dropped.filter((d) => d.commandId === command.commandId).length;
    if (this.drops(command, earlier)) {
      this.dropped.push(command);
      return;
    }
    await this.inner.publish(command, provenance);
  }
}

/** The sink's progress on the events topic, set by the test: `caughtUp` answers every `reached`. */
export class ScriptedProgress implements SinkProgress {
  caughtUp = true;
  marks = 0;

  async mark(): Promise<EventsMark> {
    this.marks += 1;
    return new Map([[0, BigInt(this.marks)]]);
  }

  async reached(): Promise<boolean> {
    return this.caughtUp;
  }

  async close(): Promise<void> {}
}

/** Decisions "on the events topic", in memory: what `find` answers, and what it was asked. */
export class InMemoryDecisionLookup implements DecisionLookup {
  readonly events: Event[] = [];
  readonly asked: string[][] = [];

  async find(commandIds: ReadonlySet<string>): Promise<Map<string, Event[]>> {
    this.asked.push([...commandIds]);
    const found = new Map<string, Event[]>();
    for (const event of this.events) {
      const id = event.causationCommandId;
      if (!commandIds.has(id)) continue;
      if (event.type === 'ReservationRejected' && event.reason === 'DUPLICATE') continue;
      found.set(id, [...(found.get(id) ?? []), event]);
    }
    return found;
  }
}

/** What the scripted gateway does for one call: answer, or throw. */
export type GatewayStep<T> = { readonly answer: T } | { readonly throws: Error };

/**
 * A gateway double for the outcomes stripe-mock cannot produce: each call takes the next scripted step
 * (default: success). It keeps every call, and — like Stripe — answers a key it has already settled with
 * the first settled answer, so tests can tell a repeated key from a new charge.
 */
export class ScriptedGateway implements PaymentGateway {
  readonly charges: ChargeRequest[] = [];
  readonly lookups: string[] = [];
  readonly refunds: RefundRequest[] = [];
  private readonly chargeScript: GatewayStep<ChargeOutcome>[] = [];
  private readonly lookupScript: GatewayStep<ChargeOutcome>[] = [];
  private readonly refundScript: GatewayStep<RefundOutcome>[] = [];
  private readonly settled = new Map<string, ChargeOutcome>();

  onCharge(...steps: GatewayStep<ChargeOutcome>[]): this {
    this.chargeScript.push(...steps);
    return this;
  }

  onLookup(...steps: GatewayStep<ChargeOutcome>[]): this {
    this.lookupScript.push(...steps);
    return this;
  }

  onRefund(...steps: GatewayStep<RefundOutcome>[]): this {
    this.refundScript.push(...steps);
    return this;
  }

  /** Distinct idempotency keys charged. */
  get chargedKeys(): string[] {
    return [...new Set(this.charges.map((c) => c.idempotencyKey))];
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    this.charges.push(request);
    const earlier = this.settled.get(request.idempotencyKey);
    if (earlier) return earlier;
    const step = this.chargeScript.shift() ?? {
      answer: { status: 'succeeded', reference: `pi_${randomUUID().slice(0, 8)}`, amount: request.amount },
    };
    if ('throws' in step) throw step.throws;
    if (step.answer.status !== 'pending') this.settled.set(request.idempotencyKey, step.answer);
    return step.answer;
  }

  async chargeStatus(reference: string): Promise<ChargeOutcome> {
    this.lookups.push(reference);
    const step = this.lookupScript.shift();
    if (!step) throw new Error(`no lookup scripted for ${reference}`);
    if ('throws' in step) throw step.throws;
    return step.answer;
  }

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    this.refunds.push(request);
    const step = this.refundScript.shift() ?? {
      answer: { status: 'succeeded', reference: `re_${randomUUID().slice(0, 8)}` },
    };
    if ('throws' in step) throw step.throws;
    return step.answer;
  }
}

/** Wraps a real gateway (the Stripe adapter on stripe-mock) and counts what reaches it. */
export class CountingGateway implements PaymentGateway {
  readonly charges: ChargeRequest[] = [];
  readonly refunds: RefundRequest[] = [];
  readonly chargeOutcomes: ChargeOutcome[] = [];
  readonly refundOutcomes: RefundOutcome[] = [];

  constructor(private readonly inner: PaymentGateway) {}

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    this.charges.push(request);
    const outcome = await this.inner.charge(request);
    this.chargeOutcomes.push(outcome);
    return outcome;
  }

  chargeStatus(reference: string): Promise<ChargeOutcome> {
    return this.inner.chargeStatus(reference);
  }

  async refund(request: RefundRequest): Promise<RefundOutcome> {
    this.refunds.push(request);
    const outcome = await this.inner.refund(request);
    this.refundOutcomes.push(outcome);
    return outcome;
  }
}
