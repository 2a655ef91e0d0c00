/**
 * Typed command builders: the only place where a command gets its id and its acceptance time. Ids come
 * from `crypto.randomUUID` (or `newId`), the time from the clock passed in, never from a hidden
 * `Date.now()`, so tests and replays are deterministic. Input is checked against what the contract can
 * carry (and what its consumers can store: see TEXT_RULES); every problem is reported at once in an
 * InvalidCommandError.
 */
import { randomUUID } from 'node:crypto';
import type {
  CancelReservation,
  Customer,
  Money,
  PaymentOutcome,
  RecordPaymentResult,
  ReopenReservation,
  RequestReservation,
  RetireResource,
  UpsertResource,
} from '../schemas/generated/types.ts';
import { InvalidCommandError, type Problem } from './errors.ts';

/** Milliseconds since the epoch. */
export type Clock = () => number;

export interface CommandBuilderOptions {
  /** @default Date.now */
  readonly clock?: Clock;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
}

/** Fields every command input may set; ids are generated when omitted. */
interface CommonInput {
  readonly resourceId: string;
  /** The client's Idempotency-Key, carried to the decider for deduplication. */
  readonly idempotencyKey?: string | null;
  /** Supply to re-send the very same command (e.g. after an unknown outcome); generated otherwise. */
  readonly commandId?: string;
}

export interface RequestReservationInput extends CommonInput {
  /** Supply to retry a request under the same id; generated otherwise. */
  readonly reservationId?: string;
  readonly customer: {
    readonly id: string;
    readonly fullName: string;
    readonly email: string;
    readonly phone?: string | null;
  };
  readonly start: number;
  readonly end: number;
  readonly quantity: number;
}

export interface ReservationChangeInput extends CommonInput {
  readonly reservationId: string;
  readonly customerId: string;
}

export interface CancelReservationInput extends ReservationChangeInput {
  readonly reason?: string | null;
}

export interface RecordPaymentResultInput extends ReservationChangeInput {
  readonly outcome: PaymentOutcome;
  readonly paymentReference?: string | null;
  readonly amount?: Money | null;
  readonly failureReason?: string | null;
}

export interface UpsertResourceInput extends CommonInput {
  readonly actorId: string;
  readonly name: string;
  readonly description?: string | null;
  readonly capacity: number;
  readonly unitPrice: Money;
  readonly holdTimeoutMs?: number | null;
}

export interface RetireResourceInput extends CommonInput {
  readonly actorId: string;
  readonly reason?: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURRENCY = /^[A-Z]{3}$/;
/** Longest id or key we accept: Kafka keys and PostgreSQL indexes stay small. */
export const MAX_ID_LENGTH = 200;

/**
 * The characters a text of a command may hold: the one rule of both edges, the command builders below and
 * the API's schemas (api/schemas.ts, as JSON Schema `pattern`s with the same messages). Control characters
 * (Unicode category Cc: C0 U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F) have no business in a name, an
 * email, an id, a key or a reason, and they break what reads the events: PostgreSQL's text cannot hold
 * U+0000 (the read model would lose the event), a line break splits the sentence a mail quotes a reason in.
 * - `line`: every text but prose — no control character at all;
 * - `prose`: a resource's description, a paragraph or a list typed into a text area, and a gateway's
 *   failure message, free text we do not write — TAB, LF and CR are allowed, nothing else.
 */
export const TEXT_RULES = {
  line: {
    pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]*$',
    message: 'must not contain control characters (U+0000–U+001F, U+007F–U+009F)',
  },
  prose: {
    pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$',
    message: 'must not contain control characters other than tab, line feed and carriage return',
  },
} as const;

/** Which of TEXT_RULES a text follows. */
export type TextKind = keyof typeof TEXT_RULES;

const TEXT_PATTERNS: { readonly [K in TextKind]: RegExp } = {
  line: new RegExp(TEXT_RULES.line.pattern, 'u'),
  prose: new RegExp(TEXT_RULES.prose.pattern, 'u'),
};

/** What is wrong with a text's characters under a rule of TEXT_RULES; undefined when nothing is. */
export function textProblem(value: string, kind: TextKind = 'line'): string | undefined {
  return TEXT_PATTERNS[kind].test(value) ? undefined : TEXT_RULES[kind].message;
}

class Checker {
  readonly problems: Problem[] = [];
  id(path: string, value: unknown): void {
    this.text(path, value, MAX_ID_LENGTH);
  }
  uuid(path: string, value: unknown): void {
    if (typeof value !== 'string' || !UUID.test(value))
      this.problems.push({ path, message: 'must be a UUID' });
  }
  text(path: string, value: unknown, max: number, kind: TextKind = 'line'): void {
    if (typeof value !== 'string' || value.trim() === '')
      this.problems.push({ path, message: 'must be a non-empty string' });
    else this.characters(path, value, max, kind);
  }
  optionalText(path: string, value: unknown, max: number, kind: TextKind = 'line'): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'string') this.problems.push({ path, message: 'must be a string or null' });
    else this.characters(path, value, max, kind);
  }
  private characters(path: string, value: string, max: number, kind: TextKind): void {
    if (value.length > max) this.problems.push({ path, message: `must be at most ${max} characters` });
    const problem = textProblem(value, kind);
    if (problem) this.problems.push({ path, message: problem });
  }
  integer(path: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push({ path, message: `must be an integer in ${min}..${max}` });
    }
  }
  money(path: string, value: Money | null | undefined): void {
    if (value === null || value === undefined) return;
    this.integer(`${path}.amountMinor`, value.amountMinor, 0);
    if (typeof value.currency !== 'string' || !CURRENCY.test(value.currency)) {
      this.problems.push({
        path: `${path}.currency`,
        message: 'must be an ISO 4217 code in upper case, e.g. EUR',
      });
    }
  }
  check(commandType: string): void {
    if (this.problems.length > 0) throw new InvalidCommandError(commandType, this.problems);
  }
}

