/**
 * The PostgreSQL read-model sink against the real broker, registry and PostgreSQL: every test has its own
 * topics (prefix), consumer group and database.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PgReadModel } from '../../../api/services/read-model.ts';
import type { Config } from '../../../common/config.ts';
import { DLQ_HEADERS } from '../../../common/dead-letter.ts';
import type { ResourceUpserted } from '../../../schemas/generated/types.ts';
import { replayDeadLetters } from '../../../sinks/dlq-replay.ts';
import { PostgresSink } from '../../../sinks/postgres/sink.ts';
import { testConfig, testLogger } from '../../helpers.ts';
import { type GeneratedStream, generateStream, shuffled } from '../../support/events.ts';
import { createTestTopics, deleteTestTopics, EventWriter, header, readTopic } from '../../support/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { reservationStory } from '../../support/reservation-events.ts';
import { caughtUp, startTestWorker } from '../../support/sinks.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

interface ReservationDbRow {
  id: string;
  resource_id: string;
  customer_id: string;
  status: string;
  version: number;
  start_at: Date;
  end_at: Date;
  quantity: number;
  price_minor: string;
  currency: string;
}

const SNAPSHOT = {
  reservations: 'SELECT * FROM reservations ORDER BY id',
  resources: 'SELECT * FROM resources ORDER BY id',
  customers: 'SELECT * FROM customers ORDER BY id',
  decisions: 'SELECT * FROM decisions ORDER BY event_id',
};

async function snapshot(db: TestDatabase) {
  const out: Record<string, unknown[]> = {};
  for (const [table, sql] of Object.entries(SNAPSHOT)) out[table] = await db.query(sql);
  return out;
}

function expectRowsMatch(rows: ReservationDbRow[], stream: GeneratedStream) {
  expect(rows).toHaveLength(stream.reservations.size);
  for (const row of rows) {
    const want = stream.reservations.get(row.id);
    expect(want, `unexpected reservation ${row.id}`).toBeDefined();
    if (!want) continue;
    expect({
      resource: row.resource_id,
      customer: row.customer_id,
      status: row.status,
      version: row.version,
      start: row.start_at.getTime(),
      end: row.end_at.getTime(),
      quantity: row.quantity,
      price: Number(row.price_minor),
      currency: row.currency,
    }).toEqual({
      resource: want.resourceId,
      customer: want.customerId,
      status: want.status,
      version: want.version,
      start: want.start,
      end: want.end,
      quantity: want.quantity,
      price: want.priceMinor,
      currency: want.currency,
    });
  }
}

/** Topics of the test's own, a writer, and cleanups run after the file. */
const cleanups: (() => Promise<unknown>)[] = [];
async function topics(): Promise<{ config: Config; kafka: Kafka; writer: EventWriter }> {
  const config = testConfig({ TOPIC_PARTITIONS: '3' });
  const kafka = await createTestTopics(config);
  const writer = new EventWriter(kafka, config);
  cleanups.push(async () => {
    await writer.close();
    await deleteTestTopics(kafka, config);
  });
  return { config, kafka, writer };
}

