/**
 * The notification sink: e-mails the customer about each step of a reservation — held (with the payment
 * deadline), reopened, confirmed, payment failed, rejected (with a human reason), cancelled, expired,
 * completed — over SMTP (./mailer.ts), from templates (./templates.ts).
 *
 * At most once per event, as far as we can control it: `sent_notifications` (./store.ts) is checked before
 * sending and written after the server accepted the mail. A crash between the two sends the mail again on
 * redelivery, but with the same `Message-ID: <eventId@domain>`, so a mail client shows it once. Sending
 * only after writing a claim would lose the mail instead, and the contract is to lose nothing.
 *
 * Throughput: a batch is read from PostgreSQL in three queries (contacts, addresses, mails already sent),
 * its contacts kept in one statement, and its mails sent by reservation — each reservation's mails in
 * order, up to `concurrency` reservations at a time over a pool of SMTP connections — and recorded a
 * hundred at a time while the batch is still sending.
 *
 * What is not mailed: events older than `maxEventAgeMs` and "held" mails past their payment deadline (too
 * late to help; a replay of the topic must not write to a month of customers), resource events, refusals of payment results (system traffic: the customer hears
 * about the expiry or the cancellation itself), DUPLICATE refusals (a client retry; the original was
 * answered), and events whose customer address is unknown (a refused first request names only the
 * customer id) — those are logged and skipped, since no later attempt can find an address either.
 */

import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { forEachLimited } from '../../common/for-each-limited.ts';
import type {
  Event,
  ReservationHeld,
  ReservationRejected,
  ReservationReopened,
} from '../../schemas/generated/types.ts';
import { describe } from '../runtime/errors.ts';
import type { Sink, SinkEvent } from '../runtime/types.ts';
import { type Mailer, SmtpMailer } from './mailer.ts';
import {
  compileNotificationOptions,
  type NotificationSinkOptions,
  notificationOptionsFromEnv,
  notificationRuntimeDefaults,
} from './options.ts';
import {
  type Address,
  type Contact,
  type NotificationStore,
  PgNotificationStore,
  type SentRecord,
} from './store.ts';
import { type Notification, type ReservationDetails, render } from './templates.ts';
import { hasControlCharacters, headerText } from './text.ts';

export interface NotificationSinkDeps {
  readonly mailer: Mailer;
  readonly store: NotificationStore;
  readonly logger: Logger;
  /** Sender address `Name <address>`; its domain names the Message-IDs unless configured otherwise. */
  readonly from: string;
  readonly options?: Partial<NotificationSinkOptions>;
  /** The sink's clock, epoch ms (stale events, passed deadlines). @default Date.now */
  readonly clock?: () => number;
  /** @default 'notification' */
  readonly name?: string;
}

/** What the sink did since it started (logs and tests). */
export type NotificationStats = {
  sent: number;
  alreadySent: number;
  noAddress: number;
  /** Not mailed because they were too old, or a payment deadline had already passed. */
  stale: number;
};

/** An event about a reservation (resource events carry none). */
type ReservationEvent = Extract<Event, { reservationId: string }>;

/** What the store knew before a batch, updated in memory as the batch's events are read in order. */
interface Known {
  readonly contacts: Map<string, Contact>;
  readonly addresses: Map<string, Address>;
}

/** A mail to send for an event: to whom, and what. */
interface Plan {
  readonly event: ReservationEvent;
  readonly notification: Notification;
  readonly reservationId: string;
  readonly customerId: string;
  readonly name: string;
  readonly email: string;
}

/** The notification sink. */
export class NotificationSink implements Sink {
  readonly name: string;
  readonly runtimeDefaults = notificationRuntimeDefaults;
  readonly options: NotificationSinkOptions;
  readonly stats: NotificationStats = { sent: 0, alreadySent: 0, noAddress: 0, stale: 0 };
  private readonly logger: Logger;
  private readonly domain: string;
  private readonly clock: () => number;

  constructor(private readonly deps: NotificationSinkDeps) {
    this.name = deps.name ?? 'notification';
    this.options = compileNotificationOptions(deps.options);
    this.logger = deps.logger.child({ component: 'notification-sink' });
    this.domain = this.options.messageIdDomain ?? domainOf(deps.from);
    this.clock = deps.clock ?? Date.now;
  }

