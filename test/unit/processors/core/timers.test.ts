import { describe, expect, it } from 'vitest';
import { dueTimer, nextDueAt } from '../../../../processors/core/timers.ts';
import { cancel, HOUR, idSource, MINUTE, only, pay, request, T0, withResource } from './fixtures.ts';

describe('timers', () => {
  it('nothing is due without live reservations', () => {
    const h = withResource();
    expect(nextDueAt(h.state)).toBeNull();
    expect(dueTimer(h.state, T0 + 100 * HOUR, idSource())).toBeUndefined();
  });

  it('a hold expires at holdExpiresAt, not a millisecond before', () => {
    const h = withResource();
    const cmd = request();
    h.run(cmd);
    expect(nextDueAt(h.state)).toBe(T0 + 15 * MINUTE);
    expect(dueTimer(h.state, T0 + 15 * MINUTE - 1, idSource())).toBeUndefined();
    const timer = dueTimer(h.state, T0 + 15 * MINUTE, idSource());
    expect(timer).toMatchObject({
      type: 'ExpireHold',
      reservationId: cmd.reservationId,
      version: 1,
      resourceId: 'room-1',
    });

    h.advance(15 * MINUTE);
    const expired = only(h.tick());
    expect(expired).toMatchObject({
      type: 'ReservationExpired',
      reservationVersion: 2,
      holdExpiresAt: T0 + 15 * MINUTE,
    });
    expect(expired.causationCommandId).not.toBe(cmd.commandId);
    expect(h.state.inactive.get(cmd.reservationId)?.status).toBe('Expired');
    expect(h.state.availability.peakLoad()).toBe(0);
    expect(nextDueAt(h.state)).toBeNull();
  });

  it('payment replaces the expiry with completion at the end of the period', () => {
    const h = withResource();
    const cmd = request();
    h.run(cmd);
    h.run(pay(cmd.reservationId));
    expect(nextDueAt(h.state)).toBe(cmd.end);
    h.advance(20 * MINUTE);
    expect(h.tick()).toEqual([]); // the stale expiry timer fires nothing
    h.advance(cmd.end - h.now);
    expect(only(h.tick())).toMatchObject({
      type: 'ReservationCompleted',
      reservationVersion: 3,
      end: cmd.end,
    });
    expect(h.state.inactive.get(cmd.reservationId)?.status).toBe('Completed');
  });

  it('a cancelled reservation has no timer left', () => {
    const h = withResource();
    const cmd = request();
    h.run(cmd);
    h.run(cancel(cmd.reservationId));
    expect(nextDueAt(h.state)).toBeNull();
  });

  it('fires every due timer in time order, simultaneous ones by reservation id', () => {
    const h = withResource({ capacity: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const cmd = request();
      ids.push(cmd.reservationId);
      h.run(cmd);
      if (i === 1) h.advance(MINUTE);
    }
    h.advance(HOUR);
    const fired = h.tick();
    expect(fired.map((e) => e.type)).toEqual(Array(4).fill('ReservationExpired'));
    expect(fired.map((e) => (e as { reservationId: string }).reservationId)).toEqual(ids);
  });

  it('a stale timer command decides nothing (decided late, after the reservation moved on)', () => {
    const h = withResource();
    const cmd = request();
    h.run(cmd);
    const timer = dueTimer(h.state, T0 + HOUR, idSource());
    h.run(pay(cmd.reservationId));
    expect(timer).toBeDefined();
    if (timer) expect(h.decide(timer)).toEqual([]);
  });
});
