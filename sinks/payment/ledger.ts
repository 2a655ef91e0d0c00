/**
 * The payment ledger: one row per gateway operation (a hold's charge, a charge's refund), keyed by the
 * idempotency key sent with it, in PostgreSQL (`payment_operations`, created by the read model's
 * migrations). It is what makes the sink idempotent beyond the gateway's own memory: Stripe remembers an
 * idempotency key for 24 hours (stripe-mock not at all), the ledger for as long as it is kept, so a replayed
 * event never reaches the gateway a second time once its operation is settled.
 *
 * Protocol for one operation: `open` (insert if absent) → `attempt` (counted before each call, so a pending
 * row with attempts = 0 was never sent) → gateway call with the key → `settle` → for a charge, the result
 * command is sent and `markRecorded`. A crash anywhere repeats at most the gateway call (same key) or the
 * result command (same command id, which the decider answers as a DUPLICATE).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Money } from '../../schemas/generated/types.ts';
import { SinkPool } from '../postgres/pool.ts';

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
  /** The charge whose result command had this id. */
  byResultCommand(commandId: string): Promise<Operation | undefined>;
  /** Links the charge whose result command had this id to the ReservationConfirmed it caused. */
  markConfirmed(resultCommandId: string, eventId: string): Promise<void>;
  /** The succeeded charges of a reservation that confirmed it at some point. */
  confirmedCharges(reservationId: string): Promise<Operation[]>;
  close(): Promise<void>;
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
  };
}

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
  }

  async open(op: NewOperation): Promise<Operation> {
    const inserted = await this.query<Row>(
      `INSERT INTO payment_operations (idempotency_key, kind, reservation_id, resource_id, customer_id,
         hold_version, amount_minor, currency, status, cause_event_id, result_command_id, refund_of, refund_reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12)
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
        s.status === 'failed' ? s.code : null,
        s.status === 'succeeded' ? null : s.reason,
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

  async byResultCommand(commandId: string): Promise<Operation | undefined> {
    const [row] = await this.query<Row>('SELECT * FROM payment_operations WHERE result_command_id = $1', [
      commandId,
    ]);
    return row ? operationOf(row) : undefined;
  }

  async markConfirmed(resultCommandId: string, eventId: string): Promise<void> {
    await this.query(
      `UPDATE payment_operations SET confirmed_event_id = $2, updated_at = now()
        WHERE result_command_id = $1 AND confirmed_event_id IS NULL`,
      [resultCommandId, eventId],
    );
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

  async close(): Promise<void> {
    await this.db.end();
  }
}