/** Builds the contract's commands with fresh ids and the acceptance time from the clock. */
export class CommandBuilder {
  private readonly clock: Clock;
  private readonly newId: () => string;

  constructor(options: CommandBuilderOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.newId = options.newId ?? randomUUID;
  }

  private common(input: CommonInput, c: Checker) {
    c.id('resourceId', input.resourceId);
    if (input.commandId !== undefined) c.uuid('commandId', input.commandId);
    c.optionalText('idempotencyKey', input.idempotencyKey, MAX_ID_LENGTH);
    return {
      commandId: input.commandId ?? this.newId(),
      idempotencyKey: input.idempotencyKey ?? null,
      acceptedAt: this.clock(),
      resourceId: input.resourceId,
    };
  }

  private change(input: ReservationChangeInput, c: Checker) {
    c.uuid('reservationId', input.reservationId);
    c.id('customerId', input.customerId);
    return { ...this.common(input, c), reservationId: input.reservationId, customerId: input.customerId };
  }

  /** Asks to hold `quantity` units of a resource over [start, end); the reservation id is assigned here. */
  requestReservation(input: RequestReservationInput): RequestReservation {
    const c = new Checker();
    const common = this.common(input, c);
    if (input.reservationId !== undefined) c.uuid('reservationId', input.reservationId);
    const customer: Customer = {
      id: input.customer?.id,
      fullName: input.customer?.fullName,
      email: input.customer?.email,
      phone: input.customer?.phone ?? null,
    };
    c.id('customer.id', customer.id);
    c.text('customer.fullName', customer.fullName, 200);
    c.text('customer.email', customer.email, 320);
    c.optionalText('customer.phone', customer.phone, 32);
    c.integer('start', input.start, 0);
    c.integer('end', input.end, 0);
    c.integer('quantity', input.quantity, 1, 2_147_483_647);
    if (Number.isSafeInteger(input.start) && Number.isSafeInteger(input.end) && input.end <= input.start) {
      c.problems.push({ path: 'end', message: 'must be after start' });
    }
    c.check('RequestReservation');
    return {
      type: 'RequestReservation',
      ...common,
      reservationId: input.reservationId ?? this.newId(),
      customer,
      start: input.start,
      end: input.end,
      quantity: input.quantity,
    };
  }

  /** Asks to cancel a Pending or Confirmed reservation. */
  cancelReservation(input: CancelReservationInput): CancelReservation {
    const c = new Checker();
    const change = this.change(input, c);
    c.optionalText('reason', input.reason, 1000);
    c.check('CancelReservation');
    return { type: 'CancelReservation', ...change, reason: input.reason ?? null };
  }

  /** Asks to bring a Cancelled reservation back to Pending. */
  reopenReservation(input: ReservationChangeInput): ReopenReservation {
    const c = new Checker();
    const change = this.change(input, c);
    c.check('ReopenReservation');
    return { type: 'ReopenReservation', ...change };
  }

  /** Reports the payment gateway's answer for a Pending reservation. */
  recordPaymentResult(input: RecordPaymentResultInput): RecordPaymentResult {
    const c = new Checker();
    const change = this.change(input, c);
    if (input.outcome !== 'SUCCEEDED' && input.outcome !== 'FAILED') {
      c.problems.push({ path: 'outcome', message: 'must be SUCCEEDED or FAILED' });
    }
    c.optionalText('paymentReference', input.paymentReference, MAX_ID_LENGTH);
    c.optionalText('failureReason', input.failureReason, 1000, 'prose');
    c.money('amount', input.amount);
    c.check('RecordPaymentResult');
    return {
      type: 'RecordPaymentResult',
      ...change,
      outcome: input.outcome,
      paymentReference: input.paymentReference ?? null,
      amount: input.amount ?? null,
      failureReason: input.failureReason ?? null,
    };
  }

  /** Creates a resource or changes its settings. */
  upsertResource(input: UpsertResourceInput): UpsertResource {
    const c = new Checker();
    const common = this.common(input, c);
    c.id('actorId', input.actorId);
    c.text('name', input.name, 200);
    c.optionalText('description', input.description, 2000, 'prose');
    c.integer('capacity', input.capacity, 0, 2_147_483_647);
    if (!input.unitPrice) c.problems.push({ path: 'unitPrice', message: 'is required' });
    else c.money('unitPrice', input.unitPrice);
    if (input.holdTimeoutMs !== undefined && input.holdTimeoutMs !== null) {
      c.integer('holdTimeoutMs', input.holdTimeoutMs, 1);
    }
    c.check('UpsertResource');
    return {
      type: 'UpsertResource',
      ...common,
      actorId: input.actorId,
      name: input.name,
      description: input.description ?? null,
      capacity: input.capacity,
      unitPrice: { amountMinor: input.unitPrice.amountMinor, currency: input.unitPrice.currency },
      holdTimeoutMs: input.holdTimeoutMs ?? null,
    };
  }

  /** Stops a resource from taking new reservations; live ones are honoured. */
  retireResource(input: RetireResourceInput): RetireResource {
    const c = new Checker();
    const common = this.common(input, c);
    c.id('actorId', input.actorId);
    c.optionalText('reason', input.reason, 1000);
    c.check('RetireResource');
    return { type: 'RetireResource', ...common, actorId: input.actorId, reason: input.reason ?? null };
  }
}
