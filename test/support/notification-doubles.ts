/** Test doubles of the notification sink's ports for the unit tier (no server). */
import type { Mailer, OutgoingMail } from '../../sinks/notification/mailer.ts';
import type { Contact, NotificationStore, SentRecord } from '../../sinks/notification/store.ts';

/** The store in memory, with the same semantics as PgNotificationStore. */
export class InMemoryNotificationStore implements NotificationStore {
  readonly contacts = new Map<string, Contact>();
  readonly sent = new Map<string, SentRecord>();

  async start(): Promise<void> {}
  async close(): Promise<void> {}

  async rememberContact(contact: Contact): Promise<void> {
    const kept = this.contacts.get(contact.reservationId);
    if (!kept || kept.version < contact.version) this.contacts.set(contact.reservationId, contact);
  }

  async contactFor(reservationId: string): Promise<Contact | undefined> {
    return this.contacts.get(reservationId);
  }

  async addressOf(customerId: string): Promise<{ fullName: string; email: string } | undefined> {
    const newest = [...this.contacts.values()]
      .filter((c) => c.customerId === customerId)
      .sort((a, b) => b.updatedAt - a.updatedAt)[0];
    return newest ? { fullName: newest.fullName, email: newest.email } : undefined;
  }

  async wasSent(eventId: string): Promise<boolean> {
    return this.sent.has(eventId);
  }

  async recordSent(record: SentRecord): Promise<void> {
    if (!this.sent.has(record.eventId)) this.sent.set(record.eventId, record);
  }
}

/** Keeps the mails instead of sending them; `failNext` scripts the next sends (null: accept it). */
export class RecordingMailer implements Mailer {
  readonly mails: OutgoingMail[] = [];
  private failures: (Error | null)[] = [];

  failNext(...steps: (Error | null)[]): void {
    this.failures.push(...steps);
  }

  async send(mail: OutgoingMail): Promise<{ response: string }> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.mails.push(mail);
    return { response: '250 2.0.0 Ok: queued' };
  }

  async close(): Promise<void> {}
}
