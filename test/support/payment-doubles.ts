/**
 * Test doubles of the payment sink's ports, for the unit tier (no server) and for counting what reaches
 * the real stripe-mock. The gateway double stands in ONLY for what stripe-mock cannot produce (card
 * declines, timeouts, 5xx, pending and unknown outcomes); happy paths and real error bodies are tested
 * against stripe-mock in the integration tier.
 */
import { randomUUID } from 'node:crypto';
import type { Provenance } from '../../schemas/codec.ts';
import type { RecordPaymentResult } from '../../schemas/generated/types.ts';
import type {
  ChargeOutcome,
  ChargeRequest,
  PaymentGateway,
  RefundOutcome,
  RefundRequest,
} from '../../sinks/payment/gateway.ts';
import type { NewOperation, Operation, PaymentLedger, Settlement } from '../../sinks/payment/ledger.ts';
import type { ResultPublisher } from '../../sinks/payment/results.ts';

/** The ledger in memory, with the same semantics as PgPaymentLedger. */
export class InMemoryPaymentLedger implements PaymentLedger {
  readonly rows = new Map<string, Operation>();

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
    };
    this.rows.set(op.key, row);
    return row;
  }

  async attempt(key: string): Promise<void> {
    const row = this.get(key);
    this.rows.set(key, { ...row, attempts: row.attempts + 1 });
  }

  async setReference(key: string, reference: string): Promise<void> {
    this.rows.set(key, { ...this.get(key), gatewayReference: reference });
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
    this.rows.set(key, next);
    return next;
  }

  async markRecorded(key: string): Promise<void> {
    const row = this.get(key);
    this.rows.set(key, { ...row, resultRecordedAt: row.resultRecordedAt ?? Date.now() });
  }

  async byResultCommand(commandId: string): Promise<Operation | undefined> {
    return [...this.rows.values()].find((r) => r.resultCommandId === commandId);
  }

  async markConfirmed(resultCommandId: string, eventId: string): Promise<void> {
    for (const row of this.rows.values()) {
      if (row.resultCommandId === resultCommandId && row.confirmedEventId === null) {
        this.rows.set(row.key, { ...row, confirmedEventId: eventId });
      }
    }
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
