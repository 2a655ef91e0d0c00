import { describe, expect, it } from 'vitest';
import { decideAndApply, fireDueTimers, step } from '../../../../processors/core/step.ts';
import { ctxAt, MINUTE, pay, request, T0, withResource } from './fixtures.ts';

describe('step', () => {
  it('decideAndApply applies what it decides', () => {
    const h = withResource();
    const cmd = request();
    decideAndApply(h.state, cmd, ctxAt(T0));
    expect(h.state.live.has(cmd.reservationId)).toBe(true);
  });

  it('fires due timers before the command, so a late payment meets an expired hold', () => {
    const h = withResource();
    const cmd = request();
    h.run(cmd);
    const events = step(h.state, pay(cmd.reservationId), ctxAt(T0 + 15 * MINUTE));
    expect(events.map((e) => e.type)).toEqual(['ReservationExpired', 'ReservationRejected']);
    expect(fireDueTimers(h.state, ctxAt(T0 + 15 * MINUTE))).toEqual([]);
  });
});
