/**
 * The payment check: what the ledger claims, held against what the decider decided — read independently,
 * from the events topic itself, not from the ledger's own record of decisions. The number that must always
 * be 0: charges that succeeded, whose result the ledger calls recorded, with no decision on the events topic
 * for that result command (older than the grace period, so a result in flight is not counted).
 *
 * It also reports, each of which must be empty as well:
 * - `unrecorded`: succeeded charges whose result was never acknowledged, with no decision either;
 * - `unrefunded`: captured charges whose result the decider refused (and never confirmed), not refunded;
 * - `refundedConfirmed`: charges refunded although their result confirmed the reservation, which was not
 *   cancelled afterwards.
 *
 * Run it as `npm run payments:check [-- --grace-seconds 60]` (./check-cli.ts), or call `checkPayments`.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { RESULT_DECISION_TYPES, type ResultDecisionKind, resultDecisionOf } from './decisions.ts';
import { scanEvents } from './topic-decisions.ts';

export interface CheckOptions {
  readonly config: Pick<Config, 'kafka' | 'registry' | 'postgres'>;
  readonly logger: Logger;
  /** Results last sent (and refusals decided) less than this long ago are not counted. */
  readonly graceMs: number;
}

/** One charge the check found wanting. */
export interface CheckedCharge {
  readonly key: string;
  readonly reservationId: string;
  readonly resourceId: string;
  readonly resultCommandId: string | null;
  readonly amountMinor: number;
  readonly reference: string | null;
  /** How long ago the result was last sent (or, never recorded, the charge settled), ms. */
  readonly sinceSentMs: number;
  /** Times the reconciler sent it again. */
  readonly resends: number;
  /** The decisions about its result on the events topic, in topic order. */
  readonly decisions: readonly ResultDecisionKind[];
}

/** What the check found. */
export interface PaymentCheck {
  /** Charges that succeeded (free holds included). */
  readonly succeeded: number;
  /** ... whose result the ledger calls recorded. */
  readonly recorded: number;
  /** ... with a decision about their result on the events topic. */
  readonly decided: number;
  /** ... refunded (a succeeded refund in the ledger). */
  readonly refunded: number;
  /** Recorded, no decision on the events topic, last sent more than the grace period ago: must be empty. */
  readonly undecided: CheckedCharge[];
  readonly unrecorded: CheckedCharge[];
  readonly unrefunded: CheckedCharge[];
  readonly refundedConfirmed: CheckedCharge[];
  /** Records read from the events topic. */
  readonly eventsRead: number;
  /** Every list empty. */
  readonly ok: boolean;
}

interface ChargeRow {
  idempotency_key: string;
  reservation_id: string;
  resource_id: string;
  result_command_id: string | null;
  amount_minor: string;
  gateway_reference: string | null;
  recorded: boolean;
  since_sent_ms: number;
  result_resends: number;
  refunded: boolean;
}

interface SeenDecision {
  readonly kind: ResultDecisionKind;
  readonly decidedAt: number;
  /** For a confirmation: the reservation's version after it. */
  readonly version: number | null;
}

