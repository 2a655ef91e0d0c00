/**
 * The notification sink's memory in PostgreSQL (tables created by the read model's migrations):
 * - `notification_contacts`: per reservation, whom to write to and what about, from its newest
 *   ReservationHeld / ReservationReopened (later events carry only ids). A reservation's events share a
 *   partition and the sink reads it in order, so the contact is there before any later event needs it.
 * - `sent_notifications`: one row per event whose mail the SMTP server accepted; checked before sending,
 *   written after.
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
}

/** The port. */
export interface NotificationStore {
  start(): Promise<void>;
  /** Keeps the contact unless a newer version is already kept. */
  rememberContact(contact: Contact): Promise<void>;
  contactFor(reservationId: string): Promise<Contact | undefined>;
  /** The newest known name and address of a customer (from any of their reservations). */
  addressOf(customerId: string): Promise<{ fullName: string; email: string } | undefined>;
  wasSent(eventId: string): Promise<boolean>;
  recordSent(record: SentRecord): Promise<void>;
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

  async rememberContact(c: Contact): Promise<void> {
    await this.query(
      `INSERT INTO notification_contacts AS n (reservation_id, customer_id, full_name, email, resource_id,
         resource_name, start_at, end_at, quantity, price_minor, currency, hold_expires_at, version, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7 / 1000.0), to_timestamp($8 / 1000.0), $9, $10, $11,
         to_timestamp($12 / 1000.0), $13, to_timestamp($14 / 1000.0))
       ON CONFLICT (reservation_id) DO UPDATE SET
         customer_id = EXCLUDED.customer_id, full_name = EXCLUDED.full_name, email = EXCLUDED.email,
         resource_id = EXCLUDED.resource_id, resource_name = EXCLUDED.resource_name,
         start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at, quantity = EXCLUDED.quantity,
         price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency,
         hold_expires_at = EXCLUDED.hold_expires_at, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
       WHERE n.version < EXCLUDED.version`,
      [
        c.reservationId,
        c.customerId,
        c.fullName,
        c.email,
        c.resourceId,
        c.resourceName,
        c.start,
        c.end,
        c.quantity,
        c.price.amountMinor,
        c.price.currency,
        c.holdExpiresAt,
        c.version,
        c.updatedAt,
      ],
    );
  }

  async contactFor(reservationId: string): Promise<Contact | undefined> {
    const [row] = await this.query<ContactRow>(
      'SELECT * FROM notification_contacts WHERE reservation_id = $1',
      [reservationId],
    );
    if (!row) return undefined;
    return {
      reservationId: row.reservation_id,
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
    };
  }

  async addressOf(customerId: string): Promise<{ fullName: string; email: string } | undefined> {
    const [row] = await this.query<{ full_name: string; email: string }>(
      `SELECT full_name, email FROM notification_contacts WHERE customer_id = $1
        ORDER BY updated_at DESC LIMIT 1`,
      [customerId],
    );
    return row ? { fullName: row.full_name, email: row.email } : undefined;
  }

  async wasSent(eventId: string): Promise<boolean> {
    const rows = await this.query('SELECT 1 FROM sent_notifications WHERE event_id = $1', [eventId]);
    return rows.length > 0;
  }

  async recordSent(r: SentRecord): Promise<void> {
    await this.query(
      `INSERT INTO sent_notifications (event_id, event_type, reservation_id, customer_id, recipient, subject,
         message_id, smtp_response)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        r.eventId,
        r.eventType,
        r.reservationId,
        r.customerId,
        r.recipient,
        r.subject,
        r.messageId,
        r.smtpResponse,
      ],
    );
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}
