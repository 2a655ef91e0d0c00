/**
 * Sending mail: the Mailer port and its SMTP adapter on nodemailer. SMTP errors are converted here, once,
 * where they enter (fromSmtpError):
 * - a recipient the server refuses permanently (5xx to RCPT TO) or an address that is not one mailbox →
 *   InvalidRecipientError (dead letter);
 * - any other permanent refusal (5xx) of the message → MailRejectedError (dead letter);
 * - 4xx answers ("try later"), refused connections, timeouts, dropped sockets, TLS and authentication
 *   failures → SmtpUnavailableError (retried with backoff).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import { InvalidRecipientError, MailRejectedError, SmtpUnavailableError } from './errors.ts';

/** One e-mail to one recipient. */
export interface OutgoingMail {
  /** With angle brackets: `<id@domain>`. */
  readonly messageId: string;
  readonly to: { readonly name: string; readonly address: string };
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Threads a reservation's mails together in the customer's client (`<…>` ids). */
  readonly references?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The port. */
export interface Mailer {
  /** Resolves once the server accepted the message (250); rejects with a converted error otherwise. */
  send(mail: OutgoingMail): Promise<{ readonly response: string }>;
  close(): Promise<void>;
}

export interface SmtpMailerOptions {
  readonly host: string;
  readonly port: number;
  /** `Name <address>` */
  readonly from: string;
  /** Connections kept open to the server. @default 4 */
  readonly maxConnections?: number;
  /** Connect, greeting and socket inactivity timeouts. @default 10_000 */
  readonly timeoutMs?: number;
  /** TLS from the first byte (port 465). @default false: STARTTLS when the server offers it */
  readonly secure?: boolean;
  /** Name used in errors. @default 'notification' */
  readonly sinkName?: string;
}

/**
 * Checks that `address` is exactly one mailbox: a customer's e-mail is free text in the contract, and
 * `a@x.test, b@y.test` must not reach two people. Throws InvalidRecipientError otherwise.
 */
export function singleMailbox(sink: string, address: string): string {
  const trimmed = address.trim();
  if (trimmed === '' || /[\r\n]/.test(address)) {
    throw new InvalidRecipientError(sink, address, 'not an e-mail address');
  }
  const parsed = addressparser(trimmed, { flatten: true });
  const only = parsed.length === 1 ? parsed[0] : undefined;
  if (!only || only.address !== trimmed || only.name !== '') {
    throw new InvalidRecipientError(sink, address, 'not exactly one mailbox');
  }
  return trimmed;
}

/** Mail over SMTP through a pooled nodemailer transport. */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;
  private readonly sink: string;

  constructor(private readonly options: SmtpMailerOptions) {
    this.sink = options.sinkName ?? 'notification';
    const timeout = options.timeoutMs ?? 10_000;
    this.transport = nodemailer.createTransport({
      pool: true,
      maxConnections: options.maxConnections ?? 4,
      host: options.host,
      port: options.port,
      secure: options.secure ?? false,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async send(mail: OutgoingMail): Promise<{ response: string }> {
    const address = singleMailbox(this.sink, mail.to.address);
    try {
      const info = await this.transport.sendMail({
        from: this.options.from,
        to: { name: mail.to.name.replace(/[\r\n]+/g, ' '), address },
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        ...(mail.references ? { references: mail.references, inReplyTo: mail.references } : {}),
        headers: { ...mail.headers },
        // A delivery report of ours is not wanted; the record of sent mail is in PostgreSQL.
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      const response = String(info.response ?? '');
      if ((info.rejected ?? []).length > 0) {
        throw new InvalidRecipientError(this.sink, address, `refused by the server: ${response}`);
      }
      return { response };
    } catch (error) {
      throw fromSmtpError(this.sink, address, error);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

interface SmtpErrorFields {
  code?: unknown;
  responseCode?: unknown;
  command?: unknown;
  response?: unknown;
}

/** Converts what nodemailer threw into a notification error; our own errors pass through unchanged. */
export function fromSmtpError(sink: string, recipient: string, error: unknown): Error {
  if (error instanceof InvalidRecipientError || error instanceof MailRejectedError) return error;
  if (error instanceof SmtpUnavailableError) return error;
  const fields = (error ?? {}) as SmtpErrorFields;
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const smtp = typeof fields.responseCode === 'number' ? fields.responseCode : null;
  const command = typeof fields.command === 'string' ? fields.command : '';
  const message = error instanceof Error ? error.message : String(error);
  const what = `SMTP${smtp ? ` ${smtp}` : ''}${code ? ` ${code}` : ''}${command ? ` at ${command}` : ''}: ${message}`;
  // 530/534/535/538: authentication wanted or refused: our configuration, not the message.
  const authProblem = smtp !== null && [530, 534, 535, 538].includes(smtp);
  if (smtp !== null && smtp >= 500 && smtp < 600 && !authProblem) {
    if (command.startsWith('RCPT') || code === 'EENVELOPE') {
      return new InvalidRecipientError(sink, recipient, what, smtp, error);
    }
    return new MailRejectedError(sink, `message refused: ${what}`, smtp, error);
  }
  // An envelope nodemailer itself refused (no usable recipient) before talking to the server.
  if (smtp === null && code === 'EENVELOPE') {
    return new InvalidRecipientError(sink, recipient, what, null, error);
  }
  return new SmtpUnavailableError(sink, what, smtp, error);
}
