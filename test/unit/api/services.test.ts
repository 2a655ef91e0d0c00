import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../../api/config.ts';
import { canonicalJson } from '../../../api/plugins/idempotency.ts';
import { AddressLimiter } from '../../../api/services/address-limiter.ts';
import { generateSecret, hashSecret, SECRET_PATTERN } from '../../../api/services/api-keys.ts';
import { Lru } from '../../../api/services/lru.ts';
import {
  decodeCursor,
  encodeCursor,
  freeIntervals,
  InvalidCursorError,
} from '../../../api/services/read-model.ts';
import { BatchWaiter, preferredWait } from '../../../api/services/waiter.ts';
import { ConfigError } from '../../../common/config.ts';

describe('freeIntervals', () => {
  it('sweeps overlapping reservations into intervals of constant load, clipped to the range', () => {
    const out = freeIntervals(10, 0, 100, [
      { start: -50, end: 20, quantity: 2 },
      { start: 10, end: 30, quantity: 3 },
      { start: 30, end: 40, quantity: 5 },
      { start: 90, end: 200, quantity: 10 },
    ]);
    expect(out).toEqual([
      { start: 0, end: 10, reserved: 2, free: 8 },
      { start: 10, end: 20, reserved: 5, free: 5 },
      { start: 20, end: 30, reserved: 3, free: 7 },
      { start: 30, end: 40, reserved: 5, free: 5 },
      { start: 40, end: 90, reserved: 0, free: 10 },
      { start: 90, end: 100, reserved: 10, free: 0 },
    ]);
  });

  it('answers one free interval when nothing overlaps, and never a negative free count', () => {
    expect(freeIntervals(3, 0, 10, [])).toEqual([{ start: 0, end: 10, reserved: 0, free: 3 }]);
    expect(freeIntervals(1, 0, 10, [{ start: 0, end: 10, quantity: 2 }])).toEqual([
      { start: 0, end: 10, reserved: 2, free: 0 },
    ]);
  });
});

describe('cursors', () => {
  it('round-trips and refuses what we did not issue', () => {
    expect(decodeCursor(encodeCursor(['a', 'b']), 2)).toEqual(['a', 'b']);
    expect(decodeCursor(undefined, 1)).toBeUndefined();
    expect(() => decodeCursor('garbage', 1)).toThrow(InvalidCursorError);
    expect(() => decodeCursor(encodeCursor(['a']), 2)).toThrow(InvalidCursorError);
  });
});

describe('preferredWait', () => {
  it('reads wait=N among other preferences', () => {
    expect(preferredWait('wait=5')).toBe(5);
    expect(preferredWait('respond-async, wait=10')).toBe(10);
    expect(preferredWait(['return=minimal', 'wait="3"'])).toBe(3);
    expect(preferredWait('return=minimal')).toBeUndefined();
    expect(preferredWait('wait=-1')).toBeUndefined();
    expect(preferredWait(undefined)).toBeUndefined();
  });
});

describe('canonicalJson', () => {
  it('ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }], c: undefined })).toBe('{"a":[{"x":1,"y":2}],"b":1}');
  });
});

describe('API keys', () => {
  it('generates 256-bit secrets of a recognisable form and stores only their digest', () => {
    const secret = generateSecret();
    expect(secret).toMatch(SECRET_PATTERN);
    expect(generateSecret()).not.toBe(secret);
    expect(hashSecret(secret)).toHaveLength(32);
    expect(hashSecret(secret).toString('hex')).not.toContain(secret);
  });
});

