/**
 * End to end over real sockets through every part: the API (HTTP), Kafka, the decider, and every sink —
 * payment (stripe-mock), notification (SMTP into Mailpit), the PostgreSQL read model and ClickHouse — each
 * with topics, consumer groups and databases of the test's own. A customer reserves, the payment sink
 * charges and reports back, the customer gets the confirmation e-mail, sees Confirmed through the API, and
 * the reservation is counted in the revenue report.
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
import { ClickHouseSink } from '../../../sinks/clickhouse/sink.ts';
import { createNotificationSink } from '../../../sinks/notification/sink.ts';
import { createPaymentSink } from '../../../sinks/payment/sink.ts';
import { PostgresSink } from '../../../sinks/postgres/sink.ts';
import type { SinkWorker } from '../../../sinks/runtime/worker.ts';
import { eventually, testConfig, testLogger, uniqueName } from '../../helpers.ts';
import { callApi } from '../../support/api-client.ts';
import { createTestClickHouse, type TestClickHouse } from '../../support/clickhouse.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { startTestWorker } from '../../support/sinks.ts';

let db: TestDatabase;
let ch: TestClickHouse;
let decider: Decider;
const workers: SinkWorker[] = [];
let api: RunningApi;
let mailpitUrl = '';
const email = `${uniqueName('grace')}@example.test`;
const secrets = { admin: '', customer: '' };

const call = (
  method: string,
  path: string,
  secret: string,
  body?: unknown,
  headers?: Record<string, string>,
) => callApi(api, method, path, secret, body, headers);

beforeAll(async () => {
  db = await createTestDatabase('apie2e');
  await runApiMigrations(db.url);
  ch = await createTestClickHouse('apie2e');
  const config = testConfig({ DATABASE_URL: db.url, CLICKHOUSE_DATABASE: ch.database });
  mailpitUrl = config.mailpit.url;
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
  workers.push(await startTestWorker(config, createPaymentSink(config, testLogger, { autoRegister: true })));
  workers.push(await startTestWorker(config, createNotificationSink(config, testLogger)));
  api = await startApi({
    config,
    apiConfig: loadApiConfig({ API_PORT: '0', API_WAIT_POLL_INTERVAL_MS: '20' }),
    logger: testLogger,
    autoRegister: true,
  });
});

afterAll(async () => {
  await api?.close().catch(() => {});
  for (const w of workers) await w.stop().catch(() => {});
  await decider?.stop().catch(() => {});
  await db?.drop();
  await ch?.drop();
});

describe('a reservation end to end', () => {
  it('is held, paid, mailed, seen Confirmed through the API and counted in the revenue report', async () => {
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
        customer: { fullName: 'Grace Hopper', email },
      },
      { prefer: 'wait=20', 'idempotency-key': 'trip-1' },
    );
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ status: 'Pending', price: { amountMinor: 12_000, currency: 'EUR' } });
    const id = held.body.id as string;

    // The payment sink charges the hold at the gateway and reports the result; the decider confirms.
    const confirmed = await eventually(
      async () => {
        const r = await call('GET', `/reservations/${id}`, secrets.customer);
        return r.body.status === 'Confirmed' ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'the reservation to be Confirmed through the API' },
    );
    expect(confirmed.body).toMatchObject({
      paymentReference: expect.stringMatching(/^pi_/),
      links: { cancel: `/reservations/${id}/cancel` },
    });

    const mails = await eventually(
      async () => {
        const res = await fetch(`${mailpitUrl}/api/v1/search?query=${encodeURIComponent(`to:"${email}"`)}`);
        const found = ((await res.json()) as { messages: { Subject: string }[] }).messages;
        return found.some((m) => m.Subject.startsWith('Reservation confirmed')) ? found : undefined;
      },
      { timeoutMs: 60_000, what: 'the confirmation e-mail in Mailpit' },
    );
    expect(mails.map((m) => m.Subject)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Reservation confirmed: Suite 7/)]),
    );

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
