/**
 * The independent checker of a chaos run. `gatherEvidence` reads what the system did — both topics with
 * read_committed through the checker's own Avro decoding (./topic-reader.ts), the payment ledger and the
 * read model in PostgreSQL, the event ids in ClickHouse, the run's mail in Mailpit — and `check` holds it
 * against what the load was told (./load.ts). `check` is pure: each check lists its violations, and every
 * list must be empty.
 *
 * A command's *decision* is the event whose causationCommandId is its id, except a DUPLICATE refusal that
 * names the command itself (`duplicateOf` = its own id): that is the decider recognising the same command
 * written again (a re-send after an unknown outcome), not a second decision. HTTP operations are matched
 * by their Idempotency-Key, which every event caused by the command carries.
 */
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { SINK_NAMES } from '../../common/topics.ts';
import type { Event } from '../../schemas/generated/types.ts';
import { createClickHouseClient } from '../../sinks/clickhouse/client.ts';
import { checkDecisions } from '../support/capacity-checker.ts';
import { waitCommitted } from './drain.ts';
import type { ChaosEnvironment } from './environment.ts';
import { finalOutcome, type HttpOperation, type Operation } from './load.ts';
import type { CollectedMail } from './mail-collector.ts';
import { type DecodedRecord, IndependentDecoder, readTopic } from './topic-reader.ts';

/** A row of payment_operations, as far as the checker needs it. */
export interface LedgerRow {
  readonly idempotency_key: string;
  readonly kind: 'charge' | 'refund';
  readonly status: string;
  readonly reservation_id: string;
  readonly result_command_id: string | null;
  readonly refund_of: string | null;
}

/** Everything the checks look at. */
export interface Evidence {
  readonly events: readonly DecodedRecord[];
  readonly commands: readonly DecodedRecord[];
  /** Why the checker's view may be incomplete: records not decoded, ends not reached, groups behind. */
  readonly unreadable: readonly string[];
  readonly operations: readonly Operation[];
  readonly capacities: ReadonlyMap<string, number>;
  readonly ledger: readonly LedgerRow[];
  readonly readModel: readonly { readonly id: string; readonly status: string; readonly version: number }[];
  readonly mails: readonly CollectedMail[];
  readonly clickhouseEventIds: ReadonlySet<string>;
  /**
   * When every sink had handled every event read: a hold expiring before it may rightly have had no "held"
   * mail (the sink does not mail a payment deadline that has passed).
   */
  readonly gatheredAt: number;
  /** When the notification sink was killed (epoch ms): a mail accepted just before may be sent again. */
  readonly notificationKills: readonly number[];
}

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  /** How many things were checked. */
  readonly checked: number;
  readonly violations: readonly string[];
  /** Counts worth printing beside the result. */
  readonly notes: readonly string[];
}

/**
 * Reads everything the checks need, each view at least as new as the one before: the commands topic; once
 * the decider has committed all of it, the events topic; once every sink has committed all of that, the
 * run's mail (`collectMail`), the payment ledger, the read model and ClickHouse.
 */
export async function gatherEvidence(
  env: ChaosEnvironment,
  operations: readonly Operation[],
  collectMail: () => Promise<readonly CollectedMail[]>,
  notificationKills: readonly number[] = [],
): Promise<Evidence> {
  const decoder = new IndependentDecoder(env.config.registry.url);
  const kafka: Kafka = env.kafka;
  const commands = await readTopic(kafka, env.topics.commands, decoder);
  const deciderBehind = await waitCommitted(
    env,
    [`${env.prefix}${env.config.processor.groupId}`],
    env.topics.commands,
    commands.ends,
  );
  const events = await readTopic(kafka, env.topics.events, decoder);
  const sinksBehind = await waitCommitted(
    env,
    SINK_NAMES.map((s) => `${env.prefix}slotstream-sink-${s}`),
    env.topics.events,
    events.ends,
  );
  const gatheredAt = Date.now(); // every sink has handled every event read by now
  const mails = await collectMail();
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  let ledger: LedgerRow[];
  let readModel: { id: string; status: string; version: number }[];
  try {
    ledger = (
      await pool.query<LedgerRow>(
        `SELECT idempotency_key, kind, status, reservation_id::text, result_command_id::text, refund_of
           FROM payment_operations`,
      )
    ).rows;
    readModel = (
      await pool.query<{ id: string; status: string; version: number }>(
        'SELECT id::text, status, version FROM reservations',
      )
    ).rows;
  } finally {
    await pool.end();
  }
  const clickhouse = createClickHouseClient({
    url: env.config.clickhouse.url,
    database: env.clickhouseDatabase,
  });
  let clickhouseEventIds: Set<string>;
  try {
    const result = await clickhouse.query({
      query: 'SELECT DISTINCT toString(event_id) AS id FROM events',
      format: 'JSONEachRow',
    });
    clickhouseEventIds = new Set((await result.json<{ id: string }>()).map((r) => r.id));
  } finally {
    await clickhouse.close();
  }
  return {
    events: events.records,
    commands: commands.records,
    unreadable: [
      ...events.undecodable.map((u) => `${env.topics.events} ${u}`),
      ...commands.undecodable.map((u) => `${env.topics.commands} ${u}`),
      ...(events.incomplete ? [`${env.topics.events}: ${events.incomplete}`] : []),
      ...(commands.incomplete ? [`${env.topics.commands}: ${commands.incomplete}`] : []),
      ...deciderBehind,
      ...sinksBehind,
    ],
    operations,
    capacities: new Map(env.resources.map((r) => [r.id, r.capacity])),
    ledger,
    readModel,
    mails,
    notificationKills,
    clickhouseEventIds,
    gatheredAt,
  };
}

