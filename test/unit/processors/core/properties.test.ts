/**
 * Property tests over long random command sequences: random clocks, quantities, overlapping ranges,
 * capacity changes, cancellations, reopens, payments, expiries and completions via timers, retries.
 * Every invariant is checked against an independent shadow model built from the events alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecideContext, decide } from '../../../../processors/core/decide.ts';
import { evolve, evolveAll } from '../../../../processors/core/evolve.ts';
import { naiveMaxLoad } from '../../../../processors/core/naive-availability.ts';
import type { CoreOptions } from '../../../../processors/core/options.ts';
import {
  createState,
  type ResourceState,
  stateFromJSON,
  stateToJSON,
} from '../../../../processors/core/state.ts';
import { fireDueTimers } from '../../../../processors/core/step.ts';
import type { Command, Customer, Event } from '../../../../schemas/generated/types.ts';
import {
  ada,
  bob,
  cancel,
  idSource,
  MINUTE,
  pay,
  RESOURCE,
  reopen,
  request,
  retire,
  T0,
  upsert,
} from './fixtures.ts';

const QUARTER = 15 * MINUTE;
const HOLD = 30 * MINUTE;
const carol: Customer = { id: 'cust-carol', fullName: 'Carol', email: 'carol@example.com', phone: null };
const customers = [ada, bob, carol];
const options: Partial<CoreOptions> = { idempotencyWindowMs: 10 * 365 * 86_400_000 };

const opArb = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 45 * MINUTE }),
    }),
  },
  {
    weight: 30,
    arbitrary: fc.record({
      k: fc.constant('request' as const),
      slot: fc.integer({ min: -4, max: 40 }),
      len: fc.integer({ min: 1, max: 12 }),
      q: fc.oneof(
        { weight: 1, arbitrary: fc.constant(0) },
        { weight: 12, arbitrary: fc.integer({ min: 1, max: 4 }) },
      ),
      cust: fc.integer({ min: 0, max: 2 }),
      keyed: fc.boolean(),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('cancel' as const),
      pick: fc.nat(),
      owner: fc.integer({ min: 0, max: 9 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('reopen' as const),
      pick: fc.nat(),
      owner: fc.integer({ min: 0, max: 9 }),
    }),
  },
  {
    weight: 14,
    arbitrary: fc.record({
      k: fc.constant('pay' as const),
      pick: fc.nat(),
      owner: fc.integer({ min: 0, max: 9 }),
      outcome: fc.constantFrom('SUCCEEDED' as const, 'SUCCEEDED' as const, 'FAILED' as const),
      amount: fc.constantFrom('none' as const, 'right' as const, 'wrong' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('capacity' as const), cap: fc.integer({ min: 0, max: 6 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('retire' as const), go: fc.integer({ min: 0, max: 4 }) }),
  },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('replay' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('retryKey' as const), pick: fc.nat() }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

interface Shadow {
  capacity: number;
  retired: boolean;
  reservations: Map<
    string,
    { status: string; version: number; start: number; end: number; quantity: number; customer: string }
  >;
}

const isLive = (status: string): boolean => status === 'Pending' || status === 'Confirmed';
const liveIntervals = (shadow: Shadow) => [...shadow.reservations.values()].filter((r) => isLive(r.status));

/** Capacity must hold at every instant: checking every start of a live reservation covers all instants. */
function assertCapacity(shadow: Shadow): void {
  const live = liveIntervals(shadow);
  for (const r of live) {
    let load = 0;
    for (const o of live) if (o.start <= r.start && r.start < o.end) load += o.quantity;
    if (load > shadow.capacity)
      throw new Error(`capacity ${shadow.capacity} exceeded: ${load} at ${r.start}`);
  }
}

const legal: Record<string, [from: string | null, to: string]> = {
  ReservationHeld: [null, 'Pending'],
  ReservationConfirmed: ['Pending', 'Confirmed'],
  ReservationPaymentFailed: ['Pending', 'Cancelled'],
  ReservationExpired: ['Pending', 'Expired'],
  ReservationCompleted: ['Confirmed', 'Completed'],
  ReservationReopened: ['Cancelled', 'Pending'],
};

