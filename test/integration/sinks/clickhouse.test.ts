/**
 * The ClickHouse reporting sink and its reports against the real broker, registry and ClickHouse: every
 * test has its own topics, consumer group and database. Expected figures are computed here from the
 * generated stream, independently of the SQL.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../common/config.ts';
import { DLQ_HEADERS } from '../../../common/dead-letter.ts';
import type { Event } from '../../../schemas/generated/types.ts';
import { InvalidReportParameterError } from '../../../sinks/clickhouse/params.ts';
import { type ReportName, runReport } from '../../../sinks/clickhouse/reports.ts';
import { ClickHouseSink } from '../../../sinks/clickhouse/sink.ts';
import { replayDeadLetters } from '../../../sinks/dlq-replay.ts';
import { testConfig, testLogger } from '../../helpers.ts';
import { createTestClickHouse, type TestClickHouse } from '../../support/clickhouse.ts';
import { type GeneratedStream, generateStream, shuffled } from '../../support/events.ts';
import { createTestTopics, deleteTestTopics, EventWriter, header, readTopic } from '../../support/kafka.ts';
import { caughtUp, startTestWorker } from '../../support/sinks.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

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

async function database(prefix: string): Promise<TestClickHouse> {
  const ch = await createTestClickHouse(prefix);
  cleanups.push(() => ch.drop());
  return ch;
}

const RANGE = { from: '2026-11-01', to: '2026-12-01' };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const add = <K>(map: Map<K, number>, key: K, value = 1) => map.set(key, (map.get(key) ?? 0) + value);

/** What each report must show for a stream, computed without SQL. */
function expectedFigures(stream: GeneratedStream) {
  const live = [...stream.reservations.values()].filter(
    (r) => r.status === 'Confirmed' || r.status === 'Completed',
  );
  const occupancy = new Map<string, number>();
  for (const r of live) {
    for (let day = Math.floor(r.start / DAY_MS) * DAY_MS; day < r.end; day += DAY_MS) {
      const hours = (Math.min(r.end, day + DAY_MS) - Math.max(r.start, day)) / HOUR_MS;
      add(occupancy, `${dayOf(day)} ${r.resourceId}`, hours * r.quantity);
    }
  }
  const held = new Map<string, number>();
  const confirmed = new Map<string, number>();
  const bookings = new Map<string, number>();
  const revenue = new Map<string, number>();
  const lastConfirmation = new Map<string, number>();
  for (const event of stream.events) {
    const hour = `${new Date(Math.floor(event.decidedAt / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13)}:00:00Z`;
    if (event.type === 'ReservationHeld') {
      add(held, hour);
      add(bookings, event.resourceId);
    }
    if (event.type === 'ReservationConfirmed') {
      add(confirmed, hour);
      lastConfirmation.set(event.reservationId, event.decidedAt);
    }
  }
  const rates = new Map<string, { held: number; cancelled: number; expired: number }>();
  for (const r of stream.reservations.values()) {
    const entry = rates.get(r.resourceId) ?? { held: 0, cancelled: 0, expired: 0 };
    entry.held += 1;
    if (r.status === 'Cancelled') entry.cancelled += 1;
    if (r.status === 'Expired') entry.expired += 1;
    rates.set(r.resourceId, entry);
  }
  for (const r of live)
    if (lastConfirmation.has(r.id)) add(revenue, `${r.resourceId} ${r.currency}`, r.priceMinor);
  return { occupancy, held, confirmed, bookings, rates, revenue };
}

async function allReports(ch: TestClickHouse) {
  const out: Record<string, unknown[]> = {};
  for (const name of [
    'occupancy',
    'bookingsPerHour',
    'cancellationAndExpiryRates',
    'revenue',
    'topResources',
    'rejectionReasons',
  ] as const satisfies readonly ReportName[]) {
    out[name] = await runReport(ch.client, name, name === 'topResources' ? { ...RANGE, limit: 3 } : RANGE);
  }
  return out;
}