const isRedelivery = (e: DecodedRecord) =>
  (e.type === 'ReservationRejected' || e.type === 'ResourceChangeRejected') &&
  e.value.reason === 'DUPLICATE' &&
  e.value.duplicateOf === e.value.causationCommandId;

function groupBy<K>(items: readonly DecodedRecord[], key: (e: DecodedRecord) => K | undefined | null) {
  const out = new Map<K, DecodedRecord[]>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined || k === null) continue;
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

const describeEvent = (e: DecodedRecord) =>
  `${e.type}${e.value.reason ? `/${e.value.reason}` : ''} (event ${e.value.eventId}, partition ${e.partition} offset ${e.offset})`;

function describeOp(op: Operation): string {
  const answers = op.attempts.map((a) =>
    a.status !== undefined ? `${a.status || a.code}` : (a.code ?? a.outcome),
  );
  return op.channel === 'http'
    ? `HTTP ${op.op} key ${op.idempotencyKey} (answers ${answers.join(',')})`
    : `library ${op.command.type} ${op.command.commandId} (outcomes ${op.attempts.map((a) => a.code ?? a.outcome).join(',')})`;
}

/** The statuses a reservation has after each event type. */
const STATUS_AFTER: Readonly<Record<string, string>> = {
  ReservationHeld: 'Pending',
  ReservationReopened: 'Pending',
  ReservationConfirmed: 'Confirmed',
  ReservationCancelled: 'Cancelled',
  ReservationPaymentFailed: 'Cancelled',
  ReservationExpired: 'Expired',
  ReservationCompleted: 'Completed',
};

const MAILED_TO_CONTACT = new Set([
  'ReservationConfirmed',
  'ReservationPaymentFailed',
  'ReservationCancelled',
  'ReservationExpired',
  'ReservationCompleted',
]);
const MAILABLE_REFUSALS = new Set(['RequestReservation', 'CancelReservation', 'ReopenReservation']);