async function counterTotal(counter: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe('postgres sink', () => {
  it('projects a stream into the expected rows; duplicates, reordering and a full replay change nothing', async () => {
    const { config, writer } = await topics();
    const stream = generateStream({ resources: 6, reservations: 400, customers: 30, seed: 1 });
    const db = await createTestDatabase('pgsink');
    cleanups.push(() => db.drop());
    await writer.write(stream.events, 500);
    const sink = new PostgresSink({ url: db.url, logger: testLogger });
    const worker = await startTestWorker(config, sink);
    cleanups.push(() => worker.stop());
    await caughtUp(worker);

    expectRowsMatch(await db.query<ReservationDbRow>(SNAPSHOT.reservations), stream);
    const resources = await db.query<{ id: string; name: string; capacity: number; version: number }>(
      SNAPSHOT.resources,
    );
    expect(resources.map((r) => r.id).sort()).toEqual(stream.resources.map((r) => r.resourceId).sort());
    const customers = await db.query<{ id: string; email: string }>(SNAPSHOT.customers);
    const holders = new Set([...stream.reservations.values()].map((r) => r.customerId));
    expect(customers.map((c) => c.id).sort()).toEqual([...holders].sort());
    const [decisions] = await db.query<{ total: string; rejected: string }>(
      'SELECT count(*) AS total, count(*) FILTER (WHERE rejected) AS rejected FROM decisions',
    );
    expect(Number(decisions?.total)).toBe(stream.events.length);
    expect(Number(decisions?.rejected)).toBe([...stream.rejections.values()].reduce((a, b) => a + b, 0));
    const before = await snapshot(db);

    // The same events again, shuffled across partitions and within them: nothing moves.
    await writer.write(shuffled(stream.events, 11), 300);
    await caughtUp(worker);
    expect(await snapshot(db)).toEqual(before);
    expect(sink.lastResult).toEqual({ resources: 0, customers: 0, reservations: 0, decisions: 0 });

    // A new group reading the whole topic into an empty database builds the same rows.
    const fresh = await createTestDatabase('pgsink-replay');
    cleanups.push(() => fresh.drop());
    const replay = await startTestWorker(config, new PostgresSink({ url: fresh.url, logger: testLogger }), {
      groupId: `${config.kafka.topicPrefix}replay`,
    });
    cleanups.push(() => replay.stop());
    await caughtUp(replay);
    expect(await snapshot(fresh)).toEqual(before);
    await replay.stop();
    await worker.stop();
    expect(worker.state).toBe('stopped');

    // Only the shuffled copy, into an empty database: the same rows again.
    const second = await topics();
    await second.writer.write(shuffled(stream.events, 23), 250);
    const reordered = await createTestDatabase('pgsink-reordered');
    cleanups.push(() => reordered.drop());
    const third = await startTestWorker(
      second.config,
      new PostgresSink({ url: reordered.url, logger: testLogger }),
    );
    cleanups.push(() => third.stop());
    await caughtUp(third);
    expect(await snapshot(reordered)).toEqual(before);
    await third.stop();
  });

  it('rides out PostgreSQL going away while events flow: retries, catches up, loses and duplicates nothing', async () => {
    const { config, writer } = await topics();
    const stream = generateStream({ resources: 6, reservations: 600, customers: 40, seed: 2 });
    const db = await createTestDatabase('pgsink-fault');
    cleanups.push(() => db.drop());
    // The shared PostgreSQL also serves the registry and other suites: cut the sink's link, not the server.
    const target = new URL(db.url);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.up();
    cleanups.push(() => proxy.close());
    const sink = new PostgresSink({
      url: db.via('127.0.0.1', proxy.port),
      logger: testLogger,
      connectTimeoutMs: 500,
    });
    const worker = await startTestWorker(config, sink);
    cleanups.push(() => worker.stop());

    const chunks = 6;
    const size = Math.ceil(stream.events.length / chunks);
    for (let i = 0; i < chunks; i++) {
      await writer.write(stream.events.slice(i * size, (i + 1) * size), 200);
      if (i === 1) {
        await new Promise((r) => setTimeout(r, 300));
        await proxy.down();
      }
      if (i === 4) {
        await new Promise((r) => setTimeout(r, 2_000));
        expect(await counterTotal(worker.metrics.retries)).toBeGreaterThan(0);
        expect([...(await worker.lag()).values()].some((v) => v > 0)).toBe(true);
        await proxy.up();
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await caughtUp(worker);
    expectRowsMatch(await db.query<ReservationDbRow>(SNAPSHOT.reservations), stream);
    const [decisions] = await db.query<{ total: string }>('SELECT count(*) AS total FROM decisions');
    expect(Number(decisions?.total)).toBe(stream.events.length);
    expect(await counterTotal(worker.metrics.deadLetters)).toBe(0);
    expect(proxy.accepted).toBeGreaterThan(1);
    await worker.stop();
  });

  it('dead-letters a poison event with the reason, keeps the partition moving, and dlq:replay brings it back', async () => {
    const { config, kafka, writer } = await topics();
    const stream = generateStream({ resources: 1, reservations: 40, seed: 3, rejectionRate: 0 });
    const db = await createTestDatabase('pgsink-poison');
    cleanups.push(() => db.drop());
    // A read model that refuses a legal event (say, a bad constraint shipped in a migration).
    await db.query('ALTER TABLE reservations ADD CONSTRAINT test_small_quantities CHECK (quantity < 100)');
    const resource = stream.resources[0];
    if (!resource) throw new Error('no resource');
    const poison = {
      ...generateStream({ resources: 1, reservations: 1, seed: 4, rejectionRate: 0 }).events.find(
        (e) => e.type === 'ReservationHeld',
      ),
    } as Extract<(typeof stream.events)[number], { type: 'ReservationHeld' }>;
    const big = { ...poison, resourceId: resource.resourceId, quantity: 500 };
    const half = Math.floor(stream.events.length / 2);
    const encoded = await writer.encode([...stream.events.slice(0, half), big, ...stream.events.slice(half)]);
    // And bytes that are not a record at all, with valid headers, on the same partition.
    const garbage = {
      ...encoded[half + 1],
      key: resource.resourceId,
      value: Buffer.from('definitely not avro'),
    } as (typeof encoded)[number];
    await writer.writeRaw([...encoded.slice(0, half + 1), garbage, ...encoded.slice(half + 1)], 1_000);

    const sink = new PostgresSink({ url: db.url, logger: testLogger });
    const worker = await startTestWorker(config, sink);
    cleanups.push(() => worker.stop());
    await caughtUp(worker);

    // Everything but the two bad records is applied, including what came after them on the partition.
    expectRowsMatch(await db.query<ReservationDbRow>(SNAPSHOT.reservations), stream);
    const letters = await readTopic(kafka, worker.deadLetterTopic);
    expect(letters).toHaveLength(2);
    const byCode = new Map(letters.map((m) => [header(m.headers, DLQ_HEADERS.errorCode), m]));
    const refused = byCode.get('SINK_REJECTED');
    const undecodable = byCode.get('MALFORMED_MESSAGE');
    expect(refused && undecodable).toBeTruthy();
    if (!refused || !undecodable) return;
    const events = await readTopic(kafka, worker.topic);
    const original = events.find((m) => header(m.headers, 'ce_id') === big.eventId);
    expect(refused.value?.equals(original?.value ?? Buffer.alloc(0))).toBe(true);
    expect(refused.key?.toString()).toBe(resource.resourceId);
    expect(header(refused.headers, DLQ_HEADERS.reason)).toContain('23514');
    expect(header(refused.headers, DLQ_HEADERS.errorClass)).toBe('SinkRejectedError');
    expect(header(refused.headers, DLQ_HEADERS.originalTopic)).toBe(worker.topic);
    expect(header(refused.headers, DLQ_HEADERS.originalOffset)).toBe(original?.offset);
    expect(header(refused.headers, DLQ_HEADERS.attempts)).toBe('1');
    expect(header(refused.headers, 'dlq_sink')).toBe('postgres');
    expect(header(refused.headers, 'ce_type')).toBe('slotstream.events.ReservationHeld');
    expect(Date.parse(header(refused.headers, DLQ_HEADERS.time) ?? '')).toBeGreaterThan(Date.now() - 120_000);
    expect(header(undecodable.headers, DLQ_HEADERS.errorClass)).toBe('MalformedMessageError');
    expect(await counterTotal(worker.metrics.deadLetters)).toBe(2);

    // The fix ships; the replay applies the refused event and dead-letters the garbage again.
    await db.query('ALTER TABLE reservations DROP CONSTRAINT test_small_quantities');
    const replaySink = new PostgresSink({ url: db.url, logger: testLogger });
    await replaySink.start();
    cleanups.push(() => replaySink.close());
    const report = await replayDeadLetters({ config, logger: testLogger, sink: replaySink });
    expect(report).toMatchObject({ read: 2, applied: 1, deadLetteredAgain: 1 });
    const [row] = await db.query<{ quantity: number; status: string }>(
      'SELECT quantity, status FROM reservations WHERE id = $1',
      [big.reservationId],
    );
    expect(row).toEqual({ quantity: 500, status: 'Pending' });
    const after = await readTopic(kafka, worker.deadLetterTopic);
    expect(after).toHaveLength(3);
    const again = after[2];
    expect(header(again?.headers, DLQ_HEADERS.attempts)).toBe('2');
    expect(header(again?.headers, DLQ_HEADERS.originalOffset)).toBe(
      header(undecodable.headers, DLQ_HEADERS.originalOffset),
    );
    // A second replay continues where the first stopped: only the new dead letter.
    expect(await replayDeadLetters({ config, logger: testLogger, sink: replaySink })).toMatchObject({
      read: 1,
      applied: 0,
      deadLetteredAgain: 1,
    });
    // --since replays from a time, even what was replayed before.
    expect(
      await replayDeadLetters({
        config,
        logger: testLogger,
        sink: replaySink,
        since: new Date(Date.now() - 600_000),
      }),
    ).toMatchObject({ read: 4, applied: 1 });
    await worker.stop();
  });
});

/** A resource created by the decider, with a name and description as given. */
function resourceUpserted(
  resourceId: string,
  capacity: number,
  text: { name: string; description: string | null },
) {
  return {
    type: 'ResourceUpserted',
    eventId: randomUUID(),
    causationCommandId: randomUUID(),
    idempotencyKey: null,
    decidedAt: Date.now() - 60_000,
    resourceId,
    actorId: 'admin-1',
    resourceVersion: 1,
    created: true,
    ...text,
    capacity,
    unitPrice: { amountMinor: 2_500, currency: 'EUR' },
    holdTimeoutMs: null,
  } satisfies ResourceUpserted;
}

/** The API's read model over a test database. */
function readModelOf(db: TestDatabase): PgReadModel {
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  cleanups.push(() => pool.end());
  return new PgReadModel(pool);
}

describe('regression: a NUL in customer.fullName dead-lettered ReservationHeld and left a half row', () => {
  it('stores the hold whole (NUL → U+FFFD), so its confirmation completes the row and availability counts it', async () => {
    const { config, writer } = await topics();
    const db = await createTestDatabase('pgsink-nul');
    cleanups.push(() => db.drop());
    const resourceId = `res-nul-${randomUUID().slice(0, 8)}`;
    const story = reservationStory({
      resourceId,
      customer: { fullName: 'Ada\u0000Lovelace' },
      resourceName: 'Room\u00001',
      quantity: 2,
    });
    const held = story.held();
    const sink = new PostgresSink({ url: db.url, logger: testLogger });
    const worker = await startTestWorker(config, sink);
    cleanups.push(() => worker.stop());
    // As in production: the hold is decided and applied first, the confirmation comes after the charge.
    await writer.write([
      resourceUpserted(resourceId, 5, { name: 'Room\u00001', description: 'Sea view\u0000' }),
      { ...held, idempotencyKey: 'order\u00001' },
    ]);
    await caughtUp(worker);
    await writer.write([story.confirmed()]);
    await caughtUp(worker);

    expect(await counterTotal(worker.metrics.deadLetters)).toBe(0);
    expect(sink.stats.incompleteReservations).toBe(0);
    const [row] = await db.query<ReservationDbRow & { details_version: number; resource_name: string }>(
      'SELECT * FROM reservations WHERE id = $1',
      [story.reservationId],
    );
    expect(row).toMatchObject({
      status: 'Confirmed',
      version: 2,
      start_at: new Date(held.start),
      end_at: new Date(held.end),
      quantity: 2,
      details_version: 1,
      resource_name: 'Room\uFFFD1',
    });
    expect(await db.query('SELECT full_name FROM customers WHERE id = $1', [story.customer.id])).toEqual([
      { full_name: 'Ada\uFFFDLovelace' },
    ]);
    expect(await db.query('SELECT name, description FROM resources WHERE id = $1', [resourceId])).toEqual([
      { name: 'Room\uFFFD1', description: 'Sea view\uFFFD' },
    ]);
    // The hold's decision is there too, so `Prefer: wait` on the request sees it.
    expect(
      await db.query('SELECT event_type, idempotency_key FROM decisions WHERE event_id = $1', [held.eventId]),
    ).toEqual([{ event_type: 'ReservationHeld', idempotency_key: 'order\uFFFD1' }]);

    // What the API serves: the whole reservation, and availability that counts its two units.
    const readModel = readModelOf(db);
    expect(await readModel.reservation(story.reservationId)).toMatchObject({
      status: 'Confirmed',
      start: new Date(held.start).toISOString(),
      end: new Date(held.end).toISOString(),
      quantity: 2,
    });
    const availability = await readModel.availability(resourceId, held.start, held.end);
    expect(availability?.intervals).toEqual([
      {
        start: new Date(held.start).toISOString(),
        end: new Date(held.end).toISOString(),
        reserved: 2,
        free: 3,
      },
    ]);
    await worker.stop();
  });

  it('a dead-lettered hold leaves no half row that the read model serves; dlq:replay completes it', async () => {
    const { config, kafka, writer } = await topics();
    const db = await createTestDatabase('pgsink-halfrow');
    cleanups.push(() => db.drop());
    // A hold the read model refuses for good (as it refused a NUL before): a constraint it violates.
    await db.query('ALTER TABLE reservations ADD CONSTRAINT test_small_quantities CHECK (quantity < 100)');
    const resourceId = `res-half-${randomUUID().slice(0, 8)}`;
    const story = reservationStory({ resourceId, quantity: 500 });
    const held = story.held();
    const sink = new PostgresSink({ url: db.url, logger: testLogger });
    const worker = await startTestWorker(config, sink);
    cleanups.push(() => worker.stop());
    await writer.write([resourceUpserted(resourceId, 1_000, { name: 'Hall', description: null }), held]);
    await caughtUp(worker);
    await writer.write([story.confirmed()]);
    await caughtUp(worker);

    const letters = await readTopic(kafka, worker.deadLetterTopic);
    expect(letters.map((m) => header(m.headers, 'ce_id'))).toEqual([held.eventId]);
    // The confirmation is recorded (so the hold, once applied, converges to Confirmed) but marked
    // incomplete: no terms, and the sink says so.
    expect(
      await db.query('SELECT status, details_version, start_at, quantity FROM reservations WHERE id = $1', [
        story.reservationId,
      ]),
    ).toEqual([{ status: 'Confirmed', details_version: null, start_at: null, quantity: null }]);
    expect(sink.stats.incompleteReservations).toBe(1);

    const readModel = readModelOf(db);
    expect(await readModel.reservation(story.reservationId)).toBeUndefined();
    const listed = await readModel.reservations({ customerId: story.customer.id, limit: 10 });
    expect(listed.items).toEqual([]);
    expect(await readModel.reservations({ resourceId, limit: 10 })).toEqual({ items: [], next: null });

    // The fix ships; replaying the dead letter applies the hold and the row is whole, served and counted.
    await db.query('ALTER TABLE reservations DROP CONSTRAINT test_small_quantities');
    const replaySink = new PostgresSink({ url: db.url, logger: testLogger });
    await replaySink.start();
    cleanups.push(() => replaySink.close());
    expect(await replayDeadLetters({ config, logger: testLogger, sink: replaySink })).toMatchObject({
      read: 1,
      applied: 1,
    });
    expect(await readModel.reservation(story.reservationId)).toMatchObject({
      status: 'Confirmed',
      version: 2,
      quantity: 500,
      start: new Date(held.start).toISOString(),
    });
    expect((await readModel.reservations({ resourceId, limit: 10 })).items).toHaveLength(1);
    const availability = await readModel.availability(resourceId, held.start, held.end);
    expect(availability?.intervals).toMatchObject([{ reserved: 500, free: 500 }]);
    await worker.stop();
  });
});