/** Applies an event to the shadow, failing on any illegal transition. */
function applyToShadow(shadow: Shadow, e: Event, now: number): void {
  expect(e.decidedAt).toBe(now);
  expect(e.resourceId).toBe(RESOURCE);
  if (e.type === 'ResourceUpserted') shadow.capacity = e.capacity;
  if (e.type === 'ResourceRetired') shadow.retired = true;
  if (e.type === 'ReservationRejected' || !('reservationVersion' in e)) return;
  const prev = shadow.reservations.get(e.reservationId);
  let to: string;
  if (e.type === 'ReservationCancelled') {
    expect(prev && isLive(prev.status), `cancel from ${prev?.status}`).toBe(true);
    expect(e.previousStatus).toBe(prev?.status);
    to = 'Cancelled';
  } else {
    const rule = legal[e.type];
    if (!rule) throw new Error(`unexpected ${e.type}`);
    expect(prev?.status ?? null, `${e.type} from ${prev?.status}`).toBe(rule[0]);
    to = rule[1];
  }
  expect(e.reservationVersion).toBe((prev?.version ?? 0) + 1);
  if (e.type === 'ReservationHeld' || e.type === 'ReservationReopened') expect(shadow.retired).toBe(false);
  if (e.type === 'ReservationExpired') expect(now).toBeGreaterThanOrEqual(e.holdExpiresAt);
  if (e.type === 'ReservationCompleted') expect(now).toBeGreaterThanOrEqual(e.end);
  const base =
    e.type === 'ReservationHeld'
      ? { start: e.start, end: e.end, quantity: e.quantity, customer: e.customer.id }
      : (prev as NonNullable<typeof prev>);
  shadow.reservations.set(e.reservationId, { ...base, status: to, version: e.reservationVersion });
}

/**
 * Runs a sequence, checking every invariant on the way; returns the final state and the event log.
 * With `restoreAt`, the state is replaced by its own JSON round trip before that op (a changelog restore).
 */
