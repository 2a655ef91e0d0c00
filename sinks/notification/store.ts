/**
 * The notification sink's memory in PostgreSQL (tables created by the read model's migrations):
 * - `notification_contacts`: per reservation, whom to write to and what about, from its newest
 *   ReservationHeld / ReservationReopened (later events carry only ids). A reservation's events share a
 *   partition and the sink reads it in order, so the contact is there before any later event needs it.
 * - `sent_notifications`: one row per event whose mail the SMTP server accepted; checked before sending,
 *   written after.
 *
 * Every method takes a whole batch and is one statement, one round trip: the sink reads what it needs for
 * a batch in three queries, then records sent mails a hundred at a time (./sink.ts).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Money } from '../../schemas/generated/types.ts';
import { SinkPool } from '../postgres/pool.ts';

/** Whom to write to about a reservation, and its terms. */
export interface Contact {
  readonly reservationId: string;
  readonly customerId: string;
  readonly fullName: string;
  readonly email: string;
  readonly resourceId: string;
  readonly resourceName: string;
  readonly start: number;
  readonly end: number;
  readonly quantity: number;
  readonly price: Money;
  readonly holdExpiresAt: number;
  /** reservationVersion of the event it came from. */
  readonly version: number;
  /** decidedAt of that event. */
  readonly updatedAt: number;
}

/** A mail the server accepted. */
export interface SentRecord {
  readonly eventId: string;
  readonly eventType: string;
  readonly reservationId: string;
  readonly customerId: string;
  readonly recipient: string;
  readonly subject: string;
  readonly messageId: string;
  readonly smtpResponse: string | null;
  /** When the server accepted it, epoch ms (fractions kept: a reservation's mails may be sub-ms apart). */
  readonly sentAt: number;
}

/** Where to write to a customer, and when that address was last seen. */
export interface Address {
  readonly fullName: string;
  readonly email: string;
  /** decidedAt of the event it came from, epoch ms. */
  readonly updatedAt: number;
}

/** The port: every method handles a batch in one round trip. */
export interface NotificationStore {
  start(): Promise<void>;
  /** Keeps each contact unless a newer version of it is kept already; at most one per reservation. */
  rememberContacts(contacts: readonly Contact[]): Promise<void>;
  /** The contacts kept for these reservations, by reservation id. */
  contactsFor(reservationIds: readonly string[]): Promise<Map<string, Contact>>;
  /** The newest known name and address of each of these customers (from any of their reservations). */
  addressesOf(customerIds: readonly string[]): Promise<Map<string, Address>>;
  /** Those of these event ids whose mail was sent already. */
  sentAmong(eventIds: readonly string[]): Promise<Set<string>>;
  recordSent(records: readonly SentRecord[]): Promise<void>;
  close(): Promise<void>;
}

interface ContactRow {
  reservation_id: string;
  customer_id: string;
  full_name: string;
  email: string;
  resource_id: string;
  resource_name: string;
  start_at: Date;
  end_at: Date;
  quantity: number;
  price_minor: string;
  currency: string;
  hold_expires_at: Date;
  version: number;
  updated_at: Date;
}

export interface PgNotificationStoreOptions {
  readonly url: string;
  readonly logger: Logger;
  /** @default 'notification' */
  readonly sinkName?: string;
  /** @default 4 */
  readonly poolSize?: number;
}

/** PostgreSQL text cannot hold U+0000; the sink cleans what it stores, this is the last guard. */
const pgText = (value: string): string => (value.includes('\u0000') ? value.replaceAll('\u0000', '') : value);

/** Epoch ms as the seconds to_timestamp() takes. */
const seconds = (epochMs: number) => epochMs / 1000;

/** The store in PostgreSQL. */
export class PgNotificationStore implements NotificationStore {
  private readonly db: SinkPool;

  constructor(options: PgNotificationStoreOptions) {
    this.db = new SinkPool({
      url: options.url,
      sinkName: options.sinkName ?? 'notification',
      logger: options.logger,
      poolSize: options.poolSize ?? 4,
    });
  }

