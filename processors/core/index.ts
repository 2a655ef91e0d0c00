/** The pure decider core: rules, state, availability, timers and idempotency. No Kafka, no I/O. */
export { type AvailabilityIndex, AvailabilityTree } from './availability.ts';
export { type DecidableCommand, type DecideContext, decide, principalOf } from './decide.ts';
export { evolve, evolveAll } from './evolve.ts';
export { type IdempotencyEntry, IdempotencyMemory } from './idempotency.ts';
export { NaiveAvailability, naiveMaxLoad } from './naive-availability.ts';
export { type CoreOptions, compileOptions, defaults, MAX_TIMESTAMP_MS } from './options.ts';
export {
  type ChangeJournal,
  clearJournal,
  createState,
  findReservation,
  isLive,
  type Reservation,
  type ResourceInfo,
  type ResourceState,
  type ResourceStateJson,
  stateFromJSON,
  stateToJSON,
} from './state.ts';
export { decideAndApply, fireDueTimers, step } from './step.ts';
export { ResourceStore } from './store.ts';
export { dueTimer, nextDueAt, type Timer, type TimerCommand, type TimerKind } from './timers.ts';
