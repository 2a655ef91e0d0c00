/**
 * Settings of one chaos run: how much load, over what, which faults, and how long to wait for answers.
 * Two presets: `suiteOptions` (the integration suite: about a minute and a half of load, one kill of
 * everything) and `cliOptions` (`npm run chaos -- --minutes N`: the same faults in cycles).
 */

/** What the fault scheduler can do. */
export type FaultKind =
  | 'kill processor'
  | 'kill api'
  | 'kill sink-postgres'
  | 'kill sink-clickhouse'
  | 'kill sink-payment'
  | 'kill sink-notification'
  | 'restart broker (graceful)'
  | 'restart broker (kill -9)';

/** One cycle of faults: every worker killed with SIGKILL once, the broker restarted both ways. */
export const FAULT_CYCLE: readonly FaultKind[] = [
  'kill processor',
  'kill sink-payment',
  'restart broker (graceful)',
  'kill api',
  'kill sink-postgres',
  'kill sink-notification',
  'restart broker (kill -9)',
  'kill sink-clickhouse',
];

/** A fault and when it is due, in ms from the start of the load. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly atMs: number;
}

export interface ChaosOptions {
  /** Offered load, operations per second, HTTP and library together (open loop). */
  readonly rate: number;
  /** How long the load runs (it runs on until the last fault has recovered). */
  readonly loadMs: number;
  /** Share of operations sent through the HTTP API; the rest go through the producer library. @default 0.6 */
  readonly httpShare: number;
  /** Share of operations that cancel an earlier accepted reservation of the same channel. @default 0.15 */
  readonly cancelShare: number;
  /** Share of HTTP writes sent with `Prefer: wait=2` (201/409 instead of 202). @default 0.25 */
  readonly waitShare: number;
  /** Resources booked. @default 8 */
  readonly resources: number;
  /** Capacity of each: small, so an overbooking would show. @default 3 */
  readonly capacity: number;
  /** Days over which requested periods are spread (fewer days, more contention). @default 3 */
  readonly slotDays: number;
  /**
   * Every this long the booking window moves one day later, so that fresh capacity keeps opening (and holds,
   * payments and mails keep flowing) however long the run. @default 20_000
   */
  readonly windowSlideMs: number;
  /**
   * Hold timeout of every other resource (the others keep the decider's 15 minutes), so holds expire
   * while the payment sink or the broker is down. @default 20_000
   */
  readonly shortHoldMs: number;
  /** Partitions of the commands, events and changelog topics. @default 3 */
  readonly partitions: number;
  /** The faults, in order. */
  readonly faults: readonly PlannedFault[];
  /** How long a killed worker stays down before it is started again. @default 1_000 */
  readonly workerDownMs: number;
  /** How long the broker stays down in a restart. @default 3_000 */
  readonly brokerDownMs: number;
  /** How long after its first attempt an operation whose outcome is unknown is still re-sent. @default 120_000 */
  readonly retryWindowMs: number;
  /** Longest wait for every consumer group to catch up after the load. @default 240_000 */
  readonly drainTimeoutMs: number;
  /** Keep the databases and the private broker's data after the run (for a post-mortem). @default false */
  readonly keep: boolean;
  /** Progress lines. @default console.log */
  readonly log: (line: string) => void;
}

export const defaults = {
  rate: 120,
  loadMs: 75_000,
  httpShare: 0.6,
  cancelShare: 0.15,
  waitShare: 0.25,
  resources: 8,
  capacity: 3,
  slotDays: 3,
  windowSlideMs: 20_000,
  shortHoldMs: 20_000,
  partitions: 3,
  workerDownMs: 1_000,
  brokerDownMs: 3_000,
  retryWindowMs: 120_000,
  drainTimeoutMs: 240_000,
  keep: false,
} satisfies Partial<ChaosOptions>;

/**
 * Spreads `cycles` fault cycles over the load, the first after `leadMs` (the pipeline warms up first) and
 * the last at least `tailMs` before the end (so the load goes on across the recovery).
 */
export function planFaults(loadMs: number, cycles: number, leadMs = 5_000, tailMs = 10_000): PlannedFault[] {
  const all = Array.from({ length: cycles }, () => FAULT_CYCLE).flat();
  const span = Math.max(0, loadMs - leadMs - tailMs);
  const step = all.length > 1 ? span / (all.length - 1) : 0;
  return all.map((kind, i) => ({ kind, atMs: Math.round(leadMs + i * step) }));
}

/** The integration suite: 75 s of load at 120 operations/s, every fault once. */
export function suiteOptions(overrides: Partial<ChaosOptions> = {}): ChaosOptions {
  const loadMs = overrides.loadMs ?? defaults.loadMs;
  return {
    ...defaults,
    faults: planFaults(loadMs, 1),
    log: (line) => console.log(line),
    ...overrides,
  };
}

/** `npm run chaos`: `minutes` of load, a fault cycle every ~80 s (at least one). */
export function cliOptions(minutes: number, overrides: Partial<ChaosOptions> = {}): ChaosOptions {
  const loadMs = Math.round(minutes * 60_000);
  const cycles = Math.max(1, Math.floor(loadMs / 80_000));
  return suiteOptions({ loadMs, faults: planFaults(loadMs, cycles), ...overrides });
}
