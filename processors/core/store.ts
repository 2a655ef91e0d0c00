/**
 * Many resources in one place: the states of one input partition. The core decides per resource; the
 * store routes each command to its resource and keeps a wake-up queue so `tick` fires the due timers of
 * every resource without scanning them all.
 */
import type { Command, Event } from '../../schemas/generated/types.ts';
import type { DecideContext } from './decide.ts';
import { MinHeap } from './internal-heap.ts';
import type { CoreOptions } from './options.ts';
import {
  createState,
  type ResourceState,
  type ResourceStateJson,
  stateFromJSON,
  stateToJSON,
} from './state.ts';
import { fireDueTimers, step } from './step.ts';

interface WakeUp {
  readonly at: number;
  readonly resourceId: string;
}

const earlier = (a: WakeUp, b: WakeUp): boolean =>
  a.at !== b.at ? a.at < b.at : a.resourceId < b.resourceId;

/** The resource states of one partition, with command routing and timers across resources. */
export class ResourceStore {
  private readonly states = new Map<string, ResourceState>();
  private readonly wakeUps = new MinHeap<WakeUp>(earlier);
  /** Last wake-up queued per resource, so the queue holds one entry per change, not per command. */
  private readonly queuedAt = new Map<string, number>();

  constructor(private readonly options: Partial<CoreOptions> = {}) {}

  get size(): number {
    return this.states.size;
  }

  /** True if the store holds a state for the resource. */
  has(resourceId: string): boolean {
    return this.states.has(resourceId);
  }

  /** The state of a resource, created empty on first use. */
  get(resourceId: string): ResourceState {
    let state = this.states.get(resourceId);
    if (state === undefined) {
      state = createState(resourceId, this.options);
      this.states.set(resourceId, state);
    }
    return state;
  }

  /** Fires the resource's due timers, decides the command, applies everything; returns the events. */
  handle(command: Command, ctx: DecideContext): Event[] {
    const state = this.get(command.resourceId);
    const events = step(state, command, ctx);
    this.queueWakeUp(state);
    return events;
  }

  /** Fires every timer due at ctx.now across resources; returns the events. */
  tick(ctx: DecideContext): Event[] {
    const events: Event[] = [];
    for (let top = this.wakeUps.peek(); top !== undefined && top.at <= ctx.now; top = this.wakeUps.peek()) {
      this.wakeUps.pop();
      if (this.queuedAt.get(top.resourceId) === top.at) this.queuedAt.delete(top.resourceId);
      const state = this.get(top.resourceId);
      events.push(...fireDueTimers(state, ctx));
      this.queueWakeUp(state);
    }
    return events;
  }

  /** Earliest time a timer is due in any resource (may be early, never late), or null. */
  nextWakeUpAt(): number | null {
    return this.wakeUps.peek()?.at ?? null;
  }

  /** Every state as plain data. */
  toJSON(): ResourceStateJson[] {
    return [...this.states.values()].map(stateToJSON);
  }

  /** Restores states saved by toJSON (e.g. from the changelog). */
  load(states: Iterable<ResourceStateJson>): void {
    for (const json of states) {
      const state = stateFromJSON(json, this.options);
      this.states.set(state.resourceId, state);
      this.queueWakeUp(state);
    }
  }

  private queueWakeUp(state: ResourceState): void {
    // The earliest timer without checking it is current: a stale one only means an early, empty wake-up.
    const at = state.timers.peek()?.dueAt;
    if (at === undefined) return;
    const queued = this.queuedAt.get(state.resourceId);
    if (queued !== undefined && queued <= at) return; // an earlier wake-up will find this timer too
    this.queuedAt.set(state.resourceId, at);
    this.wakeUps.push({ at, resourceId: state.resourceId });
  }
}