  async start(): Promise<void> {
    await this.deps.store.start();
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.deps.mailer.close(), this.deps.store.close()]);
  }

  /** The port the mails go out through. */
  get mailer(): Mailer {
    return this.deps.mailer;
  }

  /** The Message-ID of the mail for an event. */
  messageIdOf(eventId: string): string {
    return `<${eventId}@${this.domain}>`;
  }

  /**
   * Plans the batch's mails from what the store knew before it and the batch itself (read in order, as the
   * sink used to read one event at a time), keeps its contacts, then sends: events grouped by reservation,
   * each group in order, up to `concurrency` groups at a time; a group stops at its first failure. Mails
   * the server accepted are recorded even when others failed. The batch fails with a retryable error if
   * any group had one (mails already sent are skipped when it is retried), else with the first refusal
   * (the runtime isolates it).
   */
  async handleBatch(events: readonly SinkEvent[]): Promise<void> {
    const relevant: ReservationEvent[] = [];
    for (const e of events) if ('reservationId' in e.event) relevant.push(e.event);
    if (relevant.length === 0) return;
    const { store } = this.deps;
    const [contacts, addresses, sent] = await Promise.all([
      store.contactsFor(unique(relevant.map((e) => e.reservationId))),
      store.addressesOf(unique(relevant.filter(mailableRefusal).map((e) => e.customerId))),
      store.sentAmong(unique(relevant.map((e) => e.eventId))),
    ]);
    const known: Known = { contacts, addresses };
    const remember = new Map<string, Contact>();
    const planned = new Set<string>();
    const groups = new Map<string, Plan[]>();
    for (const event of relevant) {
      if (event.type === 'ReservationHeld' || event.type === 'ReservationReopened') {
        const contact = this.keep(contactOf(event), known);
        if (contact) remember.set(contact.reservationId, contact);
      }
      const stale = this.staleness(event);
      if (stale) {
        this.stats.stale += 1;
        this.logger.debug({ eventId: event.eventId, type: event.type, why: stale }, 'not mailed: stale');
        continue;
      }
      const plan = this.plan(event, known);
      if (!plan) continue;
      if (sent.has(event.eventId) || planned.has(event.eventId)) {
        this.stats.alreadySent += 1;
        continue;
      }
      planned.add(event.eventId);
      const group = groups.get(event.reservationId);
      if (group) group.push(plan);
      else groups.set(event.reservationId, [plan]);
    }
    // Kept before anything is sent, as before: a contact outlives a mail that fails.
    await store.rememberContacts([...remember.values()]);

    const log = new SentLog(store, this.options.recordEvery);
    const failures: unknown[] = [];
    await forEachLimited([...groups.values()], this.options.concurrency, async (group) => {
      for (const plan of group) {
        try {
          log.add(await this.send(plan));
        } catch (error) {
          failures.push(error);
          return;
        }
      }
    });
    await log.close().catch((error: unknown) => failures.push(error));
    if (failures.length === 0) return;
    throw failures.find((f) => describe(f).retryable) ?? failures[0];
  }

  /**
   * Keeps a contact in `known` unless a newer version is kept; returns it if kept. A contact whose address
   * holds control characters is not kept: no mail can ever reach it (its own mail is refused by the mailer
   * and dead-lettered), and a later event must not mail a cleaned-up address that may be someone else's.
   */
  private keep(contact: Contact, known: Known): Contact | undefined {
    if (hasControlCharacters(contact.email)) {
      this.logger.warn(
        { reservationId: contact.reservationId, email: JSON.stringify(contact.email) },
        'contact not kept: its address holds control characters',
      );
      return undefined;
    }
    const kept = known.contacts.get(contact.reservationId);
    if (kept && kept.version >= contact.version) return undefined;
    known.contacts.set(contact.reservationId, contact);
    const address = known.addresses.get(contact.customerId);
    if (!address || address.updatedAt <= contact.updatedAt) {
      known.addresses.set(contact.customerId, {
        fullName: contact.fullName,
        email: contact.email,
        updatedAt: contact.updatedAt,
      });
    }
    return contact;
  }

  /** Sends one planned mail; resolves with its record once the server accepted it. */
  private async send(plan: Plan): Promise<SentRecord> {
    const { event } = plan;
    const mail = render(plan.notification);
    const messageId = this.messageIdOf(event.eventId);
    const { response } = await this.deps.mailer.send({
      messageId,
      to: { name: plan.name, address: plan.email },
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      references: `<reservation-${plan.reservationId}@${this.domain}>`,
      headers: {
        'X-Slotstream-Event-Id': event.eventId,
        'X-Slotstream-Event-Type': event.type,
        'X-Slotstream-Reservation-Id': plan.reservationId,
      },
    });
    this.stats.sent += 1;
    this.logger.debug({ eventId: event.eventId, type: event.type, to: plan.email }, 'notification sent');
    return {
      eventId: event.eventId,
      eventType: event.type,
      reservationId: plan.reservationId,
      customerId: plan.customerId,
      recipient: plan.email,
      subject: mail.subject,
      messageId,
      smtpResponse: response.slice(0, 500),
      // Recorded later, with others: keep the moment the server accepted it (monotonic, sub-ms).
      sentAt: performance.timeOrigin + performance.now(),
    };
  }

  /** Why a mail for this event would come too late to be of use, if it would. */
  private staleness(event: Event): string | undefined {
    const now = this.clock();
    const { maxEventAgeMs } = this.options;
    if (maxEventAgeMs > 0 && now - event.decidedAt > maxEventAgeMs) {
      return `decided ${new Date(event.decidedAt).toISOString()}, more than ${maxEventAgeMs} ms ago`;
    }
    // "Please pay by <a time already past>" helps no one; the expiry or the confirmation is mailed anyway.
    if (
      (event.type === 'ReservationHeld' || event.type === 'ReservationReopened') &&
      event.holdExpiresAt <= now
    ) {
      return `its payment deadline ${new Date(event.holdExpiresAt).toISOString()} has passed`;
    }
    return undefined;
  }

  /** The mail an event calls for, or undefined for none. */
  private plan(event: ReservationEvent, known: Known): Plan | undefined {
    switch (event.type) {
      case 'ReservationHeld':
      case 'ReservationReopened': {
        const contact = contactOf(event);
        const kind = event.type === 'ReservationHeld' ? 'held' : 'reopened';
        return planFor(event, contact, { kind, reservation: detailsOf(contact) });
      }
      case 'ReservationConfirmed':
      case 'ReservationPaymentFailed':
      case 'ReservationCancelled':
      case 'ReservationExpired':
      case 'ReservationCompleted': {
        const contact = known.contacts.get(event.reservationId);
        if (!contact) return this.noAddress(event, 'no ReservationHeld or ReservationReopened seen for it');
        const reservation = detailsOf(contact);
        switch (event.type) {
          case 'ReservationConfirmed':
            return planFor(event, contact, {
              kind: 'confirmed',
              reservation,
              paid: event.price,
              paymentReference: event.paymentReference,
            });
          case 'ReservationPaymentFailed':
            return planFor(event, contact, {
              kind: 'payment_failed',
              reservation,
              failureReason: event.failureReason,
            });
          case 'ReservationCancelled':
            return planFor(event, contact, {
              kind: 'cancelled',
              reservation,
              reason: event.reason,
              refundDue: event.previousStatus === 'Confirmed',
            });
          case 'ReservationExpired':
            return planFor(event, contact, { kind: 'expired', reservation });
          default:
            return planFor(event, contact, { kind: 'completed', reservation });
        }
      }
      case 'ReservationRejected': {
        if (!mailableRefusal(event)) return undefined;
        // Write to whoever made the request; show the reservation only if it is theirs.
        const contact = known.contacts.get(event.reservationId);
        const own = contact?.customerId === event.customerId ? contact : undefined;
        const address = own ?? known.addresses.get(event.customerId);
        // Expected for a first request that is refused: the refusal names only the customer id.
        if (!address)
          return this.noAddress(event, `no address known for customer ${event.customerId}`, 'debug');
        return {
          event,
          notification: {
            kind: 'rejected',
            customerName: address.fullName,
            reservationId: event.reservationId,
            resourceId: event.resourceId,
            reservation: own ? detailsOf(own) : null,
            commandType: event.commandType,
            reason: event.reason,
            detail: event.detail,
            currentStatus: own ? event.currentStatus : null,
          },
          reservationId: event.reservationId,
          customerId: event.customerId,
          name: address.fullName,
          email: address.email,
        };
      }
      default:
        return undefined;
    }
  }

  private noAddress(event: Event, why: string, level: 'warn' | 'debug' = 'warn'): undefined {
    this.stats.noAddress += 1;
    this.logger[level]({ eventId: event.eventId, type: event.type, why }, 'no one to notify: skipped');
    return undefined;
  }
}

