/**
 * Hostile clients through app.inject(): floods of invented keys from one address, unknown keys repeated,
 * and CORS, which stays off unless configured.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app.ts';
import { ApiKeyStore } from '../../../api/services/api-keys.ts';
import { auth, FakeKeyPool, FakeKeys, fakeDeps, reservationBody, SECRETS } from './fakes.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A well-formed key nobody issued. */
const invented = () => `slot_${randomBytes(32).toString('base64url')}`;

const list = (a: FastifyInstance, secret: string, remoteAddress = '198.51.100.7') =>
  a.inject({ method: 'GET', url: '/reservations', headers: auth(secret), remoteAddress });

async function withStore(
  env: Record<string, string>,
  options: Partial<ConstructorParameters<typeof ApiKeyStore>[1]> = {},
) {
  const pool = new FakeKeyPool();
  const keys = new ApiKeyStore(pool.asPool(), { cacheTtlMs: 30_000, ...options });
  const f = fakeDeps({ env, keys });
  app = await buildApp(f.deps);
  return { ...f, app, pool };
}

describe('the per-address limit, before the key lookup', () => {
  it('answers 429 with Retry-After to a flood of invented keys from one address, looking up at most the limit', async () => {
    const { app, pool } = await withStore({ API_RATE_LIMIT_PER_ADDRESS: '20' });
    expect((await list(app, SECRETS.customer)).statusCode).toBe(200);
    expect(pool.queries).toBe(1);
    const codes: number[] = [];
    for (let i = 0; i < 100; i++) codes.push((await list(app, invented())).statusCode);
    expect(codes.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(codes.slice(20)).toEqual(Array(80).fill(429));
    expect(pool.queries).toBe(21);

    const limited = await list(app, invented());
    expect(limited.json()).toMatchObject({
      code: 'RATE_LIMITED',
      error: expect.stringMatching(/without a valid API key from this address/),
      details: { limit: 20, scope: 'address' },
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Missing and malformed keys spend the same budget.
    const none = await app.inject({ method: 'GET', url: '/reservations', remoteAddress: '198.51.100.7' });
    expect(none.statusCode).toBe(429);
    // Another address has its own budget; public routes have none.
    expect((await list(app, invented(), '203.0.113.9')).statusCode).toBe(401);
    expect((await app.inject({ url: '/healthz', remoteAddress: '198.51.100.7' })).statusCode).toBe(200);
    expect(pool.queries).toBe(22);
    // A key verified recently still works from the flooded address, from memory; one not yet verified
    // waits for the address's window like any other.
    expect((await list(app, SECRETS.customer)).statusCode).toBe(200);
    expect((await list(app, SECRETS.producer)).statusCode).toBe(429);
    expect(pool.queries).toBe(22);
  });

  it('does not charge requests whose key is valid', async () => {
    const keys = new FakeKeys();
    const f = fakeDeps({ env: { API_RATE_LIMIT_PER_ADDRESS: '3' }, keys });
    app = await buildApp(f.deps);
    for (let i = 0; i < 10; i++) expect((await list(app, SECRETS.customer)).statusCode).toBe(200);
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await list(app, invented())).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    expect(keys.lookups).toBe(13);
  });

  it('keeps the per-key limit by role after authentication', async () => {
    const { app } = await withStore({ API_RATE_LIMIT_CUSTOMER: '2', API_RATE_LIMIT_PER_ADDRESS: '2' });
    const post = () =>
      app.inject({
        method: 'POST',
        url: '/reservations',
        headers: auth(SECRETS.customer),
        payload: reservationBody(),
      });
    expect([(await post()).statusCode, (await post()).statusCode]).toEqual([202, 202]);
    const limited = await post();
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 2, scope: 'key' } });
  });
});

describe('the key cache', () => {
  it('looks an unknown key up once while it is remembered as unknown', async () => {
    const { app, pool } = await withStore({});
    const secret = invented();
    for (let i = 0; i < 10; i++) expect((await list(app, secret)).statusCode).toBe(401);
    expect(pool.queries).toBe(1);
  });

  it('keeps valid keys cached under a flood of unknown ones, from many addresses', async () => {
    const { app, pool } = await withStore({}, { maxCached: 4, maxNegativeCached: 50 });
    for (const secret of [SECRETS.customer, SECRETS.producer]) {
      expect((await list(app, secret)).statusCode).toBe(200);
    }
    expect(pool.queries).toBe(2);
    for (let i = 0; i < 300; i++) {
      expect((await list(app, invented(), `10.0.${i >> 8}.${i & 255}`)).statusCode).toBe(401);
    }
    expect(pool.queries).toBe(302);
    for (const secret of [SECRETS.customer, SECRETS.producer]) {
      expect((await list(app, secret)).statusCode).toBe(200);
    }
    expect(pool.queries).toBe(302);
  });

  it('evicts the least recently used valid key when full', async () => {
    const pool = new FakeKeyPool();
    const store = new ApiKeyStore(pool.asPool(), { cacheTtlMs: 30_000, maxCached: 2 });
    await store.verify(SECRETS.customer);
    await store.verify(SECRETS.producer);
    await store.verify(SECRETS.customer); // producer is now the least recently used
    await store.verify(SECRETS.admin); // evicts producer
    expect(pool.queries).toBe(3);
    expect((await store.verify(SECRETS.customer))?.keyId).toBe('k-customer');
    expect(pool.queries).toBe(3);
    expect((await store.verify(SECRETS.producer))?.keyId).toBe('k-producer');
    expect(pool.queries).toBe(4);
  });

  it('asks again once the answers expire, and shares one query between concurrent lookups', async () => {
    let now = 0;
    const pool = new FakeKeyPool();
    const store = new ApiKeyStore(pool.asPool(), {
      cacheTtlMs: 30_000,
      negativeCacheTtlMs: 5_000,
      clock: () => now,
    });
    const secret = invented();
    await Promise.all([store.verify(secret), store.verify(secret), store.verify(SECRETS.admin)]);
    expect(pool.queries).toBe(2);
    now = 5_000;
    expect(await store.verify(secret)).toBeUndefined();
    await store.verify(SECRETS.admin);
    expect(pool.queries).toBe(3);
    now = 30_000;
    await store.verify(SECRETS.admin);
    expect(pool.queries).toBe(4);
  });
});

describe('CORS', () => {
  const preflight = (a: FastifyInstance) =>
    a.inject({
      method: 'OPTIONS',
      url: '/reservations',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
  const get = (a: FastifyInstance) =>
    a.inject({
      method: 'GET',
      url: '/reservations',
      headers: { ...auth(SECRETS.customer), origin: 'http://localhost:5173' },
    });

  it('sends no CORS headers unless origins are configured', async () => {
    app = await buildApp(fakeDeps().deps);
    const pre = await preflight(app);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    expect(pre.headers['access-control-allow-methods']).toBeUndefined();
    const res = await get(app);
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('allows the configured origins', async () => {
    app = await buildApp(fakeDeps({ env: { API_CORS_ORIGINS: 'http://localhost:5173' } }).deps);
    const pre = await preflight(app);
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect((await get(app)).headers['access-control-allow-origin']).toBe('http://localhost:5173');
  });
});
