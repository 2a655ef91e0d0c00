import { describe, expect, it } from 'vitest';
import { ResourceStore, stateToJSON } from '../../../../processors/core/index.ts';
import { ChangelogRestorer, changelogRecords } from '../../../../processors/decider/changelog.ts';
import type { Command } from '../../../../schemas/generated/types.ts';
import {
  cancel,
  ctxAt,
  HOUR,
  idSource,
  only,
  pay,
  RESOURCE,
  reopen,
  request,
  T0,
  upsert,
} from '../core/fixtures.ts';

/** A seeded pseudo-random sequence, so a failure replays. */
function random(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('entity changelog', () => {
  it('restores exactly the kept state, through evictions (tombstones) of inactive reservations and idempotency entries', () => {
    // Small bounds so the run evicts many times.
    const options = { trackChanges: true, inactiveCapacity: 3, idempotencyCapacity: 5 };
    const store = new ResourceStore(options);
    const restorer = new ChangelogRestorer();
    const rnd = random(42);
    const newId = idSource(7);
    const ids: string[] = [];
    let now = T0;
    let tombstones = 0;
    const persist = (touched: Iterable<string>) => {
      for (const resourceId of touched) {
        for (const r of changelogRecords(store.get(resourceId), 'changelog', 0)) {
          if (r.value === null) tombstones += 1;
          restorer.add(Buffer.from(r.key), r.value);
        }
      }
    };
    const seen = new Map<string, number>();
    const apply = (command: Command) => {
      const events = store.handle(command, { now, newId });
      for (const e of events) seen.set(e.type, (seen.get(e.type) ?? 0) + 1);
      persist(new Set(events.map((e) => e.resourceId)));
    };
    apply(upsert({ capacity: 4 }));
    for (let i = 0; i < 400; i++) {
      now += Math.floor(rnd() * 60_000);
      const choice = rnd();
      const someId = ids[Math.floor(rnd() * ids.length)];
      if (choice < 0.4 || someId === undefined) {
        const slot = Math.floor(rnd() * 20);
        const r = request({
          start: T0 + (48 + slot) * HOUR,
          end: T0 + (49 + slot) * HOUR,
          quantity: 1 + Math.floor(rnd() * 2),
        });
        ids.push(r.reservationId);
        apply(r);
      } else if (choice < 0.65) apply(cancel(someId));
      else if (choice < 0.8) apply(reopen(someId));
      else if (choice < 0.95) apply(pay(someId));
      else apply(upsert({ capacity: 3 + Math.floor(rnd() * 3) }));
      if (i % 50 === 0) persist(new Set(store.tick(ctxAt(now, newId)).map((e) => e.resourceId)));
    }
    expect(tombstones).toBeGreaterThan(0);
    // The run went through every kind of transition the changelog must carry.
    for (const type of [
      'ReservationHeld',
      'ReservationConfirmed',
      'ReservationCancelled',
      'ReservationReopened',
    ]) {
      expect(seen.get(type) ?? 0, `${type} in ${JSON.stringify([...seen])}`).toBeGreaterThan(0);
    }
    const restored = new ResourceStore(options);
    restored.load(restorer.states());
    expect(stateToJSON(restored.get(RESOURCE))).toEqual(stateToJSON(store.get(RESOURCE)));
  });

  it('keeps a confirmed reservation in its place among the live ones, as the state does', () => {
    const store = new ResourceStore({ trackChanges: true });
    const restorer = new ChangelogRestorer();
    const newId = idSource(5);
    const persist = () => {
      for (const r of changelogRecords(store.get(RESOURCE), 'changelog', 0))
        restorer.add(Buffer.from(r.key), r.value);
    };
    store.handle(upsert({ capacity: 5 }), { now: T0, newId });
    const a = request();
    const b = request();
    store.handle(a, { now: T0, newId });
    store.handle(b, { now: T0, newId });
    persist();
    expect(only(store.handle(pay(a.reservationId, { amount: null }), { now: T0 + 1, newId })).type).toBe(
      'ReservationConfirmed',
    );
    persist();
    const restored = new ResourceStore({ trackChanges: true });
    restored.load(restorer.states());
    expect(stateToJSON(restored.get(RESOURCE)).live.map((r) => r.id)).toEqual([
      a.reservationId,
      b.reservationId,
    ]);
    expect(stateToJSON(restored.get(RESOURCE))).toEqual(stateToJSON(store.get(RESOURCE)));
  });

  it('writes only what changed: one reservation record per decided request, not the whole resource', () => {
    const store = new ResourceStore({ trackChanges: true });
    const newId = idSource(3);
    store.handle(upsert({ capacity: 100 }), { now: T0, newId });
    changelogRecords(store.get(RESOURCE), 'changelog', 0);
    for (let i = 0; i < 50; i++) store.handle(request(), { now: T0, newId });
    changelogRecords(store.get(RESOURCE), 'changelog', 0);
    store.handle(request(), { now: T0, newId });
    const records = changelogRecords(store.get(RESOURCE), 'changelog', 0);
    // the new reservation and its idempotency entry; the resource header and the other 50 are untouched
    expect(records.map((r) => r.key.split('\u0000')[1])).toEqual(['r', 'c']);
  });
});
