import { describe, expect, it } from 'vitest';
import { type IdempotencyEntry, IdempotencyMemory } from '../../../../processors/core/idempotency.ts';

const entry = (n: number, over: Partial<IdempotencyEntry> = {}): IdempotencyEntry => ({
  commandId: `cmd-${n}`,
  principal: 'cust-1',
  idempotencyKey: null,
  decidedAt: 1_000 * n,
  outcome: 'ReservationHeld',
  ...over,
});

describe('IdempotencyMemory', () => {
  it('finds a command by id, or by key within the same principal only', () => {
    const m = new IdempotencyMemory(10, 1e9);
    m.remember(entry(1, { idempotencyKey: 'k' }));
    expect(m.find('cmd-1', 'someone', null)?.commandId).toBe('cmd-1');
    expect(m.find('cmd-2', 'cust-1', 'k')?.commandId).toBe('cmd-1');
    expect(m.find('cmd-2', 'cust-2', 'k')).toBeUndefined();
    expect(m.find('cmd-2', 'cust-1', null)).toBeUndefined();
  });

  it('keeps the first decision when the same command is remembered twice', () => {
    const m = new IdempotencyMemory(10, 1e9);
    m.remember(entry(1));
    m.remember(entry(1, { outcome: 'Other' }));
    expect(m.entries()).toEqual([entry(1)]);
  });

  it('keeps at most `capacity` entries, forgetting the oldest', () => {
    const m = new IdempotencyMemory(3, 1e9);
    for (let i = 1; i <= 5; i++) m.remember(entry(i, { idempotencyKey: `k${i}` }));
    expect(m.entries().map((e) => e.commandId)).toEqual(['cmd-3', 'cmd-4', 'cmd-5']);
    expect(m.find('x', 'cust-1', 'k1')).toBeUndefined();
    expect(m.find('x', 'cust-1', 'k3')?.commandId).toBe('cmd-3');
  });

  it('forgets entries older than the window before the newest (by decidedAt, so rebuilds agree)', () => {
    const m = new IdempotencyMemory(100, 2_500);
    for (let i = 1; i <= 5; i++) m.remember(entry(i));
    expect(m.entries().map((e) => e.commandId)).toEqual(['cmd-3', 'cmd-4', 'cmd-5']);
    expect(m.size).toBe(3);
  });
});