export function check(e: Evidence): CheckResult[] {
  const decisions = e.events.filter((ev) => !isRedelivery(ev));
  const byCommand = groupBy(decisions, (ev) => ev.value.causationCommandId as string);
  const byKey = groupBy(decisions, (ev) => ev.value.idempotencyKey as string | null);
  const redeliveries = e.events.length - decisions.length;
  const results: CheckResult[] = [];

  results.push({
    id: '0',
    title: 'topics read to their end, every record decoded, every group caught up',
    checked: e.events.length + e.commands.length + e.unreadable.length,
    violations: [...e.unreadable],
    notes: [`${e.events.length} events`, `${e.commands.length} commands`],
  });

  // (1) decided exactly once; refused: never; unknown: at most once.
  const once: string[] = [];
  const never: string[] = [];
  const atMostOnce: string[] = [];
  let accepted = 0;
  let refused = 0;
  let unknown = 0;
  for (const op of e.operations) {
    const outcome = finalOutcome(op);
    const found =
      op.channel === 'http'
        ? (byKey.get(op.idempotencyKey) ?? [])
        : (byCommand.get(op.command.commandId) ?? []);
    if (outcome === 'accepted' || outcome === 'rejected') {
      accepted += 1;
      if (found.length !== 1) {
        once.push(
          `${describeOp(op)}: ${found.length} decisions${found.length ? `: ${found.map(describeEvent).join('; ')}` : ''}`,
        );
      } else if (op.channel === 'http') {
        const wrong = httpMismatch(op, found[0] as DecodedRecord);
        if (wrong) once.push(`${describeOp(op)}: ${wrong}`);
      }
    } else if (outcome === 'refused') {
      refused += 1;
      if (found.length > 0)
        never.push(`${describeOp(op)}: refused, yet decided: ${found.map(describeEvent).join('; ')}`);
    } else {
      unknown += 1;
      if (found.length > 1)
        atMostOnce.push(
          `${describeOp(op)}: ${found.length} decisions: ${found.map(describeEvent).join('; ')}`,
        );
    }
  }
  results.push({
    id: '1',
    title: 'accepted (HTTP 2xx/409, library delivered) → exactly one decision',
    checked: accepted,
    violations: once,
    notes: [`${redeliveries} DUPLICATE acknowledgements of re-sent commands`],
  });
  results.push({
    id: '1r',
    title: 'refused before sending → no decision',
    checked: refused,
    violations: never,
    notes: [],
  });
  results.push({
    id: '1u',
    title: 'outcome still unknown at the end → at most one decision',
    checked: unknown,
    violations: atMostOnce,
    notes: e.operations
      .filter((op) => finalOutcome(op) === 'unknown')
      .slice(0, 3)
      .map((op) => `e.g. ${describeOp(op)}`),
  });

  // (2) delivered → on the commands topic; refused (library) → not on it.
  const onTopic = new Set(e.commands.map((c) => c.value.commandId as string));
  const missing: string[] = [];
  const written: string[] = [];
  let delivered = 0;
  let libraryRefused = 0;
  for (const op of e.operations) {
    const outcome = finalOutcome(op);
    const commandId = op.channel === 'library' ? op.command.commandId : op.commandId;
    if (outcome === 'accepted' || outcome === 'rejected') {
      if (commandId === undefined) continue; // a 201/200 names the reservation, not the command
      delivered += 1;
      if (!onTopic.has(commandId))
        missing.push(`${describeOp(op)}: command ${commandId} is not on the commands topic`);
    } else if (outcome === 'refused' && op.channel === 'library') {
      libraryRefused += 1;
      if (onTopic.has(op.command.commandId))
        written.push(`${describeOp(op)}: refused, yet on the commands topic`);
    }
  }
  results.push({
    id: '2',
    title: 'delivered (library resolved, HTTP 202/409 commandId) → on the commands topic',
    checked: delivered,
    violations: missing,
    notes: [],
  });
  results.push({
    id: '2r',
    title: 'refused by the library → not on the commands topic',
    checked: libraryRefused,
    violations: written,
    notes: [],
  });

  // (3) capacity never exceeded, no reservation held twice (test/support/capacity-checker.ts, naive replay).
  const asEvents = e.events.map((ev) => ({ type: ev.type, ...ev.value }) as unknown as Event);
  const replay = checkDecisions(asEvents, new Set(), e.capacities);
  const holds = e.events.filter(
    (ev) => ev.type === 'ReservationHeld' || ev.type === 'ReservationReopened',
  ).length;
  results.push({
    id: '3',
    title: 'no resource overbooked at any instant, no reservation held twice',
    checked: holds,
    violations: [...replay.overbooked, ...replay.heldTwice.map((id) => `reservation ${id} held twice`)],
    notes: [`${e.capacities.size} resources, capacity ${[...new Set(e.capacities.values())].join('/')}`],
  });

  // (4) every captured payment is decided or refunded.
  const causes = new Set(e.events.map((ev) => ev.value.causationCommandId as string));
  const refunded = new Set(
    e.ledger.filter((r) => r.kind === 'refund' && r.status === 'succeeded').map((r) => r.refund_of),
  );
  const charges = e.ledger.filter((r) => r.kind === 'charge' && r.status === 'succeeded');
  const lost = charges
    .filter(
      (r) => !(r.result_command_id && causes.has(r.result_command_id)) && !refunded.has(r.idempotency_key),
    )
    .map(
      (r) =>
        `charge ${r.idempotency_key} captured; its result ${r.result_command_id} was never decided and it was not refunded`,
    );
  const count = (kind: string, status: string) =>
    e.ledger.filter((r) => r.kind === kind && r.status === status).length;
  results.push({
    id: '4',
    title: 'every succeeded charge has a decided result or a succeeded refund',
    checked: charges.length,
    violations: lost,
    notes: [
      `charges: ${charges.length} succeeded, ${count('charge', 'failed')} failed, ${count('charge', 'skipped')} skipped, ${count('charge', 'pending')} pending`,
      `refunds: ${refunded.size} succeeded, ${count('refund', 'failed')} failed, ${count('refund', 'pending')} pending`,
    ],
  });

  results.push(checkReadModel(e));
  results.push(checkMail(e));

  // (7) ClickHouse holds every event once (by event id), and nothing else.
  const eventIds = new Set(e.events.map((ev) => ev.value.eventId as string));
  const notInClickHouse = [...eventIds].filter((id) => !e.clickhouseEventIds.has(id));
  const strangers = [...e.clickhouseEventIds].filter((id) => !eventIds.has(id));
  results.push({
    id: '7',
    title: 'ClickHouse holds every event (by event id) and no other',
    checked: eventIds.size,
    violations: [
      ...notInClickHouse.map((id) => `event ${id} is not in ClickHouse`),
      ...strangers.map((id) => `ClickHouse holds event ${id}, which is not on the events topic`),
    ],
    notes: [],
  });
  return results;
}

