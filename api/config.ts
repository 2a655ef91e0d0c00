/**
 * The API's own settings, read from the environment once at start-up and frozen, beside the shared
 * Config (common/config.ts) for the services it talks to. A malformed value fails fast with ConfigError
 * naming the key.
 */
import { ConfigError, type Env, envInt } from '../common/config.ts';

/** The roles an API key can carry. */
export const ROLES = ['customer', 'producer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiConfig {
  /** Interface to listen on; loopback unless told otherwise. @default '127.0.0.1' (API_HOST) */
  readonly host: string;
  /** @default 3000 (API_PORT) */
  readonly port: number;
  /** Largest request body accepted, in bytes. @default 16_384 (API_BODY_LIMIT_BYTES) */
  readonly bodyLimitBytes: number;
  /**
   * Requests per minute per API key, by role (API_RATE_LIMIT_CUSTOMER, …_PRODUCER, …_ADMIN). Counted per
   * API instance. @default { customer: 600, producer: 120_000, admin: 6_000 }
   */
  readonly rateLimitPerMinute: Readonly<Record<Role, number>>;
  /**
   * Requests per minute per client address without a valid API key (none, malformed, unknown, revoked),
   * checked before the key is looked up; requests whose key proves valid are not counted
   * (API_RATE_LIMIT_PER_ADDRESS). @default 600
   */
  readonly rateLimitPerAddressPerMinute: number;
  /**
   * Origins allowed by CORS (API_CORS_ORIGINS, comma-separated; '*' for any). Empty: no CORS headers at
   * all. @default [] (none)
   */
  readonly corsOrigins: readonly string[];
  /** Cap of `Prefer: wait=N` and `?wait=N`, in seconds. @default 30 (API_MAX_WAIT_SECONDS) */
  readonly maxWaitSeconds: number;
  /** How often waiting requests look at the read model, in ms (one query for all). @default 50 */
  readonly waitPollIntervalMs: number;
  /** How long an Idempotency-Key is remembered, in hours. @default 24 (API_IDEMPOTENCY_TTL_HOURS) */
  readonly idempotencyTtlHours: number;
  /**
   * How long a verified API key is trusted without asking the database again, in ms; a revoked key stops
   * working within this time. @default 30_000 (API_KEY_CACHE_TTL_MS)
   */
  readonly keyCacheTtlMs: number;
  /** Grace period for in-flight requests and the producer on SIGTERM, in ms. @default 10_000 */
  readonly shutdownGraceMs: number;
  /** The producer's linger, in ms (API_PRODUCER_LINGER_MS). @default 1 */
  readonly producerLingerMs: number;
  /** Idempotent producers side by side, each with one request in flight (API_PRODUCER_LANES). @default 1 */
  readonly producerLanes: number;
  /**
   * How long a write waits for Kafka's acknowledgement, re-sends included, before it answers 503: "not
   * sent" when the command never left, "outcome unknown" when it may be on the topic
   * (API_PRODUCER_DELIVERY_TIMEOUT_MS). @default 15_000
   */
  readonly producerDeliveryTimeoutMs: number;
}

function origins(env: Env, key: string, fallback: string): string[] {
  const raw = env[key] === undefined || env[key] === '' ? fallback : (env[key] as string);
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (item === '*') continue;
    try {
      const url = new URL(item);
      if (url.origin !== item) throw new Error('not an origin');
    } catch {
      throw new ConfigError(key, `expected origins like http://localhost:5173 or '*', got '${item}'`);
    }
  }
  return items;
}

/** Reads the API settings from `env` (default: process.env). Throws ConfigError on a bad value. */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  const config: ApiConfig = {
    host: env.API_HOST || '127.0.0.1',
    port: envInt(env, 'API_PORT', 3000, 0, 65535),
    bodyLimitBytes: envInt(env, 'API_BODY_LIMIT_BYTES', 16_384, 256, 10_485_760),
    rateLimitPerMinute: {
      customer: envInt(env, 'API_RATE_LIMIT_CUSTOMER', 600, 1),
      // 2,000 a second per key per instance: about a third of what one instance validates and produces
      // (api/README.md, Benchmark), so one runaway feed cannot take a whole instance from everyone else.
      producer: envInt(env, 'API_RATE_LIMIT_PRODUCER', 120_000, 1),
      admin: envInt(env, 'API_RATE_LIMIT_ADMIN', 6_000, 1),
    },
    rateLimitPerAddressPerMinute: envInt(env, 'API_RATE_LIMIT_PER_ADDRESS', 600, 1),
    corsOrigins: origins(env, 'API_CORS_ORIGINS', ''),
    maxWaitSeconds: envInt(env, 'API_MAX_WAIT_SECONDS', 30, 0, 300),
    waitPollIntervalMs: envInt(env, 'API_WAIT_POLL_INTERVAL_MS', 50, 5, 5_000),
    idempotencyTtlHours: envInt(env, 'API_IDEMPOTENCY_TTL_HOURS', 24, 1, 24 * 30),
    keyCacheTtlMs: envInt(env, 'API_KEY_CACHE_TTL_MS', 30_000, 0, 3_600_000),
    shutdownGraceMs: envInt(env, 'API_SHUTDOWN_GRACE_MS', 10_000, 0, 300_000),
    producerLingerMs: envInt(env, 'API_PRODUCER_LINGER_MS', 1, 0, 1_000),
    producerLanes: envInt(env, 'API_PRODUCER_LANES', 1, 1, 64),
    producerDeliveryTimeoutMs: envInt(env, 'API_PRODUCER_DELIVERY_TIMEOUT_MS', 15_000, 100, 300_000),
  };
  return Object.freeze({
    ...config,
    rateLimitPerMinute: Object.freeze(config.rateLimitPerMinute),
    corsOrigins: Object.freeze(config.corsOrigins),
  });
}