/** Reads the ledger and the events topic and compares them; see the module comment. */
export async function checkPayments(options: CheckOptions): Promise<PaymentCheck> {
  const { config, logger, graceMs } = options;
  const charges = await readCharges(config.postgres.url);

  const decisions = new Map<string, SeenDecision[]>();
  // Versions at which a reservation left Confirmed by a cancellation (a refund is due then).
  const cancelledAfterConfirm = new Map<string, number[]>();
  const { records } = await scanEvents(
    { config, logger, types: [...RESULT_DECISION_TYPES, 'ReservationCancelled'] },
    (event) => {
      if (event.type === 'ReservationCancelled') {
        if (event.previousStatus !== 'Confirmed') return;
        const list = cancelledAfterConfirm.get(event.reservationId) ?? [];
        list.push(event.reservationVersion);
        cancelledAfterConfirm.set(event.reservationId, list);
        return;
      }
      const decision = resultDecisionOf(event);
      if (!decision) return;
      const list = decisions.get(decision.commandId) ?? [];
      list.push({
        kind: decision.kind,
        decidedAt: event.decidedAt,
        version: event.type === 'ReservationConfirmed' ? event.reservationVersion : null,
      });
      decisions.set(decision.commandId, list);
    },
  );

  const now = Date.now();
  const undecided: CheckedCharge[] = [];
  const unrecorded: CheckedCharge[] = [];
  const unrefunded: CheckedCharge[] = [];
  const refundedConfirmed: CheckedCharge[] = [];
  let recorded = 0;
  let decided = 0;
  let refunded = 0;
  for (const row of charges) {
    const seen = (row.result_command_id && decisions.get(row.result_command_id)) || [];
    const charge: CheckedCharge = {
      key: row.idempotency_key,
      reservationId: row.reservation_id,
      resourceId: row.resource_id,
      resultCommandId: row.result_command_id,
      amountMinor: Number(row.amount_minor),
      reference: row.gateway_reference,
      sinceSentMs: Math.round(row.since_sent_ms),
      resends: row.result_resends,
      decisions: seen.map((d) => d.kind),
    };
    if (row.recorded) recorded += 1;
    if (seen.length > 0) decided += 1;
    if (row.refunded) refunded += 1;
    const late = row.since_sent_ms > graceMs;
    if (seen.length === 0 && late) (row.recorded ? undecided : unrecorded).push(charge);
    const confirmation = seen.find((d) => d.kind === 'confirmed');
    const refusal = seen.find((d) => d.kind === 'rejected');
    if (
      !row.refunded &&
      charge.amountMinor > 0 &&
      confirmation === undefined &&
      refusal !== undefined &&
      now - refusal.decidedAt > graceMs
    ) {
      unrefunded.push(charge);
    }
    if (row.refunded && confirmation !== undefined) {
      const cancellations = cancelledAfterConfirm.get(row.reservation_id) ?? [];
      if (!cancellations.some((v) => v > (confirmation.version ?? 0))) refundedConfirmed.push(charge);
    }
  }
  return {
    succeeded: charges.length,
    recorded,
    decided,
    refunded,
    undecided,
    unrecorded,
    unrefunded,
    refundedConfirmed,
    eventsRead: records,
    ok: undecided.length + unrecorded.length + unrefunded.length + refundedConfirmed.length === 0,
  };
}

async function readCharges(url: string): Promise<ChargeRow[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'slotstream-payments-check' });
  await client.connect();
  try {
    const { rows } = await client.query<ChargeRow>(
      `SELECT c.idempotency_key, c.reservation_id, c.resource_id, c.result_command_id,
              COALESCE(c.settled_minor, c.amount_minor) AS amount_minor, c.gateway_reference,
              c.result_recorded_at IS NOT NULL AS recorded, c.result_resends,
              EXTRACT(EPOCH FROM now() - COALESCE(c.result_resent_at, c.result_recorded_at, c.updated_at))
                * 1000 AS since_sent_ms,
              EXISTS (SELECT 1 FROM payment_operations AS r
                       WHERE r.reservation_id = c.reservation_id AND r.kind = 'refund'
                         AND r.refund_of = c.idempotency_key AND r.status = 'succeeded') AS refunded
         FROM payment_operations AS c
        WHERE c.kind = 'charge' AND c.status = 'succeeded'`,
    );
    return rows.map((r) => ({ ...r, since_sent_ms: Number(r.since_sent_ms) }));
  } catch (error) {
    const code = (error as { code?: string }).code;
    // undefined_table, undefined_column: the read model's migrations have not run (all of them).
    if (code === '42P01' || code === '42703') {
      throw new Error(
        `the payment ledger is missing or not migrated (${(error as Error).message}): run \`npm run db:migrate\``,
        {
          cause: error,
        },
      );
    }
    throw error;
  } finally {
    await client.end();
  }
}
