/**
 * The API over a real socket against the real pipeline: Kafka, the registry, the decider and the
 * PostgreSQL read model (postgres sink), in a database and topics of the test's own.
 */

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../../api/config.ts';
import { runApiMigrations } from '../../../api/migrate.ts';
import { type RunningApi, startApi } from '../../../api/server.ts';
import { ApiKeyStore } from '../../../api/services/api-keys.ts';
import { createKafka } from '../../../common/kafka.ts';
import { ensureTopics, topicSpecs } from '../../../common/topics.ts';
import { createDecider } from '../../../processors/decider/create.ts';
import type { Decider } from '../../../processors/decider/decider.ts';
import { PostgresSink } from '../../../sinks/postgres/sink.ts';
import type { SinkWorker } from '../../../sinks/runtime/worker.ts';
import { testConfig, testLogger } from '../../helpers.ts';
import { callApi } from '../../support/api-client.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { startTestWorker } from '../../support/sinks.ts';

let db: TestDatabase;
let pool: pg.Pool;
let decider: Decider;
let worker: SinkWorker;
const apis: RunningApi[] = [];
const secrets = { admin: '', customer: '', producer: '' };

const apiConfig = loadApiConfig({
  API_PORT: '0',
  API_WAIT_POLL_INTERVAL_MS: '20',
  API_RATE_LIMIT_CUSTOMER: '100000',
});

const call = callApi;

const day = 24 * 3_600_000;
const base = Math.ceil(Date.now() / day) * day + 30 * day;
const at = (hours: number) => new Date(base + hours * 3_600_000).toISOString();

let config: ReturnType<typeof testConfig>;

beforeAll(async () => {
  db = await createTestDatabase('api');
  await runApiMigrations(db.url);
  config = testConfig({ DATABASE_URL: db.url });
  const admin = createKafka(config, testLogger).admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(config));
  await admin.disconnect();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const keys = new ApiKeyStore(pool, { cacheTtlMs: 0 });
  secrets.admin = (await keys.create({ role: 'admin', name: 'test admin' })).secret;
  secrets.customer = (await keys.create({ role: 'customer', name: 'ada', customerId: 'cust-ada' })).secret;
  secrets.producer = (await keys.create({ role: 'producer', name: 'feed' })).secret;
  decider = await createDecider(config, testLogger, { autoRegister: true, timerIntervalMs: 50 });
  await decider.start();
  worker = await startTestWorker(config, new PostgresSink({ url: db.url, logger: testLogger }));
  apis.push(await startApi({ config, apiConfig, logger: testLogger, autoRegister: true }));
});

afterAll(async () => {
  for (const api of apis) await api.close().catch(() => {});
  await worker?.stop().catch(() => {});
  await decider?.stop().catch(() => {});
  await pool?.end();
  await db?.drop();
});

