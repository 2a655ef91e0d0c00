/**
 * How a runtime drives the core for one resource: fire what is due at `now`, then decide the command,
 * applying every event as it goes. Firing timers first means a command decided at `now` never sees a hold
 * that should already have expired (e.g. a late payment is refused, not confirmed).
 */
import type { Event } from '../../schemas/generated/types.ts';
import { type DecidableCommand, type DecideContext, decide } from './decide.ts';
import { evolve } from './evolve.ts';
import type { ResourceState } from './state.ts';
import { dueTimer } from './timers.ts';

/** Decides one command and applies its events; returns them. */
export function decideAndApply(state: ResourceState, command: DecidableCommand, ctx: DecideContext): Event[] {
  const events = decide(state, command, ctx);
  for (const event of events) evolve(state, event);
  return events;
}

/** Fires every timer due at ctx.now, earliest first, applying each; returns the events. */
export function fireDueTimers(state: ResourceState, ctx: DecideContext): Event[] {
  const events: Event[] = [];
  for (
    let timer = dueTimer(state, ctx.now, ctx.newId);
    timer !== undefined;
    timer = dueTimer(state, ctx.now, ctx.newId)
  ) {
    events.push(...decideAndApply(state, timer, ctx));
  }
  return events;
}

/** Fires due timers, then decides the command; returns every event in the order applied. */
export function step(state: ResourceState, command: DecidableCommand, ctx: DecideContext): Event[] {
  const fired = fireDueTimers(state, ctx);
  const decided = decideAndApply(state, command, ctx);
  return fired.length === 0 ? decided : [...fired, ...decided];
}
