/**
 * Settings of the sink runtime: every field has a default here, a sink may bring defaults of its own
 * (ClickHouse waits longer for bigger batches), the environment overrides both, and a caller (a test, the
 * benchmark) overrides everything. Units are in the names.
 */
import { ConfigError, type Env, optionalEnvInt } from '../../common/config.ts';
import type { BackoffOptions } from './backoff.ts';

export interface SinkRuntimeOptions extends BackoffOptions {
  /**
   * Attempts of a batch that keeps failing with a retryable error before its records are dead-lettered
   * with SINK_RETRIES_EXHAUSTED; 0 retries forever. With the defaults, about ten minutes of an outage
   * are ridden out before anything is dead-lettered. @default 30
   */
  readonly maxAttempts: number;
  /** Partitions whose batches are handled at the same time (their events are applied together). @default 6 */
  readonly concurrentPartitions: number;
  /** Most events handed to the sink in one call; larger deliveries are split. @default 10_000 */
  readonly maxBatchEvents: number;
  /** Most bytes fetched per partition per request: with concurrentPartitions, bounds a batch. @default 4_194_304 (4 MiB) */
  readonly maxBytesPerPartition: number;
  /** The broker answers a fetch once this many bytes are ready... @default 1 */
  readonly fetchMinBytes: number;
  /** ...or after this long: with fetchMinBytes, the flush interval at low load. @default 100 */
  readonly fetchMaxWaitMs: number;
  /** A member that misses heartbeats this long loses its partitions. @default 30_000 */
  readonly sessionTimeoutMs: number;
  /** How long draining may take on SIGTERM before the worker gives up and exits. @default 30_000 */
  readonly shutdownGraceMs: number;
  /** Port of the /metrics and /healthz listener; 0 picks a free one; null serves none. @default null */
  readonly metricsPort: number | null;
  /** Address of that listener. @default '127.0.0.1' */
  readonly metricsHost: string;
  /** Consumer group; null means `${topicPrefix}slotstream-sink-${name}`. @default null */
  readonly groupId: string | null;
}

export const defaults = {
  maxAttempts: 30,
  initialRetryMs: 200,
  maxRetryMs: 30_000, // half a minute
  retryFactor: 2,
  concurrentPartitions: 6,
  maxBatchEvents: 10_000,
  maxBytesPerPartition: 4 * 1024 * 1024,
  fetchMinBytes: 1,
  fetchMaxWaitMs: 100,
  sessionTimeoutMs: 30_000,
  shutdownGraceMs: 30_000,
  metricsPort: null,
  metricsHost: '127.0.0.1',
  groupId: null,
} satisfies SinkRuntimeOptions;

/** Default metrics ports of the sinks run by `npm start`, one per process. */
export const DEFAULT_METRICS_PORTS: Readonly<Record<string, number>> = {
  postgres: 9464,
  clickhouse: 9465,
  payment: 9466,
  notification: 9467,
};

/** The settings the environment gives (SINK_*); a malformed value throws ConfigError naming the key. */
export function optionsFromEnv(env: Env = process.env): Partial<SinkRuntimeOptions> {
  const entries: [keyof SinkRuntimeOptions, number | string | undefined][] = [
    ['maxAttempts', optionalEnvInt(env, 'SINK_MAX_ATTEMPTS', 0, 1_000_000)],
    ['initialRetryMs', optionalEnvInt(env, 'SINK_RETRY_INITIAL_MS', 1, 3_600_000)],
    ['maxRetryMs', optionalEnvInt(env, 'SINK_RETRY_MAX_MS', 1, 3_600_000)],
    ['concurrentPartitions', optionalEnvInt(env, 'SINK_CONCURRENT_PARTITIONS', 1, 1000)],
    ['maxBatchEvents', optionalEnvInt(env, 'SINK_MAX_BATCH_EVENTS', 1, 1_000_000)],
    ['maxBytesPerPartition', optionalEnvInt(env, 'SINK_MAX_BYTES_PER_PARTITION', 1024, 1024 * 1024 * 1024)],
    ['fetchMinBytes', optionalEnvInt(env, 'SINK_FETCH_MIN_BYTES', 1, 1024 * 1024 * 1024)],
    ['fetchMaxWaitMs', optionalEnvInt(env, 'SINK_FETCH_MAX_WAIT_MS', 0, 60_000)],
    ['sessionTimeoutMs', optionalEnvInt(env, 'SINK_SESSION_TIMEOUT_MS', 6_000, 300_000)],
    ['shutdownGraceMs', optionalEnvInt(env, 'SINK_SHUTDOWN_GRACE_MS', 0, 600_000)],
    ['metricsPort', optionalEnvInt(env, 'SINK_METRICS_PORT', 0, 65535)],
    ['metricsHost', env.SINK_METRICS_HOST || undefined],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

/** Merges the layers and checks the cross-field rules; the result is frozen. */
export function compileOptions(...layers: (Partial<SinkRuntimeOptions> | undefined)[]): SinkRuntimeOptions {
  const options: SinkRuntimeOptions = Object.assign({}, defaults, ...layers.filter(Boolean));
  if (options.maxRetryMs < options.initialRetryMs) {
    throw new ConfigError(
      'SINK_RETRY_MAX_MS',
      `must be at least SINK_RETRY_INITIAL_MS (${options.initialRetryMs})`,
    );
  }
  if (!(options.retryFactor >= 1))
    throw new ConfigError('retryFactor', `must be at least 1, got ${options.retryFactor}`);
  return Object.freeze(options);
}
