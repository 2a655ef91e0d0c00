/**
 * The API's view of the PostgreSQL read model that the postgres sink projects from the events
 * (sinks/postgres/migrations, docs/read-model.md): resources, customers, reservations and decisions.
 * Read-only; every query is parameterised.
 */
import type pg from 'pg';
import type { Money, ReservationStatus } from '../../schemas/generated/types.ts';

export interface ReservationView {
  readonly id: string;
  readonly resourceId: string;
  readonly resourceName: string | null;
  readonly customerId: string;
  readonly status: ReservationStatus;
  readonly version: number;
  readonly start: string | null;
  readonly end: string | null;
  readonly quantity: number | null;
  readonly unitPrice: Money | null;
  readonly price: Money | null;
  readonly holdExpiresAt: string | null;
  readonly paymentReference: string | null;
  readonly confirmedAt: string | null;
  readonly cancelledAt: string | null;
  readonly cancelReason: string | null;
  readonly paymentFailureReason: string | null;
  readonly expiredAt: string | null;
  readonly completedAt: string | null;
  readonly createdAt: string | null;
  readonly updatedAt: string;
}

/** A decision of the decider about one command: accepted (an event that changed something) or refused. */
export interface DecisionView {
  readonly commandId: string;
  readonly eventType: string;
  readonly resourceId: string;
  readonly reservationId: string | null;
  readonly customerId: string | null;
  readonly rejected: boolean;
  readonly reason: string | null;
  readonly detail: string | null;
  readonly version: number | null;
  readonly decidedAt: string;
}

export interface ResourceView {
  readonly id: string;
  readonly name: string | null;
  readonly description: string | null;
  readonly capacity: number | null;
  readonly unitPrice: Money | null;
  readonly holdTimeoutMs: number | null;
  readonly retired: boolean;
  readonly retiredAt: string | null;
  readonly version: number;
  readonly createdAt: string | null;
  readonly updatedAt: string;
}

export interface CustomerView {
  readonly id: string;
  readonly fullName: string;
  readonly email: string;
  readonly phone: string | null;
  readonly updatedAt: string;
}

/** Free capacity of a resource over one interval where it does not change. */
export interface AvailabilityInterval {
  readonly start: string;
  readonly end: string;
  readonly reserved: number;
  readonly free: number;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass as `after` to get the next page; null on the last page. */
  readonly next: string | null;
}

export interface ReservationFilter {
  readonly customerId?: string;
  readonly resourceId?: string;
  readonly status?: ReservationStatus;
  readonly limit: number;
  readonly after?: string;
}