  private query<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
    return this.db.rows<T>(sql, params);
  }

  async start(): Promise<void> {
    await this.db.requireTables(['sent_notifications', 'notification_contacts']);
  }

  async rememberContacts(contacts: readonly Contact[]): Promise<void> {
    if (contacts.length === 0) return;
    // Sorted by key, so two writers (a worker and dlq:replay) lock rows in the same order.
    const rows = [...contacts]
      .sort((a, b) => (a.reservationId < b.reservationId ? -1 : a.reservationId > b.reservationId ? 1 : 0))
      .map((c) => ({
        reservation_id: c.reservationId,
        customer_id: pgText(c.customerId),
        full_name: pgText(c.fullName),
        email: pgText(c.email),
        resource_id: pgText(c.resourceId),
        resource_name: pgText(c.resourceName),
        start_at: seconds(c.start),
        end_at: seconds(c.end),
        quantity: c.quantity,
        price_minor: c.price.amountMinor,
        currency: pgText(c.price.currency),
        hold_expires_at: seconds(c.holdExpiresAt),
        version: c.version,
        updated_at: seconds(c.updatedAt),
      }));
    await this.query(
      `INSERT INTO notification_contacts AS n (reservation_id, customer_id, full_name, email, resource_id,
         resource_name, start_at, end_at, quantity, price_minor, currency, hold_expires_at, version, updated_at)
       SELECT reservation_id, customer_id, full_name, email, resource_id, resource_name, to_timestamp(start_at),
         to_timestamp(end_at), quantity, price_minor, currency, to_timestamp(hold_expires_at), version,
         to_timestamp(updated_at)
       FROM json_to_recordset($1::json) AS r(reservation_id uuid, customer_id text, full_name text, email text,
         resource_id text, resource_name text, start_at float8, end_at float8, quantity integer,
         price_minor bigint, currency text, hold_expires_at float8, version integer, updated_at float8)
       ON CONFLICT (reservation_id) DO UPDATE SET
         customer_id = EXCLUDED.customer_id, full_name = EXCLUDED.full_name, email = EXCLUDED.email,
         resource_id = EXCLUDED.resource_id, resource_name = EXCLUDED.resource_name,
         start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at, quantity = EXCLUDED.quantity,
         price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency,
         hold_expires_at = EXCLUDED.hold_expires_at, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
       WHERE n.version < EXCLUDED.version`,
      [JSON.stringify(rows)],
    );
  }

  async contactsFor(reservationIds: readonly string[]): Promise<Map<string, Contact>> {
    const found = new Map<string, Contact>();
    if (reservationIds.length === 0) return found;
    const rows = await this.query<ContactRow>(
      'SELECT * FROM notification_contacts WHERE reservation_id = ANY($1::uuid[])',
      [reservationIds],
    );
    const byKey = new Map(reservationIds.map((id) => [id.toLowerCase(), id]));
    for (const row of rows) {
      found.set(byKey.get(row.reservation_id) ?? row.reservation_id, {
        reservationId: byKey.get(row.reservation_id) ?? row.reservation_id,
        customerId: row.customer_id,
        fullName: row.full_name,
        email: row.email,
        resourceId: row.resource_id,
        resourceName: row.resource_name,
        start: row.start_at.getTime(),
        end: row.end_at.getTime(),
        quantity: row.quantity,
        price: { amountMinor: Number(row.price_minor), currency: row.currency },
        holdExpiresAt: row.hold_expires_at.getTime(),
        version: row.version,
        updatedAt: row.updated_at.getTime(),
      });
    }
    return found;
  }

  async addressesOf(customerIds: readonly string[]): Promise<Map<string, Address>> {
    const found = new Map<string, Address>();
    if (customerIds.length === 0) return found;
    const rows = await this.query<{
      customer_id: string;
      full_name: string;
      email: string;
      updated_at: Date;
    }>(
      `SELECT DISTINCT ON (customer_id) customer_id, full_name, email, updated_at
         FROM notification_contacts WHERE customer_id = ANY($1::text[])
        ORDER BY customer_id, updated_at DESC`,
      [customerIds.map(pgText)],
    );
    for (const row of rows) {
      found.set(row.customer_id, {
        fullName: row.full_name,
        email: row.email,
        updatedAt: row.updated_at.getTime(),
      });
    }
    return found;
  }

  async sentAmong(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const rows = await this.query<{ event_id: string }>(
      'SELECT event_id::text FROM sent_notifications WHERE event_id = ANY($1::uuid[])',
      [eventIds],
    );
    const sent = new Set(rows.map((r) => r.event_id));
    return new Set(eventIds.filter((id) => sent.has(id.toLowerCase())));
  }

  async recordSent(records: readonly SentRecord[]): Promise<void> {
    if (records.length === 0) return;
    const rows = [...records]
      .sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0))
      .map((r) => ({
        event_id: r.eventId,
        event_type: r.eventType,
        reservation_id: r.reservationId,
        customer_id: pgText(r.customerId),
        recipient: pgText(r.recipient),
        subject: pgText(r.subject),
        message_id: pgText(r.messageId),
        smtp_response: r.smtpResponse === null ? null : pgText(r.smtpResponse),
        sent_at: seconds(r.sentAt),
      }));
    await this.query(
      `INSERT INTO sent_notifications (event_id, event_type, reservation_id, customer_id, recipient, subject,
         message_id, smtp_response, sent_at)
       SELECT event_id, event_type, reservation_id, customer_id, recipient, subject, message_id, smtp_response,
         to_timestamp(sent_at)
       FROM json_to_recordset($1::json) AS r(event_id uuid, event_type text, reservation_id uuid,
         customer_id text, recipient text, subject text, message_id text, smtp_response text, sent_at float8)
       ON CONFLICT (event_id) DO NOTHING`,
      [JSON.stringify(rows)],
    );
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}