/** What an HTTP answer said that its decision contradicts, if anything. */
function httpMismatch(op: HttpOperation, decision: DecodedRecord): string | undefined {
  const expected: Record<number, string> =
    op.op === 'request'
      ? { 201: 'ReservationHeld', 409: 'ReservationRejected' }
      : { 200: 'ReservationCancelled', 409: 'ReservationRejected' };
  const want = op.answeredStatus === undefined ? undefined : expected[op.answeredStatus];
  if (want && decision.type !== want)
    return `answered ${op.answeredStatus} but decided ${describeEvent(decision)}`;
  if (op.commandId && decision.value.causationCommandId !== op.commandId) {
    return `answered with command ${op.commandId} but ${describeEvent(decision)} was caused by ${decision.value.causationCommandId}`;
  }
  if (op.reservationId && decision.value.reservationId !== op.reservationId) {
    return `answered for reservation ${op.reservationId} but ${describeEvent(decision)} is about ${decision.value.reservationId}`;
  }
  return undefined;
}

/** (5) The read model shows the status and version of each reservation's last event. */
function checkReadModel(e: Evidence): CheckResult {
  const last = new Map<string, DecodedRecord>();
  const violations: string[] = [];
  for (const ev of e.events) {
    const version = ev.value.reservationVersion;
    if (typeof version !== 'number') continue;
    const id = ev.value.reservationId as string;
    const seen = last.get(id);
    if (seen && seen.value.reservationVersion === version) {
      violations.push(
        `reservation ${id}: two events with version ${version}: ${describeEvent(seen)}, ${describeEvent(ev)}`,
      );
    }
    if (!seen || (seen.value.reservationVersion as number) < version) last.set(id, ev);
  }
  const rows = new Map(e.readModel.map((r) => [r.id, r]));
  for (const [id, ev] of last) {
    const row = rows.get(id);
    const status = STATUS_AFTER[ev.type];
    if (!row) violations.push(`reservation ${id}: no row; last event ${describeEvent(ev)}`);
    else if (row.status !== status || row.version !== ev.value.reservationVersion) {
      violations.push(
        `reservation ${id}: row says ${row.status} v${row.version}, last event ${describeEvent(ev)} says ${status} v${ev.value.reservationVersion}`,
      );
    }
  }
  for (const id of rows.keys()) if (!last.has(id)) violations.push(`reservation ${id}: a row but no event`);
  const byStatus = new Map<string, number>();
  for (const r of e.readModel) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  return {
    id: '5',
    title: "the read model shows each reservation's last event (status, version)",
    checked: last.size,
    violations,
    notes: [[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ')],
  };
}

/**
 * (6) Every mailable event was mailed exactly once, by Message-ID `<eventId@…>` (sinks/notification): the
 * steps of a reservation to its holder; refusals of a customer's request, cancel or reopen (not DUPLICATE)
 * to a customer whose address is known by then — every customer of the run has one reservation, on one
 * resource, so "by then" is "earlier on the same partition". A "held" mail is not sent once its payment
 * deadline has passed, so a hold that expired before the evidence was gathered may have none (never two).
 *
 * Copies. No mail server offers exactly-once delivery: a sink killed after the server accepted a mail and
 * before it recorded that sends the same message again on restart, with the same Message-ID, which is how
 * a mail client recognises a copy as the message it already has. A second delivery counts as such a copy
 * only if the first arrived within COPY_WINDOW_MS before a kill of the notification sink and the copy after
 * that kill; any other second delivery (a replay that ignored the store, a retry of a recorded mail) is a
 * violation. Copies are counted and printed.
 */
const COPY_WINDOW_MS = 5_000;

function checkMail(e: Evidence): CheckResult {
  type Expectation = 'one' | 'at most one' | 'none';
  const expected = new Map<string, { expectation: Expectation; event: DecodedRecord }>();
  const contacts = new Map<string, string>(); // reservation → its customer
  const addressed = new Set<string>(); // customers whose address is known
  for (const ev of e.events) {
    const v = ev.value;
    let expectation: Expectation = 'none';
    if (ev.type === 'ReservationHeld' || ev.type === 'ReservationReopened') {
      contacts.set(v.reservationId, v.customer.id);
      addressed.add(v.customer.id);
      expectation = v.holdExpiresAt > e.gatheredAt ? 'one' : 'at most one';
    } else if (MAILED_TO_CONTACT.has(ev.type)) {
      expectation = contacts.has(v.reservationId) ? 'one' : 'none';
    } else if (
      ev.type === 'ReservationRejected' &&
      MAILABLE_REFUSALS.has(v.commandType) &&
      v.reason !== 'DUPLICATE'
    ) {
      const own = contacts.get(v.reservationId) === v.customerId;
      expectation = own || addressed.has(v.customerId) ? 'one' : 'none';
    }
    expected.set(v.eventId, { expectation, event: ev });
  }
  const mailsPerEvent = new Map<string, CollectedMail[]>();
  const violations: string[] = [];
  for (const mail of e.mails) {
    const eventId = mail.messageId.replace(/^<|>$/g, '').split('@')[0] ?? '';
    if (!expected.has(eventId))
      violations.push(`mail ${mail.messageId} to ${mail.to} ("${mail.subject}") is for no event of the run`);
    mailsPerEvent.set(eventId, [...(mailsPerEvent.get(eventId) ?? []), mail]);
  }
  const received = (mails: readonly CollectedMail[]) =>
    `received ${mails
      .map((m) => m.created.slice(11, 21))
      .sort()
      .join(', ')}`;
  let checked = 0;
  const tally = { missing: 0, twice: 0, unexpected: 0, copies: 0 };
  const copiesAfterKill = (mails: readonly CollectedMail[]): boolean => {
    const times = mails.map((m) => Date.parse(m.created)).sort((a, b) => a - b);
    const first = times[0] as number;
    return times
      .slice(1)
      .every((later) =>
        e.notificationKills.some((kill) => first <= kill && kill - first <= COPY_WINDOW_MS && later > kill),
      );
  };
  for (const [eventId, { expectation, event }] of expected) {
    const mails = mailsPerEvent.get(eventId) ?? [];
    const n = mails.length;
    if (expectation !== 'none') checked += 1;
    if (expectation === 'one' && n === 0) {
      tally.missing += 1;
      violations.push(`no mail for ${describeEvent(event)}`);
    } else if (expectation !== 'none' && n > 1 && copiesAfterKill(mails)) {
      tally.copies += n - 1;
    } else if (expectation !== 'none' && n > 1) {
      tally.twice += 1;
      violations.push(`${n} mails for ${describeEvent(event)}, ${received(mails)}`);
    } else if (expectation === 'none' && n > 0) {
      tally.unexpected += 1;
      violations.push(`${n} mail(s) for ${describeEvent(event)}, which calls for none, ${received(mails)}`);
    }
  }
  const count = (x: Expectation) => [...expected.values()].filter((v) => v.expectation === x).length;
  return {
    id: '6',
    title: 'every mailable event mailed exactly once (by Message-ID)',
    checked,
    violations,
    notes: [
      `${e.mails.length} mails; events calling for one ${count('one')}, at most one ${count('at most one')}`,
      `missing ${tally.missing}, more than one ${tally.twice}, unexpected ${tally.unexpected}`,
      `copies of one message (same Message-ID) sent again after a kill of the notification sink between accept and record: ${tally.copies}`,
    ],
  };
}
