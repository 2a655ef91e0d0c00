/**
 * One typed configuration, read from the environment once at start-up and frozen.
 * An unknown or malformed value fails fast with a message naming the key and what is allowed.
 * Defaults match ops/defaults.env, so a process started beside `ops/stack.sh up` needs no settings.
 */

/** Thrown when an environment variable holds a value the configuration cannot accept. */
export class ConfigError extends Error {
  static readonly code = 'CONFIG_INVALID';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The environment, as process.env gives it. */
export type Env = Record<string, string | undefined>;

function str(env: Env, key: string, fallback: string): string {
  const value = env[key];
  if (value === undefined || value === '') return fallback;
  return value;
}

/** An integer setting in [min, max], or undefined when unset; a malformed value throws ConfigError. */
export function optionalEnvInt(
  env: Env,
  key: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = env[key];
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(key, `expected an integer, got '${raw}'`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(key, `expected ${min}..${max}, got ${value}`);
  return value;
}

/** An integer setting in [min, max], `fallback` when unset. */
export function envInt(
  env: Env,
  key: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  return optionalEnvInt(env, key, min, max) ?? fallback;
}

function oneOf<T extends string>(env: Env, key: string, allowed: readonly T[], fallback: T): T {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(key, `expected one of ${allowed.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

function url(env: Env, key: string, fallback: string): string {
  const value = str(env, key, fallback);
  try {
    new URL(value);
  } catch {
    throw new ConfigError(key, `expected a URL, got '${value}'`);
  }
  return value.replace(/\/+$/, '');
}

function list(env: Env, key: string, fallback: string): string[] {
  const items = str(env, key, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new ConfigError(key, 'expected a comma-separated list, got nothing');
  return items;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Everything a Slotstream process needs to find its services. */
export interface Config {
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly kafka: {
    /** @default ['127.0.0.1:9092'] */
    readonly brokers: readonly string[];
    /** @default 'slotstream' */
    readonly clientId: string;
    /** Prefix of every topic name; tests use it to get topics of their own. @default '' */
    readonly topicPrefix: string;
    /** Partitions of the commands, events and changelog topics (they must be equal). @default 6 */
    readonly partitions: number;
  };
  readonly registry: {
    /** Confluent-compatible API root. @default 'http://127.0.0.1:8081/apis/ccompat/v7' */
    readonly url: string;
  };
  readonly postgres: {
    /** @default 'postgres://slotstream:slotstream@127.0.0.1:5432/slotstream' */
    readonly url: string;
  };
  readonly clickhouse: {
    /** @default 'http://127.0.0.1:8123' */
    readonly url: string;
    /** @default 'slotstream' */
    readonly database: string;
  };
  readonly stripe: {
    /** @default 'sk_test_slotstream' (stripe-mock accepts any test key) */
    readonly apiKey: string;
    /** Host, port and protocol of the Stripe-compatible API: stripe-mock locally. @default 'http://127.0.0.1:12111' */
    readonly url: string;
  };
  readonly smtp: {
    /** @default '127.0.0.1' */
    readonly host: string;
    /** @default 1025 */
    readonly port: number;
    /** @default 'Slotstream <reservations@slotstream.local>' */
    readonly from: string;
  };
  readonly processor: {
    /** Consumer group of the deciders; the root of their transactional ids. @default 'slotstream-decider' */
    readonly groupId: string;
    /** A crashed processor's partitions move after this. @default 6000 */
    readonly sessionTimeoutMs: number;
    /** Port of the processor's /metrics and /healthz (0 picks a free one). @default 9460 */
    readonly metricsPort: number;
  };
  readonly mailpit: {
    /** Mailpit's HTTP API (tests read delivered mail through it). @default 'http://127.0.0.1:8025' */
    readonly url: string;
  };
}

/** Reads the configuration from `env` (default: process.env). Throws ConfigError on a bad value. */
export function loadConfig(env: Env = process.env): Config {
  const config: Config = {
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    kafka: {
      brokers: list(env, 'KAFKA_BROKERS', `127.0.0.1:${envInt(env, 'KAFKA_PORT', 9092, 1, 65535)}`),
      clientId: str(env, 'KAFKA_CLIENT_ID', 'slotstream'),
      topicPrefix: str(env, 'TOPIC_PREFIX', ''),
      partitions: envInt(env, 'TOPIC_PARTITIONS', 6, 1, 1000),
    },
    registry: {
      url: url(
        env,
        'REGISTRY_URL',
        `http://127.0.0.1:${envInt(env, 'REGISTRY_PORT', 8081, 1, 65535)}/apis/ccompat/v7`,
      ),
    },
    postgres: {
      url: url(
        env,
        'DATABASE_URL',
        `postgres://${str(env, 'POSTGRES_USER', 'slotstream')}:${str(env, 'POSTGRES_PASSWORD', 'slotstream')}@127.0.0.1:${envInt(env, 'POSTGRES_PORT', 5432, 1, 65535)}/${str(env, 'POSTGRES_DB', 'slotstream')}`,
      ),
    },
    clickhouse: {
      url: url(
        env,
        'CLICKHOUSE_URL',
        `http://127.0.0.1:${envInt(env, 'CLICKHOUSE_HTTP_PORT', 8123, 1, 65535)}`,
      ),
      database: str(env, 'CLICKHOUSE_DATABASE', 'slotstream'),
    },
    stripe: {
      apiKey: str(env, 'STRIPE_API_KEY', 'sk_test_slotstream'),
      url: url(
        env,
        'STRIPE_API_URL',
        `http://127.0.0.1:${envInt(env, 'STRIPE_MOCK_HTTP_PORT', 12111, 1, 65535)}`,
      ),
    },
    smtp: {
      host: str(env, 'SMTP_HOST', '127.0.0.1'),
      port: envInt(env, 'SMTP_PORT', envInt(env, 'MAILPIT_SMTP_PORT', 1025, 1, 65535), 1, 65535),
      from: str(env, 'MAIL_FROM', 'Slotstream <reservations@slotstream.local>'),
    },
    processor: {
      groupId: str(env, 'DECIDER_GROUP_ID', 'slotstream-decider'),
      sessionTimeoutMs: envInt(env, 'DECIDER_SESSION_TIMEOUT_MS', 6_000, 2_000, 300_000),
      metricsPort: envInt(env, 'DECIDER_METRICS_PORT', 9460, 0, 65535),
    },
    mailpit: {
      url: url(env, 'MAILPIT_URL', `http://127.0.0.1:${envInt(env, 'MAILPIT_HTTP_PORT', 8025, 1, 65535)}`),
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
