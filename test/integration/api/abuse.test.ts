/**
 * Invented API keys over a real socket against PostgreSQL's api_keys table: a flood from one address is
 * answered 429 once its budget is spent, with the queries counted at the pool. Kafka is not involved, so
 * the rest of the app's dependencies are the unit tests' in-memory fakes.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app.ts';
import { runApiMigrations } from '../../../api/migrate.ts';
import { ApiKeyStore } from '../../../api/services/api-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { fakeDeps } from '../../unit/api/fakes.ts';

let db: TestDatabase;
let pool: pg.Pool;
let app: FastifyInstance;
let url: string;
let queries = 0;
let secret: string;

beforeAll(async () => {
  db = await createTestDatabase('apiabuse');
  await runApiMigrations(db.url);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  secret = (await new ApiKeyStore(pool, { cacheTtlMs: 0 }).create({ role: 'producer', name: 'feed' })).secret;
  // Counts what the store asks PostgreSQL, at the pool it is given.
  const counted = new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (...args: unknown[]) => {
          queries += 1;
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  const keys = new ApiKeyStore(counted, { cacheTtlMs: 30_000 });
  app = await buildApp(fakeDeps({ env: { API_RATE_LIMIT_PER_ADDRESS: '25' }, keys }).deps);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

const list = (key: string) => fetch(`${url}/reservations`, { headers: { authorization: `Bearer ${key}` } });

describe('invented keys over a socket', () => {
  it('answers 429 after the per-address budget, with one query per counted request, and still serves a verified key', async () => {
    expect((await list(secret)).status).toBe(200);
    expect(queries).toBe(1);
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const res = await list(`slot_${randomBytes(32).toString('base64url')}`);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(await res.json()).toMatchObject({ code: 'RATE_LIMITED', details: { scope: 'address' } });
      } else {
        await res.body?.cancel();
      }
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(25);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    expect(queries).toBe(26);
    // The valid key, verified before the flood, is still answered from memory from the same address.
    expect((await list(secret)).status).toBe(200);
    expect(queries).toBe(26);
  });
});
