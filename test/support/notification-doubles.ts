/** Test doubles of the notification sink's ports for the unit tier (no server). */
import { type Mailer, type OutgoingMail, singleMailbox } from '../../sinks/notification/mailer.ts';
import type { Address, Contact, NotificationStore, SentRecord } from '../../sinks/notification/store.ts';
import { SinkRejectedError } from '../../sinks/runtime/errors.ts';

/**
 * The store in memory, with the same semantics as PgNotificationStore — including PostgreSQL's refusal of
 * text holding U+0000 (SQLSTATE 22021, a refusal: the event would be dead-lettered). `calls` counts the
 * round trips the real store would make.
 */
export class InMemoryNotificationStore implements NotificationStore {
  readonly contacts = new Map<string, Contact>();
  readonly sent = new Map<string, SentRecord>();
  readonly calls = { rememberContacts: 0, contactsFor: 0, addressesOf: 0, sentAmong: 0, recordSent: 0 };

  async start(): Promise<void> {}
  async close(): Promise<void> {}

  async rememberContacts(contacts: readonly Contact[]): Promise<void> {
    this.calls.rememberContacts += 1;
    for (const c of contacts) refuseNul(c.customerId, c.fullName, c.email, c.resourceId, c.resourceName);
    for (const contact of contacts) {
      const kept = this.contacts.get(contact.reservationId);
      if (!kept || kept.version < contact.version) this.contacts.set(contact.reservationId, contact);
    }
  }

  async contactsFor(reservationIds: readonly string[]): Promise<Map<string, Contact>> {
    this.calls.contactsFor += 1;
    const found = new Map<string, Contact>();
    for (const id of reservationIds) {
      const contact = this.contacts.get(id);
      if (contact) found.set(id, contact);
    }
    return found;
  }

  async addressesOf(customerIds: readonly string[]): Promise<Map<string, Address>> {
    this.calls.addressesOf += 1;
    const found = new Map<string, Address>();
    for (const c of this.contacts.values()) {
      if (!customerIds.includes(c.customerId)) continue;
      const known = found.get(c.customerId);
      if (!known || known.updatedAt < c.updatedAt) {
        found.set(c.customerId, { fullName: c.fullName, email: c.email, updatedAt: c.updatedAt });
      }
    }
    return found;
  }

  async sentAmong(eventIds: readonly string[]): Promise<Set<string>> {
    this.calls.sentAmong += 1;
    return new Set(eventIds.filter((id) => this.sent.has(id)));
  }

  async recordSent(records: readonly SentRecord[]): Promise<void> {
    this.calls.recordSent += 1;
    for (const r of records) refuseNul(r.customerId, r.recipient, r.subject, r.messageId);
    for (const record of records) if (!this.sent.has(record.eventId)) this.sent.set(record.eventId, record);
  }
}

function refuseNul(...values: string[]): void {
  if (values.some((v) => v.includes('\u0000'))) {
    throw new SinkRejectedError('notification', 'invalid byte sequence for encoding "UTF8": 0x00 (22021)');
  }
}

/**
 * Keeps the mails instead of sending them, after the check the SMTP adapter makes before talking to a
 * server (exactly one mailbox); `failNext` scripts the next sends (null: accept it). With
 * `delayMs`, each send takes a random time up to that long, so mails sent together finish out of order;
 * `maxInFlight` is the most sends that were ever in progress at once.
 */
export class RecordingMailer implements Mailer {
  readonly mails: OutgoingMail[] = [];
  maxInFlight = 0;
  private inFlight = 0;
  private failures: (Error | null)[] = [];

  constructor(private readonly delayMs = 0) {}

  failNext(...steps: (Error | null)[]): void {
    this.failures.push(...steps);
  }

  async send(mail: OutgoingMail): Promise<{ response: string }> {
    singleMailbox('notification', mail.to.address);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, Math.random() * this.delayMs));
      const failure = this.failures.shift();
      if (failure) throw failure;
      this.mails.push(mail);
      return { response: '250 2.0.0 Ok: queued' };
    } finally {
      this.inFlight -= 1;
    }
  }

  async close(): Promise<void> {}
}
