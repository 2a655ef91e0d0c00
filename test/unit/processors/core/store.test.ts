import { describe, expect, it } from 'vitest';
import { ResourceStore } from '../../../../processors/core/store.ts';
import { ctxAt, HOUR, MINUTE, pay, request, T0, upsert } from './fixtures.ts';

describe('ResourceStore', () => {
  it('routes commands to their resource', () => {
    const store = new ResourceStore();
    const ctx = ctxAt(T0);
    store.handle(upsert({ resourceId: 'a', capacity: 1 }), ctx);
    store.handle(upsert({ resourceId: 'b', capacity: 1 }), ctx);
    expect(store.handle(request({ resourceId: 'a' }), ctx)[0]?.type).toBe('ReservationHeld');
    expect(store.handle(request({ resourceId: 'b' }), ctx)[0]?.type).toBe('ReservationHeld');
    expect(store.handle(request({ resourceId: 'a' }), ctx)[0]?.type).toBe('ReservationRejected');
    expect(store.size).toBe(2);
  });

  it('tick fires due timers across resources, earliest first', () => {
    const store = new ResourceStore();
    store.handle(upsert({ resourceId: 'a', holdTimeoutMs: 10 * MINUTE }), ctxAt(T0));
    store.handle(upsert({ resourceId: 'b', holdTimeoutMs: 5 * MINUTE }), ctxAt(T0));
    store.handle(request({ resourceId: 'a' }), ctxAt(T0));
    const paid = request({ resourceId: 'b' });
    store.handle(paid, ctxAt(T0));
    expect(store.nextWakeUpAt()).toBe(T0 + 5 * MINUTE);
    expect(store.tick(ctxAt(T0 + MINUTE))).toEqual([]);
    store.handle(pay(paid.reservationId, { resourceId: 'b' }), ctxAt(T0 + 2 * MINUTE));
    const fired = store.tick(ctxAt(T0 + HOUR));
    expect(fired.map((e) => [e.type, e.resourceId])).toEqual([['ReservationExpired', 'a']]);
    expect(store.nextWakeUpAt()).toBe(paid.end);
  });

  it('saves and loads every state', () => {
    const store = new ResourceStore();
    store.handle(upsert({ resourceId: 'a' }), ctxAt(T0));
    store.handle(request({ resourceId: 'a' }), ctxAt(T0));
    const copy = new ResourceStore();
    copy.load(JSON.parse(JSON.stringify(store.toJSON())));
    expect(copy.toJSON()).toEqual(store.toJSON());
    expect(copy.tick(ctxAt(T0 + HOUR)).map((e) => e.type)).toEqual(['ReservationExpired']);
  });
});