/** What the routes read. */
export interface ReadModel {
  reservation(id: string): Promise<ReservationView | undefined>;
  reservations(filter: ReservationFilter): Promise<Page<ReservationView>>;
  /** The decisions about each command, by command id (one per command; the first if several). */
  decisionsByCommand(commandIds: readonly string[]): Promise<ReadonlyMap<string, DecisionView>>;
  /** The latest decision about each reservation id, e.g. the refusal of its request. */
  latestDecisionsByReservation(reservationIds: readonly string[]): Promise<ReadonlyMap<string, DecisionView>>;
  resource(id: string): Promise<ResourceView | undefined>;
  resources(options: { limit: number; after?: string; includeRetired: boolean }): Promise<Page<ResourceView>>;
  /** Free capacity over [from, to); undefined when the resource is unknown. */
  availability(
    resourceId: string,
    from: number,
    to: number,
  ): Promise<{ resource: ResourceView; intervals: AvailabilityInterval[] } | undefined>;
  customer(id: string): Promise<CustomerView | undefined>;
  customers(options: { limit: number; after?: string }): Promise<Page<CustomerView>>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
const money = (minor: string | number | null, currency: string | null): Money | null =>
  minor === null || currency === null ? null : { amountMinor: Number(minor), currency: currency.trim() };

interface ReservationRow {
  id: string;
  resource_id: string;
  resource_name: string | null;
  customer_id: string;
  status: ReservationStatus;
  version: number;
  start_at: Date | null;
  end_at: Date | null;
  quantity: number | null;
  unit_price_minor: string | null;
  price_minor: string | null;
  currency: string | null;
  hold_expires_at: Date | null;
  payment_reference: string | null;
  confirmed_at: Date | null;
  cancelled_at: Date | null;
  cancel_reason: string | null;
  payment_failure_reason: string | null;
  expired_at: Date | null;
  completed_at: Date | null;
  created_at: Date | null;
  updated_at: Date;
}

/**
 * A reservation row is served only once its terms are known (`details_version`, set by ReservationHeld or
 * ReservationReopened). A status event applied without its hold (the hold was dead-lettered, or comes later
 * in a replay) leaves a row with a status but no period or quantity: that is not a reservation one can show
 * or act on, and availability cannot count it (docs/read-model.md).
 */
const COMPLETE = 'details_version IS NOT NULL';

const RESERVATION_COLUMNS = `id, resource_id, resource_name, customer_id, status, version, start_at, end_at,
  quantity, unit_price_minor, price_minor, currency, hold_expires_at, payment_reference, confirmed_at,
  cancelled_at, cancel_reason, payment_failure_reason, expired_at, completed_at, created_at, updated_at`;

const toReservation = (r: ReservationRow): ReservationView => ({
  id: r.id,
  resourceId: r.resource_id,
  resourceName: r.resource_name,
  customerId: r.customer_id,
  status: r.status,
  version: r.version,
  start: iso(r.start_at),
  end: iso(r.end_at),
  quantity: r.quantity,
  unitPrice: money(r.unit_price_minor, r.currency),
  price: money(r.price_minor, r.currency),
  holdExpiresAt: iso(r.hold_expires_at),
  paymentReference: r.payment_reference,
  confirmedAt: iso(r.confirmed_at),
  cancelledAt: iso(r.cancelled_at),
  cancelReason: r.cancel_reason,
  paymentFailureReason: r.payment_failure_reason,
  expiredAt: iso(r.expired_at),
  completedAt: iso(r.completed_at),
  createdAt: iso(r.created_at),
  updatedAt: r.updated_at.toISOString(),
});

interface DecisionRow {
  command_id: string;
  event_type: string;
  resource_id: string;
  reservation_id: string | null;
  customer_id: string | null;
  rejected: boolean;
  reason: string | null;
  detail: string | null;
  version: number | null;
  decided_at: Date;
}

const toDecision = (r: DecisionRow): DecisionView => ({
  commandId: r.command_id,
  eventType: r.event_type,
  resourceId: r.resource_id,
  reservationId: r.reservation_id,
  customerId: r.customer_id,
  rejected: r.rejected,
  reason: r.reason,
  detail: r.detail,
  version: r.version,
  decidedAt: r.decided_at.toISOString(),
});

interface ResourceRow {
  id: string;
  name: string | null;
  description: string | null;
  capacity: number | null;
  unit_price_minor: string | null;
  currency: string | null;
  hold_timeout_ms: string | null;
  retired: boolean;
  retired_at: Date | null;
  version: number;
  created_at: Date | null;
  updated_at: Date;
}

const RESOURCE_COLUMNS =
  'id, name, description, capacity, unit_price_minor, currency, hold_timeout_ms, retired, retired_at, version, created_at, updated_at';

const toResource = (r: ResourceRow): ResourceView => ({
  id: r.id,
  name: r.name,
  description: r.description,
  capacity: r.capacity,
  unitPrice: money(r.unit_price_minor, r.currency),
  holdTimeoutMs: r.hold_timeout_ms === null ? null : Number(r.hold_timeout_ms),
  retired: r.retired,
  retiredAt: iso(r.retired_at),
  version: r.version,
  createdAt: iso(r.created_at),
  updatedAt: r.updated_at.toISOString(),
});

/** Keyset cursors are opaque to clients: base64url of the sort key. */
export function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** Shapes of the sort keys the cursors hold, as this API writes them. */
export const CURSOR_PARTS = {
  /** `Date.toISOString()`: always within PostgreSQL's timestamptz range. */
  instant: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /** An id (at most MAX_ID_LENGTH): any text PostgreSQL can hold, so no NUL (U+0000). */
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing NUL is the point
  id: /^[^\u0000]{1,200}$/u,
} as const;

/**
 * The sort key in a cursor: `length` strings, or strings of the given shapes. A cursor we did not write (or
 * one whose parts PostgreSQL could not take: a bad time, a bad UUID, a NUL) is an InvalidCursorError, a 400.
 */
export function decodeCursor(
  cursor: string | undefined,
  shape: number | readonly RegExp[],
): string[] | undefined {
  if (cursor === undefined) return undefined;
  const patterns = typeof shape === 'number' ? undefined : shape;
  const length = patterns ? patterns.length : (shape as number);
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parts) &&
      parts.length === length &&
      parts.every((p, i) => typeof p === 'string' && (!patterns || patterns[i]?.test(p))) &&
      (!patterns?.includes(CURSOR_PARTS.instant) ||
        parts.every((p, i) => patterns[i] !== CURSOR_PARTS.instant || !Number.isNaN(Date.parse(p))))
    ) {
      return parts as string[];
    }
  } catch {}
  throw new InvalidCursorError();
}