/** Refusals the customer hears about: not payment results (system traffic), not DUPLICATE (a retry). */
function mailableRefusal(event: ReservationEvent): event is ReservationRejected {
  return (
    event.type === 'ReservationRejected' &&
    event.commandType !== 'RecordPaymentResult' &&
    event.reason !== 'DUPLICATE'
  );
}

/**
 * The contact an event gives. Names are display text, kept as one line without control characters (a NUL
 * would make PostgreSQL refuse the row, and must reach no mail); the address is kept as it is, to be
 * accepted or refused as one mailbox.
 */
function contactOf(e: ReservationHeld | ReservationReopened): Contact {
  return {
    reservationId: e.reservationId,
    customerId: e.customer.id,
    fullName: headerText(e.customer.fullName),
    email: e.customer.email,
    resourceId: e.resourceId,
    resourceName: headerText(e.resourceName),
    start: e.start,
    end: e.end,
    quantity: e.quantity,
    price: e.price,
    holdExpiresAt: e.holdExpiresAt,
    version: e.reservationVersion,
    updatedAt: e.decidedAt,
  };
}

function detailsOf(c: Contact): ReservationDetails {
  return {
    reservationId: c.reservationId,
    customerName: c.fullName,
    resourceName: c.resourceName,
    start: c.start,
    end: c.end,
    quantity: c.quantity,
    price: c.price,
    holdExpiresAt: c.holdExpiresAt,
  };
}

