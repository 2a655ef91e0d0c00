import { type AvailabilityIndex, AvailabilityTree } from './availability.ts';

/** Latest instant the core accepts, 2^43 ms (year 2248): keeps every sum of times exact in a double. */
export const MAX_TIMESTAMP_MS = 2 ** 43;
/** Shortest hold timeout a resource may set. */
export const MIN_HOLD_TIMEOUT_MS = 1_000; // one second
/** Longest hold timeout a resource may set. */
export const MAX_HOLD_TIMEOUT_MS = 7 * 86_400_000; // one week
/** Largest capacity: Avro `int`. */
export const MAX_CAPACITY = 2 ** 31 - 1;

/** Settings of the decider core. They change what evolve keeps, so a rebuild must use the same values. */
export interface CoreOptions {
  /** Hold timeout of a resource that sets none. @default 900_000 (15 minutes) */
  readonly defaultHoldTimeoutMs: number;
  /** Most recent decided commands remembered per resource for idempotency. @default 2_048 */
  readonly idempotencyCapacity: number;
  /** Remembered commands older than this, relative to the newest, are forgotten. @default 86_400_000 (24 h) */
  readonly idempotencyWindowMs: number;
  /** Cancelled, Expired and Completed reservations kept per resource (oldest forgotten first). @default 10_000 */
  readonly inactiveCapacity: number;
  /** Builds the availability index; the naive one exists for tests and the bench. @default AvailabilityTree */
  readonly availability: () => AvailabilityIndex;
  /**
   * Keep a journal of what evolve changed (reservations, idempotency entries, the resource), so a runtime
   * can persist only that. @default false
   */
  readonly trackChanges: boolean;
}

/** Defaults of every option. */
export const defaults = {
  defaultHoldTimeoutMs: 900_000, // 15 minutes
  idempotencyCapacity: 2_048,
  idempotencyWindowMs: 86_400_000, // 24 hours
  inactiveCapacity: 10_000,
  availability: () => new AvailabilityTree(),
  trackChanges: false,
} satisfies CoreOptions;

/** Fills in defaults and checks the values, failing fast with the name of the bad option. */
export function compileOptions(options: Partial<CoreOptions> = {}): CoreOptions {
  const compiled = { ...defaults, ...options };
  const positive = [
    'defaultHoldTimeoutMs',
    'idempotencyCapacity',
    'idempotencyWindowMs',
    'inactiveCapacity',
  ] as const;
  for (const key of positive) {
    if (!Number.isSafeInteger(compiled[key]) || compiled[key] < 0) {
      throw new RangeError(`core option ${key} must be a non-negative integer, got ${compiled[key]}`);
    }
  }
  return Object.freeze(compiled);
}
