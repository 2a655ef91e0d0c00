/** Options of the decider processor, with defaults and units in the names. */
import type { CoreOptions } from '../core/index.ts';

export interface DeciderOptions {
  /** Consumer group of the deciders; also the root of the transactional ids. @default 'slotstream-decider' */
  readonly groupId: string;
  /** A crashed processor's partitions move after this (Kafka then fences it). @default 6_000 */
  readonly sessionTimeoutMs: number;
  /** @default 1_000 */
  readonly heartbeatIntervalMs: number;
  /** Bounds the records (and so the transaction) of one batch per partition. @default 1_048_576 */
  readonly maxBytesPerPartition: number;
  /** Partitions decided at once, each in its own transaction. @default 6 */
  readonly partitionsConsumedConcurrently: number;
  /** How often owned partitions are checked for due timers. @default 200 */
  readonly timerIntervalMs: number;
  /** First wait after a failed transaction; doubles per failure up to the maximum. @default 100 */
  readonly retryInitialMs: number;
  /** @default 5_000 */
  readonly retryMaxMs: number;
  /** Time allowed for a clean stop on SIGTERM before giving up. @default 15_000 */
  readonly shutdownGraceMs: number;
  /** Where the events, changelog and dead letters appear to come from (CloudEvents `source`). */
  readonly source: string;
  /** Options of the pure core (hold timeout default, idempotency bounds). */
  readonly core: Partial<CoreOptions>;
  /** The processor's clock. Timers and decisions use it, never a client's clock. @default Date.now */
  readonly clock: () => number;
}

export const deciderDefaults = {
  groupId: 'slotstream-decider',
  sessionTimeoutMs: 6_000, // six seconds: kill -9 to failover in about this long
  heartbeatIntervalMs: 1_000,
  maxBytesPerPartition: 1_048_576, // 1 MiB
  partitionsConsumedConcurrently: 6,
  timerIntervalMs: 200,
  retryInitialMs: 100,
  retryMaxMs: 5_000,
  shutdownGraceMs: 15_000,
  source: '/slotstream/processor',
  core: {},
  clock: Date.now,
} satisfies DeciderOptions;

export function compileDeciderOptions(options: Partial<DeciderOptions> = {}): DeciderOptions {
  const compiled = { ...deciderDefaults, ...options };
  if (compiled.heartbeatIntervalMs * 3 > compiled.sessionTimeoutMs) {
    throw new RangeError('decider: heartbeatIntervalMs must be at most a third of sessionTimeoutMs');
  }
  return Object.freeze(compiled);
}
