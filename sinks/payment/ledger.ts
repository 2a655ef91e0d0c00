/**
 * The payment ledger: one row per gateway operation (a hold's charge, a charge's refund), keyed by the
 * idempotency key sent with it, in PostgreSQL (`payment_operations`, created by the read model's
 * migrations). It is what makes the sink idempotent beyond the gateway's own memory: Stripe remembers an
 * idempotency key for 24 hours (stripe-mock not at all), the ledger for as long as it is kept, so a replayed
 * event never reaches the gateway a second time once its operation is settled.
 *
 * Protocol for one operation: `open` (insert if absent) → `attempt` (counted before each call, so a pending
 * row with attempts = 0 was never sent) → gateway call with the key → `settle` → for a charge, the result
 * command is sent and `markRecorded` → the decider's decision about it is read on the events topic and
 * `noteDecision`. A crash anywhere repeats at most the gateway call (same key) or the result command (same
 * command id, which the decider answers as a DUPLICATE). A result recorded but never decided is sent again
 * by the reconciler (./reconciler.ts: `undecidedResults` → `markResent`).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Money } from '../../schemas/generated/types.ts';
import { SinkPool } from '../postgres/pool.ts';
import type { ResultDecision, ResultDecisionKind } from './decisions.ts';

export type OperationKind = 'charge' | 'refund';
export type OperationStatus = 'pending' | 'succeeded' | 'failed' | 'skipped';

/** What is known when an operation is first asked for. */
export interface NewOperation {
  readonly key: string;
  readonly kind: OperationKind;
  readonly reservationId: string;
  readonly resourceId: string;
  readonly customerId: string;
  readonly holdVersion: number;
  /** The price held (a charge) or the amount captured (a refund). */
  readonly amount: Money;
  readonly causeEventId: string;
  /** Charges: the id of the RecordPaymentResult command. */
  readonly resultCommandId: string | null;
  /** Refunds: the charge's key and why it is refunded. */
  readonly refundOf: string | null;
  readonly refundReason: string | null;
  /** The correlation id of the event that asked for it (a result sent again carries it). */
  readonly correlationId?: string | null;
}

/** One ledger row. */
export interface Operation extends NewOperation {
  readonly status: OperationStatus;
  readonly attempts: number;
  readonly gatewayReference: string | null;
  readonly settled: Money | null;
  readonly failureCode: string | null;
  readonly failureReason: string | null;
  /** When the broker acknowledged the result command (epoch ms), null while it is not. */
  readonly resultRecordedAt: number | null;
  readonly confirmedEventId: string | null;
  readonly correlationId: string | null;
  /** When the sink read the decider's decision about the result command (epoch ms), null while it has not. */
  readonly resultDecidedAt: number | null;
  readonly resultDecision: ResultDecisionKind | null;
  readonly resultDecisionEventId: string | null;
  /** How often the reconciler sent the result again, and when it last did (epoch ms). */
  readonly resultResends: number;
  readonly resultResentAt: number | null;
}

/** Which results the reconciler asks for: settled charges without a decision. */
export interface UndecidedQuery {
  /** Only results last sent (or, never recorded, settled) before this instant, epoch ms. */
  readonly sentBefore: number;
  /** Only results sent again fewer times than this. */
  readonly maxResends: number;
  /** At most this many, oldest send first. */
  readonly limit: number;
}

/** A final answer to record. */
export type Settlement =
  | { readonly status: 'succeeded'; readonly reference: string | null; readonly settled: Money }
  | {
      readonly status: 'failed';
      readonly reference: string | null;
      readonly code: string;
      readonly reason: string;
    }
  | { readonly status: 'skipped'; readonly reason: string };

/** Where the payment sink keeps its operations. */
export interface PaymentLedger {
  /** Checks that the table exists. */
  start(): Promise<void>;
  /** The operation under `op.key`, inserted as pending if it was not there. */
  open(op: NewOperation): Promise<Operation>;
  /** Counts a call about to be made to the gateway. */
  attempt(key: string): Promise<void>;
  /** Remembers the gateway's reference of a payment that is not final yet. */
  setReference(key: string, reference: string): Promise<void>;
  /** Records the final answer. */
  settle(key: string, settlement: Settlement): Promise<Operation>;
  /** Records that the broker acknowledged the result command. */
  markRecorded(key: string): Promise<void>;
  /**
   * Records the decider's decision about a result command (one statement): the first decision is kept, but
   * a real one replaces a `duplicate`; a confirmation also links the charge to its ReservationConfirmed.
   * Returns the charge whose result command it was, if this sink sent it.
   */
  noteDecision(decision: ResultDecision): Promise<Operation | undefined>;
  /** The succeeded charges of a reservation that confirmed it at some point. */
  confirmedCharges(reservationId: string): Promise<Operation[]>;
  /** Settled charges (succeeded or failed) whose result has no decision yet: see UndecidedQuery. */
  undecidedResults(query: UndecidedQuery): Promise<Operation[]>;
  /** How many settled charges without a decision were sent again `maxResends` times or more. */
  countAbandoned(maxResends: number): Promise<number>;
  /** Records that the broker acknowledged the result command once more (sent again by the reconciler). */
  markResent(key: string): Promise<void>;
  /**
   * Captured charges (amount > 0) whose only known decision is a DUPLICATE, that neither confirmed their
   * reservation nor were refunded (a refund that has not succeeded does not count): whether they must be
   * refunded depends on a decision this sink never read.
   */
  duplicateOnly(limit: number): Promise<Operation[]>;
  close(): Promise<void>;
}

