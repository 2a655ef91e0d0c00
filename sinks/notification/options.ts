/**
 * Settings of the notification sink: defaults here, the environment (NOTIFY_*) overrides them, a caller (a
 * test) overrides both. Units are in the names.
 */
import { ConfigError, type Env, optionalEnvInt } from '../../common/config.ts';
import type { SinkRuntimeOptions } from '../runtime/options.ts';

export interface NotificationSinkOptions {
  /** Mails sent at the same time (and SMTP connections kept open). @default 4 */
  readonly concurrency: number;
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
}

export const notificationDefaults = {
  concurrency: 4,
  smtpTimeoutMs: 10_000, // ten seconds
  messageIdDomain: null,
  maxEventAgeMs: 3 * 86_400_000, // three days
} satisfies NotificationSinkOptions;

/**
 * Runtime settings the notification sink prefers. An SMTP outage stops every mail alike, so a partition
 * waits it out for about two hours (backoff capped at a minute) before its mails are dead-lettered for a
 * replay; batches stay small because every mail is a round trip to the server.
 */
export const notificationRuntimeDefaults = {
  maxBatchEvents: 100,
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
    ['concurrency', optionalEnvInt(env, 'NOTIFY_CONCURRENCY', 1, 64)],
    ['maxEventAgeMs', optionalEnvInt(env, 'NOTIFY_MAX_EVENT_AGE_MS', 0, 365 * 86_400_000)],
    ['smtpTimeoutMs', optionalEnvInt(env, 'NOTIFY_SMTP_TIMEOUT_MS', 100, 120_000)],
    ['messageIdDomain', domain || undefined],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

export function compileNotificationOptions(
  ...layers: (Partial<NotificationSinkOptions> | undefined)[]
): NotificationSinkOptions {
  return Object.freeze(Object.assign({}, notificationDefaults, ...layers.filter(Boolean)));
}
