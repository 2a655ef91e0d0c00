/**
 * An independent checker of decided events (read with read_committed): every command decided exactly once,
 * no reservation held twice, and capacity never exceeded at any instant for any resource. It replays the
 * events in partition order with a deliberately naive interval model, sharing no code with the decider.
 */
import type { Event } from '../../schemas/generated/types.ts';

export interface CheckReport {
  readonly commands: number;
  readonly decidedOnce: number;
  readonly missing: string[];
  readonly decidedMoreThanOnce: string[];
  readonly heldTwice: string[];
  readonly overbooked: string[];
}

interface Live {
  readonly start: number;
  readonly end: number;
  readonly quantity: number;
}

function maxLoad(live: Iterable<Live>, start: number, end: number): number {
  const list = [...live];
  let max = 0;
  // The load only changes at starts, so the maximum over [start, end) is at `start` or at a start inside.
  const instants = [start, ...list.map((l) => l.start).filter((s) => s > start && s < end)];
  for (const t of instants) {
    let load = 0;
    for (const l of list) if (l.start <= t && t < l.end) load += l.quantity;
    max = Math.max(max, load);
  }
  return max;
}

/** `events` must be in partition order; `sent` are the ids of the commands that were sent. */
export function checkDecisions(
  events: readonly Event[],
  sent: ReadonlySet<string>,
  capacities: ReadonlyMap<string, number>,
): CheckReport {
  const eventsPerCommand = new Map<string, number>();
  const heldCount = new Map<string, number>();
  const live = new Map<string, Map<string, Live>>();
  const overbooked: string[] = [];
  for (const event of events) {
    if (sent.has(event.causationCommandId)) {
      eventsPerCommand.set(
        event.causationCommandId,
        (eventsPerCommand.get(event.causationCommandId) ?? 0) + 1,
      );
    }
    const byResource = live.get(event.resourceId) ?? new Map<string, Live>();
    live.set(event.resourceId, byResource);
    switch (event.type) {
      case 'ReservationHeld':
      case 'ReservationReopened': {
        if (event.type === 'ReservationHeld')
          heldCount.set(event.reservationId, (heldCount.get(event.reservationId) ?? 0) + 1);
        byResource.set(event.reservationId, { start: event.start, end: event.end, quantity: event.quantity });
        const capacity = capacities.get(event.resourceId) ?? 0;
        const load = maxLoad(byResource.values(), event.start, event.end);
        if (load > capacity)
          overbooked.push(
            `${event.resourceId}: load ${load} > capacity ${capacity} after ${event.reservationId}`,
          );
        break;
      }
      case 'ReservationCancelled':
      case 'ReservationExpired':
      case 'ReservationCompleted':
      case 'ReservationPaymentFailed':
        byResource.delete(event.reservationId);
        break;
      default:
        break;
    }
  }
  const missing = [...sent].filter((id) => !eventsPerCommand.has(id));
  const decidedMoreThanOnce = [...eventsPerCommand].filter(([, n]) => n > 1).map(([id]) => id);
  return {
    commands: sent.size,
    decidedOnce: [...eventsPerCommand.values()].filter((n) => n === 1).length,
    missing,
    decidedMoreThanOnce,
    heldTwice: [...heldCount].filter(([, n]) => n > 1).map(([id]) => id),
    overbooked,
  };
}