/** Thrown when a client sends a pagination cursor it did not get from us. */
export class InvalidCursorError extends Error {
  constructor() {
    super('the cursor is not one this API issued');
    this.name = 'InvalidCursorError';
  }
}

/**
 * Free capacity per interval: a sweep over the boundaries of the overlapping live reservations, merging
 * neighbours with the same load. Pure, for the unit tests.
 */
export function freeIntervals(
  capacity: number,
  from: number,
  to: number,
  live: readonly { start: number; end: number; quantity: number }[],
): { start: number; end: number; reserved: number; free: number }[] {
  const deltas = new Map<number, number>();
  for (const r of live) {
    const s = Math.max(r.start, from);
    const e = Math.min(r.end, to);
    if (s >= e) continue;
    deltas.set(s, (deltas.get(s) ?? 0) + r.quantity);
    deltas.set(e, (deltas.get(e) ?? 0) - r.quantity);
  }
  deltas.set(from, deltas.get(from) ?? 0);
  deltas.set(to, deltas.get(to) ?? 0);
  const points = [...deltas.keys()].sort((a, b) => a - b);
  const out: { start: number; end: number; reserved: number; free: number }[] = [];
  let load = 0;
  for (let i = 0; i < points.length - 1; i++) {
    const at = points[i] as number;
    load += deltas.get(at) ?? 0;
    const next = points[i + 1] as number;
    const last = out[out.length - 1];
    if (last && last.reserved === load && last.end === at) last.end = next;
    else out.push({ start: at, end: next, reserved: load, free: Math.max(0, capacity - load) });
  }
  return out;
}

/** The read model in PostgreSQL. */
export class PgReadModel implements ReadModel {
  constructor(private readonly pool: pg.Pool) {}

  async reservation(id: string): Promise<ReservationView | undefined> {
    const { rows } = await this.pool.query<ReservationRow>(
      `SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE id = $1 AND ${COMPLETE}`,
      [id],
    );
    return rows[0] ? toReservation(rows[0]) : undefined;
  }