function planFor(event: ReservationEvent, contact: Contact, notification: Notification): Plan {
  return {
    event,
    notification,
    reservationId: contact.reservationId,
    customerId: contact.customerId,
    name: contact.fullName,
    email: contact.email,
  };
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/** Longest a mail the server accepted waits to be recorded, in ms (unless `recordEvery` come first). */
const RECORD_WITHIN_MS = 25;

/**
 * Records of accepted mails, written `every` at a time or RECORD_WITHIN_MS after the first unrecorded one,
 * whichever comes first, while the batch is still sending (one statement each, one after the other), and
 * the rest at `close`, which rejects if any write failed.
 */
class SentLog {
  private pending: SentRecord[] = [];
  private writes: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: NotificationStore,
    private readonly every: number,
  ) {}

  add(record: SentRecord): void {
    this.pending.push(record);
    if (this.pending.length >= this.every) this.write();
    // A mail accepted but not recorded is mailed again after a crash: record it soon, not only at `every`.
    else this.timer ??= setTimeout(() => this.write(), RECORD_WITHIN_MS);
  }

  async close(): Promise<void> {
    if (this.pending.length > 0) this.write();
    await this.writes;
    if (this.failure) throw this.failure.error;
  }

  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const records = this.pending;
    this.pending = [];
    this.writes = this.writes.then(() =>
      this.store.recordSent(records).catch((error: unknown) => {
        this.failure ??= { error };
      }),
    );
  }
}

/** The domain of `Name <user@domain>` or `user@domain`; `slotstream.local` if there is none. */
export function domainOf(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return match?.[1] ?? 'slotstream.local';
}

/** Builds the notification sink from the configuration: SMTP, and its store in PostgreSQL. */
export function createNotificationSink(
  config: Config,
  logger: Logger,
  overrides: {
    options?: Partial<NotificationSinkOptions>;
    smtp?: { host: string; port: number };
    env?: Record<string, string | undefined>;
  } = {},
): NotificationSink {
  const options = compileNotificationOptions(
    notificationOptionsFromEnv(overrides.env ?? process.env),
    overrides.options,
  );
  const smtp = overrides.smtp ?? { host: config.smtp.host, port: config.smtp.port };
  return new NotificationSink({
    mailer: new SmtpMailer({
      host: smtp.host,
      port: smtp.port,
      from: config.smtp.from,
      maxConnections: options.smtpMaxConnections,
      maxMessages: options.smtpMaxMessages,
      timeoutMs: options.smtpTimeoutMs,
    }),
    store: new PgNotificationStore({ url: config.postgres.url, logger }),
    logger,
    from: config.smtp.from,
    options,
  });
}
