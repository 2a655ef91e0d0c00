/**
 * Over real sockets through the parts that exist today: the API, Kafka, the decider, the PostgreSQL read
 * model and the ClickHouse reports (both sinks running). The payment gateway's answer is written with the
 * producer library, as the payment sink will write it; when the payment and notification sinks land, the
 * end-to-end test with the e-mail belongs beside this one.
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
import { CommandBuilder } from '../../../producers/commands.ts';
import { CommandProducer } from '../../../producers/producer.ts';
import { ClickHouseSink } from '../../../sinks/clickhouse/sink.ts';
import { PostgresSink } from '../../../sinks/postgres/sink.ts';
import type { SinkWorker } from '../../../sinks/runtime/worker.ts';
import { eventually, testConfig, testLogger } from '../../helpers.ts';
import { createTestClickHouse, type TestClickHouse } from '../../support/clickhouse.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { startTestWorker } from '../../support/sinks.ts';

let db: TestDatabase;
let ch: TestClickHouse;
let decider: Decider;
const workers: SinkWorker[] = [];
let api: RunningApi;
let gateway: CommandProducer;
const secrets = { admin: '', customer: '' };

async function call(
  method: string,
  path: string,
  secret: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  db = await createTestDatabase('apie2e');
  await runApiMigrations(db.url);
  ch = await createTestClickHouse('apie2e');
  const config = testConfig({ DATABASE_URL: db.url, CLICKHOUSE_DATABASE: ch.database });
  const admin = createKafka(config, testLogger).admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(config));
  await admin.disconnect();
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  const keys = new ApiKeyStore(pool, { cacheTtlMs: 0 });
  secrets.admin = (await keys.create({ role: 'admin', name: 'admin' })).secret;
  secrets.customer = (
    await keys.create({ role: 'customer', name: 'grace', customerId: 'cust-grace' })
  ).secret;
  await pool.end();
  decider = await createDecider(config, testLogger, { autoRegister: true, timerIntervalMs: 50 });
  await decider.start();
  workers.push(await startTestWorker(config, new PostgresSink({ url: db.url, logger: testLogger })));
  workers.push(
    await startTestWorker(
      config,
      new ClickHouseSink({ url: ch.url, database: ch.database, logger: testLogger }),
      {
        maxBatchEvents: 100,
      },
    ),
  );
  api = await startApi({
    config,
    apiConfig: loadApiConfig({ API_PORT: '0', API_WAIT_POLL_INTERVAL_MS: '20' }),
    logger: testLogger,
    autoRegister: true,
  });
  gateway = CommandProducer.fromConfig(config, testLogger, {
    source: '/slotstream/payment',
    autoRegister: true,
  });
  await gateway.connect();
});

afterAll(async () => {
  await api?.close().catch(() => {});
  await gateway?.disconnect().catch(() => {});
  for (const w of workers) await w.stop().catch(() => {});
  await decider?.stop().catch(() => {});
  await db?.drop();
  await ch?.drop();
});

describe('a reservation through the API, the decider, the read model and the reports', () => {
  it('is held, paid, seen Confirmed through the API and counted in the revenue report', async () => {
    const day = 86_400_000;
    const start = Math.ceil(Date.now() / day) * day + 10 * day;
    const resource = await call(
      'POST',
      '/admin/resources',
      secrets.admin,
      { id: 'suite-7', name: 'Suite 7', capacity: 1, unitPrice: { amountMinor: 12_000, currency: 'EUR' } },
      { prefer: 'wait=20' },
    );
    expect(resource.status).toBe(201);

    const held = await call(
      'POST',
      '/reservations',
      secrets.customer,
      {
        resourceId: 'suite-7',
        start: new Date(start).toISOString(),
        end: new Date(start + 2 * day).toISOString(),
        quantity: 1,
        customer: { fullName: 'Grace Hopper', email: 'grace@example.com' },
      },
      { prefer: 'wait=20', 'idempotency-key': 'trip-1' },
    );
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ status: 'Pending', price: { amountMinor: 12_000, currency: 'EUR' } });
    const id = held.body.id as string;

    // What the payment sink does once the gateway captured the payment.
    await gateway.send(
      new CommandBuilder().recordPaymentResult({
        resourceId: 'suite-7',
        reservationId: id,
        customerId: 'cust-grace',
        outcome: 'SUCCEEDED',
        paymentReference: 'pi_test_1',
        amount: { amountMinor: 12_000, currency: 'EUR' },
      }),
    );
    const confirmed = await eventually(
      async () => {
        const r = await call('GET', `/reservations/${id}`, secrets.customer);
        return r.body.status === 'Confirmed' ? r : undefined;
      },
      { what: 'the reservation to be Confirmed through the API' },
    );
    expect(confirmed.body).toMatchObject({
      paymentReference: 'pi_test_1',
      links: { cancel: `/reservations/${id}/cancel` },
    });

    const today = new Date(Math.floor(Date.now() / day) * day).toISOString().slice(0, 10);
    const tomorrow = new Date(Math.floor(Date.now() / day) * day + day).toISOString().slice(0, 10);
    const revenue = await eventually(
      async () => {
        const r = await call(
          'GET',
          `/admin/reports/revenue?from=${today}&to=${tomorrow}&resourceId=suite-7`,
          secrets.admin,
        );
        return (r.body.rows as unknown[]).length > 0 ? r : undefined;
      },
      { what: 'the revenue report to count the reservation' },
    );
    expect(revenue.body.rows).toEqual([
      { resource_id: 'suite-7', currency: 'EUR', reservations: 1, revenue_minor: 12_000 },
    ]);
  });
});