  async reservations(filter: ReservationFilter): Promise<Page<ReservationView>> {
    // Newest first by creation time, which never changes, so pages stay stable while rows are updated.
    const where: string[] = ['created_at IS NOT NULL', COMPLETE];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.customerId !== undefined) add('customer_id = ?', filter.customerId);
    if (filter.resourceId !== undefined) add('resource_id = ?', filter.resourceId);
    if (filter.status !== undefined) add('status = ?', filter.status);
    const after = decodeCursor(filter.after, [CURSOR_PARTS.instant, CURSOR_PARTS.uuid]);
    if (after) {
      params.push(after[0], after[1]);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(filter.limit + 1);
    const { rows } = await this.pool.query<ReservationRow>(
      `SELECT ${RESERVATION_COLUMNS} FROM reservations
       WHERE ${where.join(' AND ')}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toReservation),
      next:
        rows.length > filter.limit && last
          ? encodeCursor([(last.created_at as Date).toISOString(), last.id])
          : null,
    };
  }

  async decisionsByCommand(commandIds: readonly string[]): Promise<ReadonlyMap<string, DecisionView>> {
    if (commandIds.length === 0) return new Map();
    const { rows } = await this.pool.query<DecisionRow>(
      `SELECT DISTINCT ON (command_id) command_id, event_type, resource_id, reservation_id, customer_id,
              rejected, reason, detail, version, decided_at
       FROM decisions WHERE command_id = ANY($1::uuid[])
       ORDER BY command_id, decided_at, event_id`,
      [commandIds],
    );
    return new Map(rows.map((r) => [r.command_id, toDecision(r)]));
  }

  async latestDecisionsByReservation(
    reservationIds: readonly string[],
  ): Promise<ReadonlyMap<string, DecisionView>> {
    if (reservationIds.length === 0) return new Map();
    const { rows } = await this.pool.query<DecisionRow>(
      `SELECT DISTINCT ON (reservation_id) command_id, event_type, resource_id, reservation_id, customer_id,
              rejected, reason, detail, version, decided_at
       FROM decisions WHERE reservation_id = ANY($1::uuid[])
       ORDER BY reservation_id, decided_at DESC, event_id DESC`,
      [reservationIds],
    );
    return new Map(rows.map((r) => [r.reservation_id as string, toDecision(r)]));
  }

  async resource(id: string): Promise<ResourceView | undefined> {
    const { rows } = await this.pool.query<ResourceRow>(
      `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE id = $1`,
      [id],
    );
    return rows[0] ? toResource(rows[0]) : undefined;
  }

  async resources(options: {
    limit: number;
    after?: string;
    includeRetired: boolean;
  }): Promise<Page<ResourceView>> {
    const after = decodeCursor(options.after, [CURSOR_PARTS.id]);
    const { rows } = await this.pool.query<ResourceRow>(
      `SELECT ${RESOURCE_COLUMNS} FROM resources
       WHERE ($1::text IS NULL OR id > $1) AND ($2 OR NOT retired) AND name IS NOT NULL
       ORDER BY id LIMIT $3`,
      [after?.[0] ?? null, options.includeRetired, options.limit + 1],
    );
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toResource),
      next: rows.length > options.limit && last ? encodeCursor([last.id]) : null,
    };
  }

  async availability(resourceId: string, from: number, to: number) {
    const resource = await this.resource(resourceId);
    if (!resource || resource.capacity === null) return undefined;
    const { rows } = await this.pool.query<{ start_at: Date; end_at: Date; quantity: number }>(
      `SELECT start_at, end_at, quantity FROM reservations
       WHERE resource_id = $1 AND period && tstzrange($2, $3, '[)') AND status IN ('Pending', 'Confirmed')`,
      [resourceId, new Date(from), new Date(to)],
    );
    const intervals = freeIntervals(
      resource.capacity,
      from,
      to,
      rows.map((r) => ({ start: r.start_at.getTime(), end: r.end_at.getTime(), quantity: r.quantity })),
    ).map((i) => ({ ...i, start: new Date(i.start).toISOString(), end: new Date(i.end).toISOString() }));
    return { resource, intervals };
  }

  async customer(id: string): Promise<CustomerView | undefined> {
    const { rows } = await this.pool.query<{
      id: string;
      full_name: string;
      email: string;
      phone: string | null;
      updated_at: Date;
    }>('SELECT id, full_name, email, phone, updated_at FROM customers WHERE id = $1', [id]);
    const r = rows[0];
    return r
      ? {
          id: r.id,
          fullName: r.full_name,
          email: r.email,
          phone: r.phone,
          updatedAt: r.updated_at.toISOString(),
        }
      : undefined;
  }

  async customers(options: { limit: number; after?: string }): Promise<Page<CustomerView>> {
    const after = decodeCursor(options.after, [CURSOR_PARTS.id]);
    const { rows } = await this.pool.query<{
      id: string;
      full_name: string;
      email: string;
      phone: string | null;
      updated_at: Date;
    }>(
      `SELECT id, full_name, email, phone, updated_at FROM customers
       WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [after?.[0] ?? null, options.limit + 1],
    );
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        id: r.id,
        fullName: r.full_name,
        email: r.email,
        phone: r.phone,
        updatedAt: r.updated_at.toISOString(),
      })),
      next: rows.length > options.limit && last ? encodeCursor([last.id]) : null,
    };
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}
