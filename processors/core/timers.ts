/**
 * Timers: hold expiry (Pending until holdExpiresAt) and completion (Confirmed until end). They are data,
 * derived from the live reservations, never a clock inside the core: the runtime asks what is due at its
 * `now` and decides the returned internal command like any other, inside the same transaction.
 *
 * The queue is a min-heap with lazy deletion: a transition leaves the old timer in the heap, and it is
 * dropped when it reaches the top and no longer matches the reservation (status and version).
 */
import { MinHeap } from './internal-heap.ts';
import type { ResourceState } from './state.ts';

/** Kinds of timer, named after the internal command each one fires. */
export type TimerKind = 'ExpireHold' | 'CompleteReservation';

/** A scheduled transition of one reservation at one version. */
export interface Timer {
  readonly kind: TimerKind;
  readonly dueAt: number;
  readonly reservationId: string;
  /** Reservation version the timer was set for; any later transition makes it stale. */
  readonly version: number;
}

interface TimerCommandOf<K extends TimerKind> extends Timer {
  readonly type: K;
  readonly kind: K;
  readonly commandId: string;
  readonly resourceId: string;
}

/**
 * An internal, timer-driven command. Never on the wire (so not in the Avro contract): the processor
 * creates it from its own clock. Its commandId becomes the causationCommandId of the resulting event.
 */
export type TimerCommand = TimerCommandOf<'ExpireHold'> | TimerCommandOf<'CompleteReservation'>;

// Deterministic order (dueAt, reservationId, kind), so simultaneous timers fire in the same order after a
// rebuild as before it.
const before = (a: Timer, b: Timer): boolean =>
  a.dueAt !== b.dueAt
    ? a.dueAt < b.dueAt
    : a.reservationId !== b.reservationId
      ? a.reservationId < b.reservationId
      : a.kind !== b.kind
        ? a.kind < b.kind
        : a.version < b.version;

/** The timers of one resource, earliest first. */
export class TimerQueue {
  private readonly heap = new MinHeap<Timer>(before);

  get size(): number {
    return this.heap.size;
  }

  schedule(timer: Timer): void {
    this.heap.push(timer);
  }

  /** @internal used by nextTimer to inspect and drop stale heads */
  peek(): Timer | undefined {
    return this.heap.peek();
  }

  /** @internal */
  pop(): Timer | undefined {
    return this.heap.pop();
  }
}

/** The timer a live reservation currently needs: expiry while Pending, completion while Confirmed. */
export function timerFor(r: {
  readonly id: string;
  readonly status: string;
  readonly version: number;
  readonly holdExpiresAt: number;
  readonly end: number;
}): Timer | undefined {
  if (r.status === 'Pending')
    return { kind: 'ExpireHold', dueAt: r.holdExpiresAt, reservationId: r.id, version: r.version };
  if (r.status === 'Confirmed')
    return { kind: 'CompleteReservation', dueAt: r.end, reservationId: r.id, version: r.version };
  return undefined;
}

/** True while the timer still matches its reservation (same version, still in the status it ends). */
export function isCurrent(state: ResourceState, timer: Timer): boolean {
  const r = state.live.get(timer.reservationId);
  if (r === undefined || r.version !== timer.version) return false;
  return timer.kind === 'ExpireHold' ? r.status === 'Pending' : r.status === 'Confirmed';
}

/** The earliest current timer, dropping stale ones on the way (they can never fire). */
export function nextTimer(state: ResourceState): Timer | undefined {
  for (;;) {
    const top = state.timers.peek();
    if (top === undefined || isCurrent(state, top)) return top;
    state.timers.pop();
  }
}

/** When the next timer is due (epoch ms), or null: lets the runtime sleep until then. */
export function nextDueAt(state: ResourceState): number | null {
  return nextTimer(state)?.dueAt ?? null;
}

/**
 * The next timer due at `now`, as an internal command to decide, or undefined when nothing is due.
 * Does not consume it: once decided and evolved, the reservation moves on and the timer becomes stale.
 */
export function dueTimer(state: ResourceState, now: number, newId: () => string): TimerCommand | undefined {
  // Fast path for the common case: if even the earliest (possibly stale) timer is not due, none is.
  const earliest = state.timers.peek();
  if (earliest === undefined || earliest.dueAt > now) return undefined;
  const timer = nextTimer(state);
  if (timer === undefined || timer.dueAt > now) return undefined;
  return { ...timer, type: timer.kind, commandId: newId(), resourceId: state.resourceId } as TimerCommand;
}