// Control characters but TAB, LF and CR (Unicode category Cc).
const CONTROLS_BUT_TAB_AND_LINE_BREAKS = /(?![\t\n\r])\p{Cc}/gu;

/**
 * A gateway's text as the ledger keeps it and the result command carries it: without control characters
 * other than tab and line breaks. PostgreSQL's text cannot hold U+0000, and the command builders refuse
 * control characters, so a NUL in a decline message would otherwise block the result of a payment.
 */
export function storableText(value: string): string {
  return value.replace(CONTROLS_BUT_TAB_AND_LINE_BREAKS, '');
}

interface Row {
  idempotency_key: string;
  kind: OperationKind;
  reservation_id: string;
  resource_id: string;
  customer_id: string;
  hold_version: number;
  amount_minor: string;
  currency: string;
  status: OperationStatus;
  attempts: number;
  gateway_reference: string | null;
  settled_minor: string | null;
  settled_currency: string | null;
  failure_code: string | null;
  failure_reason: string | null;
  cause_event_id: string;
  result_command_id: string | null;
  result_recorded_at: Date | null;
  confirmed_event_id: string | null;
  refund_of: string | null;
  refund_reason: string | null;
  correlation_id: string | null;
  result_decided_at: Date | null;
  result_decision: ResultDecisionKind | null;
  result_decision_event_id: string | null;
  result_resends: number;
  result_resent_at: Date | null;
}

function operationOf(row: Row): Operation {
  return {
    key: row.idempotency_key,
    kind: row.kind,
    reservationId: row.reservation_id,
    resourceId: row.resource_id,
    customerId: row.customer_id,
    holdVersion: row.hold_version,
    amount: { amountMinor: Number(row.amount_minor), currency: row.currency },
    causeEventId: row.cause_event_id,
    resultCommandId: row.result_command_id,
    refundOf: row.refund_of,
    refundReason: row.refund_reason,
    status: row.status,
    attempts: row.attempts,
    gatewayReference: row.gateway_reference,
    settled:
      row.settled_minor === null || row.settled_currency === null
        ? null
        : { amountMinor: Number(row.settled_minor), currency: row.settled_currency },
    failureCode: row.failure_code,
    failureReason: row.failure_reason,
    resultRecordedAt: row.result_recorded_at?.getTime() ?? null,
    confirmedEventId: row.confirmed_event_id,
    correlationId: row.correlation_id,
    resultDecidedAt: row.result_decided_at?.getTime() ?? null,
    resultDecision: row.result_decision,
    resultDecisionEventId: row.result_decision_event_id,
    resultResends: row.result_resends,
    resultResentAt: row.result_resent_at?.getTime() ?? null,
  };
}

// When a settled charge's result was last sent: resent, else recorded, else (never recorded) settled. The
// expression of the partial index payment_operations_undecided_idx.
const LAST_SENT = 'COALESCE(result_resent_at, result_recorded_at, updated_at)';
const UNDECIDED = `kind = 'charge' AND result_decided_at IS NULL AND status IN ('succeeded', 'failed')`;

export interface PgPaymentLedgerOptions {
  readonly url: string;
  readonly logger: Logger;
  /** Name used in errors. @default 'payment' */
  readonly sinkName?: string;
  /** @default 4 */
  readonly poolSize?: number;
}

/** The ledger in PostgreSQL. */
export class PgPaymentLedger implements PaymentLedger {
  private readonly db: SinkPool;

  constructor(options: PgPaymentLedgerOptions) {
    this.db = new SinkPool({
      url: options.url,
      sinkName: options.sinkName ?? 'payment',
      logger: options.logger,
      poolSize: options.poolSize ?? 4,
    });
  }

