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
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { InvalidRecipientError, MailRejectedError, SmtpUnavailableError } from './errors.ts';
import { buildMessage } from './mime.ts';
import { notificationDefaults } from './options.ts';
import { hasControlCharacters, headerText } from './text.ts';

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
  /** Connections kept open to the server (nodemailer's pool `maxConnections`). @default 16 */
  readonly maxConnections?: number;
  /** Messages over one connection before it is replaced (nodemailer's pool `maxMessages`). @default 1_000 */
  readonly maxMessages?: number;
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
  if (trimmed === '' || hasControlCharacters(address)) {
    throw new InvalidRecipientError(sink, address, 'not an e-mail address');
  }
  const parsed = addressparser(trimmed, { flatten: true });
  const only = parsed.length === 1 ? parsed[0] : undefined;
  if (!only || only.address !== trimmed || only.name !== '') {
    throw new InvalidRecipientError(sink, address, 'not exactly one mailbox');
  }
  return trimmed;
}

/**
 * Mail over SMTP through a pooled nodemailer transport: `maxConnections` connections stay open and each
 * sends up to `maxMessages` mails before it is replaced, so a mail costs its four SMTP round trips
 * (MAIL FROM, RCPT TO, DATA, the message), never a TCP and EHLO handshake. Mails sent while every
 * connection is busy wait in the transport's queue. The message is built in one piece (./mime.ts) and
 * handed over as `raw` with its envelope.
 */
export class SmtpMailer implements Mailer {
  /** What the nodemailer transport was created with (the pool's size and turnover). */
  readonly transportOptions: Readonly<SMTPPool.Options>;
  private readonly transport: Transporter;
  private readonly sink: string;
  /** The sender's address alone, for MAIL FROM. */
  private readonly envelopeFrom: string;

  constructor(private readonly options: SmtpMailerOptions) {
    this.sink = options.sinkName ?? 'notification';
    this.envelopeFrom = addressparser(options.from, { flatten: true })[0]?.address || options.from;
    this.transportOptions = Object.freeze(smtpTransportOptions(options));
    this.transport = nodemailer.createTransport({ ...this.transportOptions });
  }

  async send(mail: OutgoingMail): Promise<{ response: string }> {
    const address = singleMailbox(this.sink, mail.to.address);
    try {
      const raw = buildMessage({
        from: this.options.from,
        // Free text from the events: one line without control characters, whoever built the mail.
        to: { name: headerText(mail.to.name), address },
        subject: headerText(mail.subject),
        messageId: mail.messageId,
        ...(mail.references ? { references: mail.references } : {}),
        ...(mail.headers ? { headers: mail.headers } : {}),
        text: mail.text,
        html: mail.html,
        boundaryKey: mail.messageId,
      });
      const info = await this.transport.sendMail({
        envelope: { from: this.envelopeFrom, to: [address] },
        raw,
        messageId: mail.messageId, // or nodemailer draws random bytes for one it would never write
        // Nothing is read from a path or a URL, whatever a message holds.
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

/** nodemailer's settings for a pooled SMTP transport from ours. */
export function smtpTransportOptions(options: SmtpMailerOptions): SMTPPool.Options {
  const timeout = options.timeoutMs ?? notificationDefaults.smtpTimeoutMs;
  return {
    pool: true,
    maxConnections: options.maxConnections ?? notificationDefaults.smtpMaxConnections,
    maxMessages: options.maxMessages ?? notificationDefaults.smtpMaxMessages,
    host: options.host,
    port: options.port,
    secure: options.secure ?? false,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  };
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