describe('the API against the real pipeline', () => {
  it('is ready when Kafka, the registry and PostgreSQL answer', async () => {
    const api = apis[0] as RunningApi;
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { kafka: { ok: true }, registry: { ok: true }, postgres: { ok: true } },
    });
  });

  it('creates a resource, holds, refuses, cancels and reopens, waiting for each decision', async () => {
    const api = apis[0] as RunningApi;
    const created = await call(
      api,
      'POST',
      '/admin/resources',
      secrets.admin,
      { id: 'room-1', name: 'Room 1', capacity: 2, unitPrice: { amountMinor: 4500, currency: 'EUR' } },
      { prefer: 'wait=20' },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'room-1', capacity: 2, version: 1 });

    const booking = {
      resourceId: 'room-1',
      start: at(10),
      end: at(12),
      quantity: 2,
      customer: { fullName: 'Ada', email: 'ada@example.com' },
    };
    const held = await call(api, 'POST', '/reservations', secrets.customer, booking, { prefer: 'wait=20' });
    expect(held.status).toBe(201);
    expect(held.headers.get('preference-applied')).toBe('wait=20');
    expect(held.body).toMatchObject({
      status: 'Pending',
      customerId: 'cust-ada',
      quantity: 2,
      price: { amountMinor: 9000, currency: 'EUR' },
      start: at(10).replace('Z', '.000Z').replace('.000.000Z', '.000Z'),
    });
    const id = held.body.id as string;
    expect(held.headers.get('location')).toBe(`/reservations/${id}`);

    const full = await call(
      api,
      'POST',
      '/reservations',
      secrets.customer,
      { ...booking, quantity: 1 },
      { prefer: 'wait=20' },
    );
    expect(full.status).toBe(409);
    expect(full.body).toMatchObject({ code: 'RESERVATION_REJECTED', details: { reason: 'UNAVAILABLE' } });

    const availability = await call(
      api,
      'GET',
      `/resources/room-1/availability?from=${at(0)}&to=${at(24)}`,
      secrets.customer,
    );
    expect(availability.body.intervals).toEqual([
      { start: new Date(at(0)).toISOString(), end: new Date(at(10)).toISOString(), reserved: 0, free: 2 },
      { start: new Date(at(10)).toISOString(), end: new Date(at(12)).toISOString(), reserved: 2, free: 0 },
      { start: new Date(at(12)).toISOString(), end: new Date(at(24)).toISOString(), reserved: 0, free: 2 },
    ]);

    const cancelled = await call(
      api,
      'POST',
      `/reservations/${id}/cancel`,
      secrets.customer,
      { reason: 'plans' },
      { prefer: 'wait=20' },
    );
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'Cancelled',
      cancelReason: 'plans',
      links: { reopen: `/reservations/${id}/reopen` },
    });
    const again = await call(
      api,
      'POST',
      `/reservations/${id}/cancel`,
      secrets.customer,
      {},
      { prefer: 'wait=20' },
    );
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ details: { reason: 'ILLEGAL_TRANSITION' } });
    const reopened = await call(api, 'POST', `/reservations/${id}/reopen`, secrets.customer, undefined, {
      prefer: 'wait=20',
    });
    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ status: 'Pending' });

    const mine = await call(api, 'GET', '/reservations', secrets.customer);
    expect(mine.body.items.map((r: { id: string }) => r.id)).toEqual([id]);
    const customer = await call(api, 'GET', '/admin/customers/cust-ada', secrets.admin);
    expect(customer.body).toMatchObject({
      customer: { id: 'cust-ada', fullName: 'Ada' },
      reservations: { items: [{ id }] },
    });
  });

  it('answers 202 at once and lets the client long-poll the reservation', async () => {
    const api = apis[0] as RunningApi;
    await call(
      api,
      'PUT',
      '/admin/resources/room-2',
      secrets.admin,
      {
        name: 'Room 2',
        capacity: 5,
        unitPrice: { amountMinor: 100, currency: 'EUR' },
      },
      { prefer: 'wait=20' },
    );
    const accepted = await call(api, 'POST', '/reservations', secrets.producer, {
      resourceId: 'room-2',
      start: at(1),
      end: at(2),
      quantity: 1,
      customer: { id: 'cust-bulk', fullName: 'Bulk', email: 'bulk@example.com' },
    });
    expect(accepted.status).toBe(202);
    const polled = await call(api, 'GET', `${accepted.body.links.self}?wait=20`, secrets.producer);
    expect(polled.status).toBe(200);
    expect(polled.body).toMatchObject({
      id: accepted.body.reservationId,
      status: 'Pending',
      customerId: 'cust-bulk',
    });
    // A customer key does not see another customer's reservation.
    expect((await call(api, 'GET', accepted.body.links.self, secrets.customer)).status).toBe(404);
  });

  it('keeps Idempotency-Keys across API instances and restarts', async () => {
    const first = apis[0] as RunningApi;
    const second = await startApi({ config, apiConfig, logger: testLogger, migrate: false });
    apis.push(second);
    const body = {
      resourceId: 'room-3',
      start: at(1),
      end: at(2),
      quantity: 1,
      customer: { fullName: 'Ada', email: 'ada@example.com' },
    };
    const a = await call(first, 'POST', '/reservations', secrets.customer, body, {
      'idempotency-key': 'order-77',
    });
    const b = await call(second, 'POST', '/reservations', secrets.customer, body, {
      'idempotency-key': 'order-77',
    });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body).toEqual(a.body);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const c = await call(
      second,
      'POST',
      '/reservations',
      secrets.customer,
      { ...body, quantity: 2 },
      { 'idempotency-key': 'order-77' },
    );
    expect(c.status).toBe(422);
    expect(c.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM api_idempotency_keys');
    expect(rows[0].n).toBe(1);
  });

  it('decides 200 concurrent requests for capacity 10: exactly 10 held, 190 refused with the reason, none lost', async () => {
    const api = apis[0] as RunningApi;
    const resource = await call(
      api,
      'POST',
      '/admin/resources',
      secrets.admin,
      { id: 'hot-1', name: 'Hot', capacity: 10, unitPrice: { amountMinor: 1000, currency: 'EUR' } },
      { prefer: 'wait=20' },
    );
    expect(resource.status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        call(
          api,
          'POST',
          '/reservations',
          secrets.producer,
          {
            resourceId: 'hot-1',
            start: at(5),
            end: at(6),
            quantity: 1,
            customer: { id: `c-${i}`, fullName: `C ${i}`, email: `c${i}@example.com` },
          },
          { prefer: 'wait=30' },
        ),
      ),
    );
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 201: 10, 409: 190 });
    expect(
      answers.filter((a) => a.status === 409).every((a) => a.body.details.reason === 'UNAVAILABLE'),
    ).toBe(true);
    // All visible through the API: 10 Pending, and the refusals answer 409 with their reason on GET.
    const held = answers.filter((a) => a.status === 201).map((a) => a.body.id as string);
    for (const id of held) {
      expect((await call(api, 'GET', `/reservations/${id}`, secrets.producer)).body.status).toBe('Pending');
    }
    const refused = answers.find((a) => a.status === 409)?.body.details.reservationId as string;
    const refusedGet = await call(api, 'GET', `/reservations/${refused}`, secrets.producer);
    expect(refusedGet.status).toBe(409);
    expect(refusedGet.body.details.reason).toBe('UNAVAILABLE');
    const list = await call(api, 'GET', '/reservations?resourceId=hot-1&limit=200', secrets.admin);
    expect(list.body.items).toHaveLength(10);
  });

  it('closes gracefully: a request in flight is answered, new ones are refused', async () => {
    const api = await startApi({ config, apiConfig, logger: testLogger, migrate: false });
    const slow = call(api, 'GET', `/reservations/${crypto.randomUUID()}?wait=1`, secrets.admin);
    await new Promise((r) => setTimeout(r, 100));
    const closing = api.close();
    expect((await slow).status).toBe(202);
    await closing;
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
  });
});
