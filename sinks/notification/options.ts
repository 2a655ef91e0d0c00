/**
 * Settings of the notification sink: defaults here, the environment (NOTIFY_*) overrides them, a caller (a
 * test) overrides both. Units are in the names.
 */
import { ConfigError, type Env, optionalEnvInt } from '../../common/config.ts';
import type { SinkRuntimeOptions } from '../runtime/options.ts';

export interface NotificationSinkOptions {
  /**
   * Reservations whose mails are in flight at the same time; each reservation's own mails go one after
   * the other, in order. Above `smtpMaxConnections`, the rest wait in the transport's queue with their
   * message already built, so a connection never idles between two mails. @default 64
   */
  readonly concurrency: number;
  /** SMTP connections kept open (nodemailer's pool `maxConnections`). @default 16 */
  readonly smtpMaxConnections: number;
  /**
   * Messages sent over one connection before it is closed and a new one opened (nodemailer's pool
   * `maxMessages`): some servers limit messages per session, and a fresh connection may reach another
   * server behind the same name. @default 1_000
   */
  readonly smtpMaxMessages: number;
  /** SMTP connect, greeting and socket inactivity timeout. @default 10_000 */
  readonly smtpTimeoutMs: number;
  /**
   * Domain of the Message-IDs (`<eventId@domain>`). Null takes the domain of the sender address
   * (MAIL_FROM). @default null
   */
  readonly messageIdDomain: string | null;
  /**
   * Events decided longer ago than this are not mailed (counted as stale): a replay of the whole topic
   * into an empty record must not write to every customer of the last month. Long enough to ride out any
   * outage the retries do. 0 mails everything. @default 259_200_000 (three days)
   */
  readonly maxEventAgeMs: number;
  /**
   * Mails accepted by the server are recorded in `sent_notifications` this many at a time (one statement),
   * or 25 ms after the first unrecorded one, while the batch is still sending. After a crash, what was not
   * recorded yet is mailed again (with the same Message-ID): at most this many or 25 ms worth, those of a
   * write under way, and those in flight. @default 100
   */
  readonly recordEvery: number;
}

export const notificationDefaults = {
  concurrency: 64,
  smtpMaxConnections: 16,
  smtpMaxMessages: 1_000,
  smtpTimeoutMs: 10_000, // ten seconds
  messageIdDomain: null,
  maxEventAgeMs: 3 * 86_400_000, // three days
  recordEvery: 100,
} satisfies NotificationSinkOptions;

/**
 * Runtime settings the notification sink prefers. An SMTP outage stops every mail alike, so a partition
 * waits it out for about two hours (backoff capped at a minute) before its mails are dead-lettered for a
 * replay. A batch costs four PostgreSQL round trips whatever its size and waits for its slowest
 * reservation: 500 events fill `concurrency` lanes many times over and make both vanish in the mail time
 * (2,000 measured no faster), while a batch still finishes within the shutdown grace on a slow server.
 */
export const notificationRuntimeDefaults = {
  maxBatchEvents: 500,
  maxAttempts: 150,
  maxRetryMs: 60_000, // one minute
} satisfies Partial<SinkRuntimeOptions>;

/** The settings the environment gives; a malformed value throws ConfigError naming the key. */
export function notificationOptionsFromEnv(env: Env = process.env): Partial<NotificationSinkOptions> {
  const domain = env.NOTIFY_MESSAGE_ID_DOMAIN;
  if (domain !== undefined && domain !== '' && !/^[A-Za-z0-9.-]+$/.test(domain)) {
    throw new ConfigError('NOTIFY_MESSAGE_ID_DOMAIN', `expected a domain name, got '${domain}'`);
  }
  const entries: [keyof NotificationSinkOptions, number | string | undefined][] = [
    ['concurrency', optionalEnvInt(env, 'NOTIFY_CONCURRENCY', 1, 1_024)],
    ['smtpMaxConnections', optionalEnvInt(env, 'NOTIFY_SMTP_MAX_CONNECTIONS', 1, 256)],
    ['smtpMaxMessages', optionalEnvInt(env, 'NOTIFY_SMTP_MAX_MESSAGES', 1, 1_000_000)],
    ['maxEventAgeMs', optionalEnvInt(env, 'NOTIFY_MAX_EVENT_AGE_MS', 0, 365 * 86_400_000)],
    ['smtpTimeoutMs', optionalEnvInt(env, 'NOTIFY_SMTP_TIMEOUT_MS', 100, 120_000)],
    ['recordEvery', optionalEnvInt(env, 'NOTIFY_RECORD_EVERY', 1, 10_000)],
    ['messageIdDomain', domain || undefined],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

/** Merges the layers (later ones win) into frozen options; a value out of range throws ConfigError. */
export function compileNotificationOptions(
  ...layers: (Partial<NotificationSinkOptions> | undefined)[]
): NotificationSinkOptions {
  const options: NotificationSinkOptions = Object.assign({}, notificationDefaults, ...layers.filter(Boolean));
  for (const key of ['concurrency', 'smtpMaxConnections', 'smtpMaxMessages', 'recordEvery'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) {
      throw new ConfigError(key, `expected a positive integer, got ${options[key]}`);
    }
  }
  return Object.freeze(options);
}
