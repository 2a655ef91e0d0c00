/**
 * The state of one resource, as the decider keeps it: the resource's settings, its reservations, and
 * the derived indexes that make decisions O(log n) (availability, timers). Only plain data is serialised
 * (`stateToJSON`); the indexes are rebuilt on load.
 */
import type { Customer, Money, ReservationStatus } from '../../schemas/generated/types.ts';
import type { AvailabilityIndex } from './availability.ts';
import { type IdempotencyEntry, IdempotencyMemory } from './idempotency.ts';
import { type CoreOptions, compileOptions } from './options.ts';
import { TimerQueue, timerFor } from './timers.ts';

/** Settings of a resource, from its last ResourceUpserted/ResourceRetired. */
export interface ResourceInfo {
  readonly name: string;
  readonly description: string | null;
  readonly capacity: number;
  readonly unitPrice: Money;
  /** Null means the system default (CoreOptions.defaultHoldTimeoutMs). */
  readonly holdTimeoutMs: number | null;
  /** A retired resource takes no new reservations; live ones are honoured. */
  readonly retired: boolean;
  readonly version: number;
}

/** One reservation of the resource. */
export interface Reservation {
  readonly id: string;
  readonly customer: Customer;
  readonly start: number;
  readonly end: number;
  readonly quantity: number;
  readonly status: ReservationStatus;
  readonly version: number;
  readonly unitPrice: Money;
  readonly price: Money;
  /** When the last hold expires (or expired). */
  readonly holdExpiresAt: number;
}

/** Pending and Confirmed reservations hold capacity. */
export const isLive = (status: ReservationStatus): boolean => status === 'Pending' || status === 'Confirmed';

/**
 * What evolve changed since the journal was last drained: ids of reservations and remembered commands
 * that were added, changed or forgotten, and whether the resource's settings changed. Plain data; the
 * runtime reads the current values (or their absence) from the state when it persists them.
 */
export interface ChangeJournal {
  resource: boolean;
  readonly reservations: Set<string>;
  readonly commands: Set<string>;
}

/** Everything the decider knows about one resource. Mutated in place by evolve. */
export interface ResourceState {
  readonly resourceId: string;
  readonly options: CoreOptions;
  /** Null until the first ResourceUpserted. */
  resource: ResourceInfo | null;
  /** Pending and Confirmed reservations. */
  readonly live: Map<string, Reservation>;
  /** Cancelled, Expired and Completed reservations, oldest first, bounded by options.inactiveCapacity. */
  readonly inactive: Map<string, Reservation>;
  /** Derived from `live`: the load at every instant. */
  readonly availability: AvailabilityIndex;
  /** Derived from `live`: expiry and completion timers. */
  readonly timers: TimerQueue;
  readonly idempotency: IdempotencyMemory;
  /** Present when options.trackChanges is on. */
  readonly journal: ChangeJournal | null;
}

/** The serialisable form of a ResourceState (plain JSON; the changelog value). */
export interface ResourceStateJson {
  readonly resourceId: string;
  readonly resource: ResourceInfo | null;
  readonly live: readonly Reservation[];
  readonly inactive: readonly Reservation[];
  readonly idempotency: readonly IdempotencyEntry[];
}

/** The state of a resource nobody has touched yet. */
export function createState(resourceId: string, options: Partial<CoreOptions> = {}): ResourceState {
  const compiled = compileOptions(options);
  const journal: ChangeJournal | null = compiled.trackChanges
    ? { resource: false, reservations: new Set(), commands: new Set() }
    : null;
  return {
    resourceId,
    options: compiled,
    resource: null,
    live: new Map(),
    inactive: new Map(),
    availability: compiled.availability(),
    timers: new TimerQueue(),
    idempotency: new IdempotencyMemory(
      compiled.idempotencyCapacity,
      compiled.idempotencyWindowMs,
      journal ? (commandId) => journal.commands.add(commandId) : undefined,
    ),
    journal,
  };
}

/** A reservation by id, live or inactive. */
export function findReservation(state: ResourceState, id: string): Reservation | undefined {
  return state.live.get(id) ?? state.inactive.get(id);
}

/** Plain data for the changelog; `stateFromJSON` turns it back into an equivalent state. */
export function stateToJSON(state: ResourceState): ResourceStateJson {
  return {
    resourceId: state.resourceId,
    resource: state.resource,
    live: [...state.live.values()],
    inactive: [...state.inactive.values()],
    idempotency: state.idempotency.entries(),
  };
}

/** Rebuilds a state, with its indexes, from `stateToJSON` output (after a JSON round trip). */
export function stateFromJSON(json: ResourceStateJson, options: Partial<CoreOptions> = {}): ResourceState {
  const state = createState(json.resourceId, options);
  state.resource = json.resource;
  for (const r of json.live) {
    state.live.set(r.id, r);
    state.availability.add(r.start, r.end, r.quantity);
    const timer = timerFor(r);
    if (timer !== undefined) state.timers.schedule(timer);
  }
  for (const r of json.inactive) state.inactive.set(r.id, r);
  for (const entry of json.idempotency) state.idempotency.remember(entry);
  // Loading is not a change.
  if (state.journal) clearJournal(state.journal);
  return state;
}

/** Empties a journal after its changes were persisted. */
export function clearJournal(journal: ChangeJournal): void {
  journal.resource = false;
  journal.reservations.clear();
  journal.commands.clear();
}