function run(ops: Op[], seed: number, restoreAt = -1) {
  let state: ResourceState = createState(RESOURCE, options);
  const newId = idSource(seed);
  // Command and reservation ids from the run's own source, so equal runs produce equal logs.
  const ids = { commandId: '', reservationId: '' };
  const fresh = () => {
    ids.commandId = newId();
    ids.reservationId = newId();
    return { commandId: ids.commandId };
  };
  let now = T0;
  const ctx = (): DecideContext => ({ now, newId });
  const shadow: Shadow = { capacity: 0, retired: false, reservations: new Map() };
  const log: Event[] = [];
  const commands: Command[] = [];
  const reservationIds: string[] = [];
  let keys = 0;

  /** Checks and logs events the state has already applied. */
  const record = (events: Event[]) => {
    for (const e of events) {
      applyToShadow(shadow, e, now);
      log.push(e);
    }
    assertCapacity(shadow);
  };
  const apply = (events: Event[]) => {
    for (const e of events) evolve(state, e);
    record(events);
  };
  const decideAndCheck = (cmd: Command): Event[] => {
    const events = decide(state, cmd, ctx());
    for (const e of events)
      expect(e.type === 'ReservationExpired' || e.type === 'ReservationCompleted').toBe(false);
    return events;
  };

  apply(decideAndCheck(upsert({ ...fresh(), capacity: 3, holdTimeoutMs: HOLD })));
  for (const [index, op] of ops.entries()) {
    if (index === restoreAt) state = stateFromJSON(JSON.parse(JSON.stringify(stateToJSON(state))), options);
    record(fireDueTimers(state, ctx())); // what the runtime does before each command (it applies them)
    const pick = <T>(list: T[], n: number): T | undefined => list[n % Math.max(1, list.length)];
    // Mostly a reservation in the status the command needs, sometimes any (even never held) one.
    const choose = (n: number, wanted: (status: string) => boolean): string | undefined => {
      const fitting = [...shadow.reservations].filter(([, r]) => wanted(r.status)).map(([id]) => id);
      return pick(n % 5 === 0 || fitting.length === 0 ? reservationIds : fitting, n);
    };
    const ownerOf = (id: string, owner: number): string =>
      owner === 0 ? 'cust-nobody' : (shadow.reservations.get(id)?.customer ?? ada.id);
    let cmd: Command | undefined;
    switch (op.k) {
      case 'advance':
        now += op.ms;
        continue;
      case 'request': {
        const start = T0 + op.slot * QUARTER;
        cmd = request({
          ...fresh(),
          reservationId: ids.reservationId,
          start,
          end: start + op.len * QUARTER,
          quantity: op.q,
          customer: customers[op.cust] as Customer,
          idempotencyKey: op.keyed ? `key-${++keys}` : null,
        });
        reservationIds.push(cmd.reservationId);
        break;
      }
      case 'cancel':
      case 'reopen':
      case 'pay': {
        const wanted =
          op.k === 'cancel'
            ? isLive
            : op.k === 'reopen'
              ? (st: string) => st === 'Cancelled'
              : (st: string) => st === 'Pending';
        const id = choose(op.pick, wanted);
        if (id === undefined) continue;
        const customerId = ownerOf(id, op.owner);
        if (op.k === 'cancel') cmd = cancel(id, { ...fresh(), customerId });
        else if (op.k === 'reopen') cmd = reopen(id, { ...fresh(), customerId });
        else {
          const price = state.live.get(id)?.price ?? { amountMinor: 0, currency: 'EUR' };
          const amount =
            op.amount === 'none'
              ? null
              : op.amount === 'right'
                ? price
                : { ...price, amountMinor: price.amountMinor + 1 };
          cmd = pay(id, { ...fresh(), customerId, outcome: op.outcome, amount });
        }
        break;
      }
      case 'capacity':
        cmd = upsert({ ...fresh(), capacity: op.cap, holdTimeoutMs: HOLD });
        break;
      case 'retire':
        if (op.go !== 0) continue; // rarer still: most sequences keep selling
        cmd = retire(fresh());
        break;
      case 'replay':
      case 'retryKey': {
        const original = pick(
          op.k === 'replay'
            ? commands
            : commands.filter(
                (c) => c.idempotencyKey !== null && state.idempotency.find(c.commandId, '', null),
              ),
          op.pick,
        );
        if (original === undefined) continue;
        const again: Command = op.k === 'replay' ? original : { ...original, commandId: `retry-${newId()}` };
        const before = JSON.stringify(stateToJSON(state));
        const events = decideAndCheck(again);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ reason: 'DUPLICATE' });
        apply(events);
        expect(JSON.stringify(stateToJSON(state)), 'a duplicate changed the state').toBe(before);
        continue;
      }
    }
    // Refusals for lack of capacity must be real: the oracle agrees the request does not fit.
    const events = decideAndCheck(cmd);
    for (const e of events) {
      if (e.type !== 'ReservationRejected' || e.reason !== 'UNAVAILABLE') continue;
      const r = cmd.type === 'RequestReservation' ? cmd : shadow.reservations.get(e.reservationId);
      if (!r) throw new Error('UNAVAILABLE for an unknown reservation');
      expect(naiveMaxLoad(liveIntervals(shadow), r.start, r.end) + r.quantity).toBeGreaterThan(
        shadow.capacity,
      );
    }
    commands.push(cmd);
    apply(events);
  }
  // The kept state agrees with the shadow model on every reservation that is still remembered.
  for (const r of [...state.live.values(), ...state.inactive.values()]) {
    expect(shadow.reservations.get(r.id)).toMatchObject({ status: r.status, version: r.version });
  }
  expect(state.live.size).toBe(liveIntervals(shadow).length);
  return { state, log, now };
}

const sequences = fc.array(opArb, { minLength: 50, maxLength: 400 });

describe('decider properties', () => {
  it('never exceeds capacity, only makes legal transitions, ignores duplicates, and refuses only what does not fit', () => {
    fc.assert(
      fc.property(sequences, (ops) => {
        run(ops, 2);
      }),
      { numRuns: 120 },
    );
  });

  it('replaying every emitted event through evolve from the empty state rebuilds the kept state', () => {
    fc.assert(
      fc.property(sequences, (ops) => {
        const { state, log } = run(ops, 3);
        const rebuilt = evolveAll(createState(RESOURCE, options), log);
        expect(JSON.parse(JSON.stringify(stateToJSON(rebuilt)))).toEqual(
          JSON.parse(JSON.stringify(stateToJSON(state))),
        );
        expect(rebuilt.availability.peakLoad()).toBe(state.availability.peakLoad());
      }),
      { numRuns: 80 },
    );
  });

  it('a state restored from its JSON mid-sequence decides the rest exactly like the original', () => {
    fc.assert(
      fc.property(sequences, fc.nat(), (ops, at) => {
        const straight = run(ops, 4);
        const restored = run(ops, 4, at % ops.length);
        expect(restored.log).toEqual(straight.log);
        expect(stateToJSON(restored.state)).toEqual(stateToJSON(straight.state));
      }),
      { numRuns: 40 },
    );
  });
});