describe('clickhouse sink and reports', () => {
  it('turns a stream into the expected report figures; duplicates and reordering change none of them', async () => {
    const { config, writer } = await topics();
    const stream = generateStream({ resources: 6, reservations: 500, customers: 30, seed: 5 });
    const ch = await database('chsink');
    await writer.write(stream.events, 500);
    const worker = await startTestWorker(
      config,
      new ClickHouseSink({ url: ch.url, database: ch.database, logger: testLogger }),
    );
    cleanups.push(() => worker.stop());
    await caughtUp(worker);

    const want = expectedFigures(stream);
    const occupancy = await runReport(ch.client, 'occupancy', RANGE);
    expect(new Map(occupancy.map((r) => [`${r.day} ${r.resource_id}`, r.booked_unit_hours]))).toEqual(
      want.occupancy,
    );
    expect(occupancy.every((r) => r.capacity === 1_000_000 && r.resource_name.startsWith('Room '))).toBe(
      true,
    );
    const hours = await runReport(ch.client, 'bookingsPerHour', RANGE);
    expect(new Map(hours.filter((h) => h.held > 0).map((h) => [h.hour, h.held]))).toEqual(want.held);
    expect(new Map(hours.filter((h) => h.confirmed > 0).map((h) => [h.hour, h.confirmed]))).toEqual(
      want.confirmed,
    );
    const rates = await runReport(ch.client, 'cancellationAndExpiryRates', RANGE);
    expect(
      new Map(
        rates.map((r) => [r.resource_id, { held: r.held, cancelled: r.cancelled, expired: r.expired }]),
      ),
    ).toEqual(want.rates);
    for (const r of rates) expect(r.cancellation_rate).toBeCloseTo(r.cancelled / r.held, 5);
    const revenue = await runReport(ch.client, 'revenue', RANGE);
    expect(new Map(revenue.map((r) => [`${r.resource_id} ${r.currency}`, r.revenue_minor]))).toEqual(
      want.revenue,
    );
    const top = await runReport(ch.client, 'topResources', { ...RANGE, limit: 3 });
    const wantTop = [...want.bookings].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3);
    expect(top.map((t) => t.bookings)).toEqual(wantTop.map(([, n]) => n));
    const rejections = await runReport(ch.client, 'rejectionReasons', RANGE);
    expect(new Map(rejections.map((r) => [r.reason, r.rejections]))).toEqual(stream.rejections);
    const before = await allReports(ch);

    // Every event again, shuffled: the table holds copies until parts merge, the reports do not move.
    await writer.write(shuffled(stream.events, 13), 400);
    await caughtUp(worker);
    const [raw] = await ch.rows<{ all: number; unique: number }>(
      'SELECT count() AS all, uniqExact(event_id) AS unique FROM events',
    );
    expect(raw?.unique).toBe(stream.events.length);
    expect(await allReports(ch)).toEqual(before);
    // Merging collapses the copies for good: the sorting key identifies an event.
    await ch.client.command({ query: 'OPTIMIZE TABLE events FINAL' });
    const [merged] = await ch.rows<{ all: number }>('SELECT count() AS all FROM events');
    expect(merged?.all).toBe(stream.events.length);
    expect(await allReports(ch)).toEqual(before);
    await worker.stop();
  });

  it('rides out ClickHouse going away while events flow: retries, catches up, loses and duplicates nothing', async () => {
    const { config, writer } = await topics();
    const stream = generateStream({ resources: 6, reservations: 600, seed: 6 });
    const ch = await database('chsink_fault');
    // The shared ClickHouse serves other suites: cut the sink's link through a proxy, not the server.
    const target = new URL(ch.url);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.up();
    cleanups.push(() => proxy.close());
    const sink = new ClickHouseSink({
      url: `http://127.0.0.1:${proxy.port}`,
      database: ch.database,
      logger: testLogger,
      requestTimeoutMs: 2_000,
    });
    const worker = await startTestWorker(config, sink, { fetchMaxWaitMs: 200 });
    cleanups.push(() => worker.stop());
    const chunks = 6;
    const size = Math.ceil(stream.events.length / chunks);
    for (let i = 0; i < chunks; i++) {
      await writer.write(stream.events.slice(i * size, (i + 1) * size), 200);
      if (i === 1) {
        await new Promise((r) => setTimeout(r, 500));
        await proxy.down();
      }
      if (i === 4) {
        await new Promise((r) => setTimeout(r, 2_000));
        expect((await worker.metrics.retries.get()).values.reduce((s, v) => s + v.value, 0)).toBeGreaterThan(
          0,
        );
        await proxy.up();
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await caughtUp(worker);
    const [counts] = await ch.rows<{ unique: number }>('SELECT count() AS unique FROM events FINAL');
    expect(counts?.unique).toBe(stream.events.length);
    const [missing] = await ch.rows<{ n: number }>(
      'SELECT count() AS n FROM (SELECT arrayJoin({ids:Array(String)}) AS id) WHERE toUUID(id) NOT IN (SELECT event_id FROM events)',
      { ids: stream.events.map((e) => e.eventId) },
    );
    expect(missing?.n).toBe(0);
    expect((await worker.metrics.deadLetters.get()).values.reduce((s, v) => s + v.value, 0)).toBe(0);
    await worker.stop();
  });

  it('dead-letters an event ClickHouse refuses and keeps the partition moving; dlq:replay tries it again', async () => {
    const { config, kafka, writer } = await topics();
    const stream = generateStream({ resources: 1, reservations: 30, seed: 8, rejectionRate: 0 });
    const ch = await database('chsink_poison');
    const held = stream.events.find(
      (e): e is Extract<Event, { type: 'ReservationHeld' }> => e.type === 'ReservationHeld',
    );
    if (!held) throw new Error('no hold');
    // A reservation id that is not a UUID decodes (Avro has no UUID check) but ClickHouse cannot store it.
    const poison = { ...held, eventId: crypto.randomUUID(), reservationId: 'not-a-uuid' };
    const half = Math.floor(stream.events.length / 2);
    await writer.write([...stream.events.slice(0, half), poison, ...stream.events.slice(half)], 1_000);
    const sink = new ClickHouseSink({ url: ch.url, database: ch.database, logger: testLogger });
    const worker = await startTestWorker(config, sink);
    cleanups.push(() => worker.stop());
    await caughtUp(worker);
    const [counts] = await ch.rows<{ n: number }>('SELECT count() AS n FROM events FINAL');
    expect(counts?.n).toBe(stream.events.length);
    const letters = await readTopic(kafka, worker.deadLetterTopic);
    expect(letters).toHaveLength(1);
    expect(header(letters[0]?.headers, DLQ_HEADERS.errorCode)).toBe('SINK_REJECTED');
    expect(header(letters[0]?.headers, DLQ_HEADERS.reason)).toContain('CANNOT_PARSE_UUID');
    expect(header(letters[0]?.headers, 'ce_id')).toBe(poison.eventId);
    const replaySink = new ClickHouseSink({ url: ch.url, database: ch.database, logger: testLogger });
    cleanups.push(() => replaySink.close());
    expect(await replayDeadLetters({ config, logger: testLogger, sink: replaySink })).toMatchObject({
      read: 1,
      applied: 0,
      deadLetteredAgain: 1,
    });
    await worker.stop();
  });

  it('binds report parameters as typed query parameters: injection attempts are inert or refused', async () => {
    const { config, writer } = await topics();
    const stream = generateStream({ resources: 3, reservations: 60, seed: 9 });
    const ch = await database('chsink_params');
    await writer.write(stream.events);
    const worker = await startTestWorker(
      config,
      new ClickHouseSink({ url: ch.url, database: ch.database, logger: testLogger }),
    );
    cleanups.push(() => worker.stop());
    await caughtUp(worker);
    await worker.stop();

    expect((await runReport(ch.client, 'bookingsPerHour', RANGE)).length).toBeGreaterThan(0);
    const resourceId = stream.resources[0]?.resourceId as string;
    expect((await runReport(ch.client, 'bookingsPerHour', { ...RANGE, resourceId })).length).toBeGreaterThan(
      0,
    );
    // Text that would widen or break a spliced query matches nothing when bound.
    for (const attempt of [
      "x' OR '1'='1",
      `${resourceId}' OR 1=1 --`,
      "') UNION ALL SELECT name, 1, 1, 1 FROM system.tables --",
      '{resourceId:String}',
      "\\' OR 1=1 #",
      `${resourceId}\\`,
    ]) {
      for (const name of ['bookingsPerHour', 'revenue', 'occupancy', 'rejectionReasons'] as const) {
        expect(
          await runReport(ch.client, name, { ...RANGE, resourceId: attempt }),
          `${name} ${attempt}`,
        ).toEqual([]);
      }
    }
    // Values of the wrong shape never reach ClickHouse.
    const refused: [ReportName, Record<string, unknown>][] = [
      ['revenue', { from: "2026-11-01' OR 1=1 --", to: RANGE.to }],
      ['revenue', { from: '2026-02-30', to: RANGE.to }],
      ['revenue', { ...RANGE, resourceId: 'a\u0000b' }],
      ['revenue', { ...RANGE, extra: 'x' }],
      ['topResources', { ...RANGE, limit: '10 OR 1=1' }],
      ['topResources', { ...RANGE, limit: 0 }],
      ['topResources', { ...RANGE, by: 'bookings; DROP TABLE events' }],
      ['bookingsPerHour', { from: '2026-01-01', to: '2026-06-01' }],
      ['occupancy', { from: '2026-12-01', to: '2026-11-01' }],
    ];
    for (const [name, params] of refused) {
      await expect(runReport(ch.client, name, params), JSON.stringify(params)).rejects.toBeInstanceOf(
        InvalidReportParameterError,
      );
    }
    const [table] = await ch.rows<{ n: number }>('SELECT count() AS n FROM events FINAL');
    expect(table?.n).toBe(stream.events.length);
  });
});