describe('loadApiConfig', () => {
  it('has loopback defaults and fails naming the key', () => {
    const config = loadApiConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 3000, maxWaitSeconds: 30 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => loadApiConfig({ API_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadApiConfig({ API_PORT: 'eighty' })).toThrow(/API_PORT/);
    expect(() => loadApiConfig({ API_CORS_ORIGINS: 'localhost' })).toThrow(/API_CORS_ORIGINS/);
    expect(loadApiConfig({ API_CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
  });

  it('limits producers to 120,000 a minute, addresses without a valid key to 600, and has no CORS', () => {
    const config = loadApiConfig({});
    expect(config.rateLimitPerMinute).toEqual({ customer: 600, producer: 120_000, admin: 6_000 });
    expect(config.rateLimitPerAddressPerMinute).toBe(600);
    expect(config.corsOrigins).toEqual([]);
    expect(loadApiConfig({ API_RATE_LIMIT_PER_ADDRESS: '5' }).rateLimitPerAddressPerMinute).toBe(5);
    expect(() => loadApiConfig({ API_RATE_LIMIT_PER_ADDRESS: '0' })).toThrow(/API_RATE_LIMIT_PER_ADDRESS/);
  });
});

describe('Lru', () => {
  it('evicts the least recently used entry, a read counting as a use', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect([lru.has('a'), lru.has('b'), lru.has('c'), lru.size]).toEqual([true, false, true, 2]);
    lru.set('a', 4); // an update is a use, not a new entry
    lru.set('d', 5);
    expect([lru.get('a'), lru.has('c'), lru.size]).toEqual([4, false, 2]);
    expect(() => new Lru(0)).toThrow(RangeError);
  });
});

describe('AddressLimiter', () => {
  it('refuses an address that spent its budget until its window ends, and takes refunds', () => {
    let now = 1_000;
    const limiter = new AddressLimiter({ max: 2, windowMs: 60_000, clock: () => now });
    expect(limiter.charge('a')).toEqual({ allowed: true });
    expect(limiter.charge('a')).toEqual({ allowed: true });
    limiter.refund('a');
    expect(limiter.charge('a')).toEqual({ allowed: true });
    now += 15_000;
    expect(limiter.charge('a')).toEqual({ allowed: false, retryAfterSeconds: 45 });
    expect(limiter.charge('b')).toEqual({ allowed: true });
    now += 45_000;
    expect(limiter.charge('a')).toEqual({ allowed: true });
  });

  it('remembers a bounded number of addresses', () => {
    const limiter = new AddressLimiter({ max: 1, maxAddresses: 2 });
    limiter.charge('a');
    limiter.charge('b');
    limiter.charge('c'); // forgets a
    expect(limiter.charge('a')).toEqual({ allowed: true });
    expect(limiter.charge('c')).toMatchObject({ allowed: false });
  });
});

describe('BatchWaiter', () => {
  it('polls all waited-for keys in one fetch per tick and resolves each when its condition holds', async () => {
    const values = new Map<string, number>();
    const fetches: string[][] = [];
    const waiter = new BatchWaiter<number>(async (keys) => {
      fetches.push([...keys]);
      return new Map(keys.filter((k) => values.has(k)).map((k) => [k, values.get(k) as number]));
    }, 10);
    const a = waiter.wait('a', (v) => v >= 2, 2_000);
    const b = waiter.wait('b', () => true, 2_000);
    const c = waiter.wait('c', () => true, 60);
    await new Promise((r) => setTimeout(r, 5));
    values.set('a', 1);
    values.set('b', 7);
    await expect(b).resolves.toEqual({ value: 7, satisfied: true });
    values.set('a', 2);
    await expect(a).resolves.toEqual({ value: 2, satisfied: true });
    await expect(c).resolves.toEqual({ value: undefined, satisfied: false });
    // After the first look of each waiter, ticks fetch every key at once.
    expect(fetches.some((keys) => keys.length === 3)).toBe(true);
    expect(waiter.size).toBe(0);
  });

  it('ends a wait when its request goes away, and every wait on close', async () => {
    const waiter = new BatchWaiter<number>(async () => new Map(), 10);
    const controller = new AbortController();
    const aborted = waiter.wait('x', () => true, 10_000, controller.signal);
    const closed = waiter.wait('y', () => true, 10_000);
    await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await expect(aborted).resolves.toEqual({ value: undefined, satisfied: false });
    waiter.close();
    await expect(closed).resolves.toEqual({ value: undefined, satisfied: false });
  });
});