  private query<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
    return this.db.rows<T>(sql, params);
  }

  async start(): Promise<void> {
    await this.db.requireTables(['payment_operations']);
    try {
      await this.query(
        'SELECT result_decided_at, result_resends, correlation_id FROM payment_operations LIMIT 0',
        [],
      );
    } catch (error) {
      throw new Error('payment_operations has no result_decided_at column: run `npm run db:migrate`', {
        cause: error,
      });
    }
  }

  async open(op: NewOperation): Promise<Operation> {
    const inserted = await this.query<Row>(
      `INSERT INTO payment_operations (idempotency_key, kind, reservation_id, resource_id, customer_id,
         hold_version, amount_minor, currency, status, cause_event_id, result_command_id, refund_of, refund_reason,
         correlation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12, $13)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING *`,
      [
        op.key,
        op.kind,
        op.reservationId,
        op.resourceId,
        op.customerId,
        op.holdVersion,
        op.amount.amountMinor,
        op.amount.currency,
        op.causeEventId,
        op.resultCommandId,
        op.refundOf,
        op.refundReason,
        op.correlationId ?? null,
      ],
    );
    const row =
      inserted[0] ??
      (await this.query<Row>('SELECT * FROM payment_operations WHERE idempotency_key = $1', [op.key]))[0];
    if (!row) throw new Error(`payment operation ${op.key} vanished`);
    return operationOf(row);
  }

  async attempt(key: string): Promise<void> {
    await this.query(
      'UPDATE payment_operations SET attempts = attempts + 1, updated_at = now() WHERE idempotency_key = $1',
      [key],
    );
  }

  async setReference(key: string, reference: string): Promise<void> {
    await this.query(
      'UPDATE payment_operations SET gateway_reference = $2, updated_at = now() WHERE idempotency_key = $1',
      [key, reference],
    );
  }

  async settle(key: string, s: Settlement): Promise<Operation> {
    const [row] = await this.query<Row>(
      `UPDATE payment_operations
          SET status = $2, gateway_reference = COALESCE($3, gateway_reference),
              settled_minor = $4, settled_currency = $5, failure_code = $6, failure_reason = $7,
              updated_at = now()
        WHERE idempotency_key = $1
        RETURNING *`,
      [
        key,
        s.status,
        s.status === 'skipped' ? null : s.reference,
        s.status === 'succeeded' ? s.settled.amountMinor : null,
        s.status === 'succeeded' ? s.settled.currency : null,
        s.status === 'failed' ? storableText(s.code) : null,
        s.status === 'succeeded' ? null : storableText(s.reason),
      ],
    );
    if (!row) throw new Error(`payment operation ${key} vanished`);
    return operationOf(row);
  }

  async markRecorded(key: string): Promise<void> {
    await this.query(
      `UPDATE payment_operations SET result_recorded_at = COALESCE(result_recorded_at, now()), updated_at = now()
        WHERE idempotency_key = $1`,
      [key],
    );
  }

  async noteDecision(d: ResultDecision): Promise<Operation | undefined> {
    // $3 replaces what is there when nothing is, or when only a DUPLICATE was read so far.
    const take = `(result_decided_at IS NULL OR (result_decision = 'duplicate' AND $3 <> 'duplicate'))`;
    const [row] = await this.query<Row>(
      `UPDATE payment_operations
          SET result_decided_at = CASE WHEN ${take} THEN now() ELSE result_decided_at END,
              result_decision = CASE WHEN ${take} THEN $3 ELSE result_decision END,
              result_decision_event_id = CASE WHEN ${take} THEN $2::uuid ELSE result_decision_event_id END,
              confirmed_event_id = CASE WHEN $3 = 'confirmed' THEN COALESCE(confirmed_event_id, $2::uuid)
                                        ELSE confirmed_event_id END,
              updated_at = now()
        WHERE result_command_id = $1
        RETURNING *`,
      [d.commandId, d.eventId, d.kind],
    );
    return row ? operationOf(row) : undefined;
  }

  async confirmedCharges(reservationId: string): Promise<Operation[]> {
    const rows = await this.query<Row>(
      `SELECT * FROM payment_operations
        WHERE reservation_id = $1 AND kind = 'charge' AND status = 'succeeded' AND confirmed_event_id IS NOT NULL
        ORDER BY hold_version`,
      [reservationId],
    );
    return rows.map(operationOf);
  }

  async undecidedResults(q: UndecidedQuery): Promise<Operation[]> {
    const rows = await this.query<Row>(
      `SELECT * FROM payment_operations
        WHERE ${UNDECIDED} AND ${LAST_SENT} < to_timestamp($1::double precision / 1000) AND result_resends < $2
        ORDER BY ${LAST_SENT}
        LIMIT $3`,
      [q.sentBefore, q.maxResends, q.limit],
    );
    return rows.map(operationOf);
  }

  async countAbandoned(maxResends: number): Promise<number> {
    const [row] = await this.query<{ n: string }>(
      `SELECT count(*) AS n FROM payment_operations WHERE ${UNDECIDED} AND result_resends >= $1`,
      [maxResends],
    );
    return Number(row?.n ?? 0);
  }

  async markResent(key: string): Promise<void> {
    await this.query(
      `UPDATE payment_operations
          SET result_resends = result_resends + 1, result_resent_at = now(),
              result_recorded_at = COALESCE(result_recorded_at, now()), updated_at = now()
        WHERE idempotency_key = $1`,
      [key],
    );
  }

  async duplicateOnly(limit: number): Promise<Operation[]> {
    const rows = await this.query<Row>(
      `SELECT * FROM payment_operations AS c
        WHERE c.result_decision = 'duplicate' AND c.kind = 'charge' AND c.status = 'succeeded'
          AND COALESCE(c.settled_minor, c.amount_minor) > 0 AND c.confirmed_event_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM payment_operations AS r
                           WHERE r.reservation_id = c.reservation_id AND r.kind = 'refund'
                             AND r.refund_of = c.idempotency_key AND r.status = 'succeeded')
        ORDER BY c.result_decided_at
        LIMIT $1`,
      [limit],
    );
    return rows.map(operationOf);
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}
