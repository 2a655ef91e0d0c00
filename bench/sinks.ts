/**
 * Sink benchmark: `npm run bench:sinks` (needs the local stack).
 *
 * 1. Throughput from a pre-loaded events topic (BENCH_EVENTS events, 6 partitions, written in transactions
 *    as the decider writes them): ClickHouse rows/s and PostgreSQL events/s, each sink in a fresh consumer
 *    group and a fresh database, timed from the first batch it receives to the last one it completes.
 * 2. Baseline in the same run: the same sinks fed one event per call (row-by-row writes, one round trip
 *    per event) over BENCH_BASELINE_EVENTS events; the ratio is printed.
 * 3. Event-to-queryable latency at a fixed rate (BENCH_RATE events/s for BENCH_SECONDS s, one transaction
 *    every 10 ms): from the commit of the event's transaction to the moment the sink's write returned (a
 *    synchronous ClickHouse insert, a committed PostgreSQL statement: queryable from then on); p50/p99.
 *
 * 4. Notification (e-mail) sink against the real Mailpit:
 *    - the decider decides BENCH_MAILS reservation requests (and a cancellation of every fourth) from a
 *      pre-loaded commands topic: decisions/s of the real exactly-once decider, in the same run;
 *    - the notification sink drains the resulting events topic (a held mail per reservation, a cancelled
 *      mail per cancellation) into a fresh database: mails/s from its first batch to its last;
 *    - baseline in the same run: the same sink and events, one reservation at a time over one SMTP
 *      connection (NOTIFY_CONCURRENCY=1, NOTIFY_SMTP_MAX_CONNECTIONS=1), over BENCH_MAIL_BASELINE mails;
 *    - BENCH_MAIL_RATE mailable events/s offered for BENCH_MAIL_SECONDS s: mails/s while offered, the
 *      sink's lag (largest, and when the offer ends) and how long it takes to drain.
 *    Every mail goes to an address under a domain of this run's own, and the run deletes exactly those
 *    from Mailpit (shared with every suite) after each part.
 *
 * BENCH_PHASES picks parts (comma-separated: throughput, reports, baseline, latency, notification;
 * default all). Everything it creates (topics, databases, mails) has a unique name and is removed at the
 * end.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { loadConfig } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { ensureTopics, topicNames, topicSpecs } from '../common/topics.ts';
import { createDecider } from '../processors/decider/create.ts';
import { MessageCodec } from '../schemas/codec.ts';
import type { Command, Event } from '../schemas/generated/types.ts';
import { createClickHouseClient } from '../sinks/clickhouse/client.ts';
import { migrateClickHouse } from '../sinks/clickhouse/migrate.ts';
import { type ReportName, reports, runReport } from '../sinks/clickhouse/reports.ts';
import { ClickHouseSink } from '../sinks/clickhouse/sink.ts';
import type { NotificationSinkOptions } from '../sinks/notification/options.ts';
import { createNotificationSink, type NotificationSink } from '../sinks/notification/sink.ts';
import { migratePostgres } from '../sinks/postgres/migrate.ts';
import { PostgresSink } from '../sinks/postgres/sink.ts';
import type { Sink, SinkEvent } from '../sinks/runtime/types.ts';
import { SinkWorker } from '../sinks/runtime/worker.ts';
import { generateStream } from '../test/support/events.ts';
import { createTestTopics, deleteTestTopics, EventWriter } from '../test/support/kafka.ts';
import { deleteMail, mailCount } from '../test/support/mailpit.ts';
import { reservationStory } from '../test/support/reservation-events.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
/** Copies of the throughput run's rows (new ids, days shifted) the reports are timed on. */
const REPORT_COPIES = Number(process.env.BENCH_REPORT_COPIES ?? 15);
const BASELINE_EVENTS = Number(process.env.BENCH_BASELINE_EVENTS ?? 2_000);
const RATE = Number(process.env.BENCH_RATE ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PHASES = new Set(
  (process.env.BENCH_PHASES ?? 'throughput,reports,baseline,latency,notification').split(','),
);
/** Reservations the decider decides for the notification part; every fourth is also cancelled. */
const MAILS = Number(process.env.BENCH_MAILS ?? 12_000);
const MAIL_BASELINE = Number(process.env.BENCH_MAIL_BASELINE ?? 2_000);
const MAIL_RATE = Number(process.env.BENCH_MAIL_RATE ?? 2_000);
const MAIL_SECONDS = Number(process.env.BENCH_MAIL_SECONDS ?? 10);
/**
 * Messages Mailpit may hold while the bench runs. The local Mailpit keeps 50,000 (`--max` in
 * ops/services/mailpit.sh) and drops the oldest beyond that: other suites' mails must not be pushed out.
 */
const MAILPIT_ROOM = 40_000;

// kafkajs logs the broker's CONCURRENT_TRANSACTIONS retries at error level; they are expected here.
const logger = createLogger({ logLevel: (process.env.LOG_LEVEL as 'fatal') ?? 'fatal' }, 'bench-sinks');
const baseConfig = loadConfig();
const id = randomUUID().slice(0, 8);
const cleanups: (() => Promise<unknown>)[] = [];

/** Wraps a sink to time its calls. */
class Timed implements Sink {
  first = 0;
  last = 0;
  events = 0;
  calls = 0;
  constructor(
    private readonly inner: Sink,
    private readonly onDone: (events: readonly SinkEvent[], at: number) => void = () => {},
  ) {}
  get name() {
    return this.inner.name;
  }
  get runtimeDefaults() {
    return this.inner.runtimeDefaults;
  }
  get stats() {
    return this.inner.stats;
  }
  start() {
    return this.inner.start?.() ?? Promise.resolve();
  }
  close() {
    return this.inner.close?.() ?? Promise.resolve();
  }
  async handleBatch(events: readonly SinkEvent[]) {
    const started = performance.now();
    if (this.first === 0) this.first = started;
    await this.inner.handleBatch(events);
    this.last = performance.now();
    this.events += events.length;
    this.calls += 1;
    this.onDone(events, Date.now());
  }
}

async function postgresDatabase(): Promise<string> {
  const name = `bench_sinks_${id}_${cleanups.length}`;
  const admin = new pg.Client({ connectionString: baseConfig.postgres.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: baseConfig.postgres.url });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  const url = new URL(baseConfig.postgres.url);
  url.pathname = `/${name}`;
  await migratePostgres(url.toString(), logger);
  return url.toString();
}

/** The first ClickHouse database filled (by the throughput run): the reports are timed on it. */
let reportDatabase: string | undefined;

async function clickhouseDatabase(): Promise<string> {
  const name = `bench_sinks_${id}_${cleanups.length}`;
  reportDatabase ??= name;
  await migrateClickHouse(baseConfig.clickhouse.url, name, logger);
  cleanups.push(async () => {
    const client = createClickHouseClient({ url: baseConfig.clickhouse.url });
    await client.command({ query: `DROP DATABASE IF EXISTS ${name}` });
    await client.close();
  });
  return name;
}

const sinks = {
  clickhouse: async () =>
    new ClickHouseSink({ url: baseConfig.clickhouse.url, database: await clickhouseDatabase(), logger }),
  postgres: async () => new PostgresSink({ url: await postgresDatabase(), logger }),
};

async function runUntilCaughtUp(
  config: typeof baseConfig,
  sink: Timed,
  expected: number,
): Promise<SinkWorker> {
  const worker = new SinkWorker({
    config,
    sink,
    logger,
    options: { groupId: `${config.kafka.topicPrefix}bench-${randomUUID()}` },
  });
  await worker.start();
  const deadline = Date.now() + 600_000;
  while (sink.events < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return worker;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function throughput(events: readonly Event[]) {
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: `bench-${id}-load.`, TOPIC_PARTITIONS: '6' });
  const kafka = await createTestTopics(config, logger);
  const writer = new EventWriter(kafka, config);
  cleanups.push(async () => {
    await writer.close();
    await deleteTestTopics(kafka, config);
  });
  const loadStarted = performance.now();
  await writer.write(events, 5_000);
  console.log(
    `pre-loaded ${fmt(events.length)} events in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`,
  );
  const results: Record<string, { perSecond: number; calls: number; seconds: number }> = {};
  for (const name of ['none', 'clickhouse', 'postgres'] as const) {
    // 'none' applies nothing: what the runtime alone (fetch, decode, commit) can deliver on this machine.
    const timed = new Timed(
      name === 'none' ? { name: 'clickhouse', handleBatch: async () => {} } : await sinks[name](),
    );
    const worker = await runUntilCaughtUp(config, timed, events.length);
    await worker.stop();
    const seconds = (timed.last - timed.first) / 1000;
    results[name] = { perSecond: timed.events / seconds, calls: timed.calls, seconds };
    console.log(
      `${(name === 'none' ? 'no-op sink' : name).padEnd(10)} batched:    ${fmt(timed.events)} events in ${seconds.toFixed(2)} s = ${fmt(timed.events / seconds)}/s ` +
        `(${timed.calls} writes, ${fmt(timed.events / timed.calls)} events per write)`,
    );
  }
  return results;
}

/** The naive way: one write (one round trip) per event, the same sink code. */
async function baseline(events: readonly Event[]) {
  const results: Record<string, number> = {};
  const fake = (event: Event, i: number): SinkEvent => ({
    event,
    attributes: {
      id: event.eventId,
      source: '/bench',
      type: event.type,
      time: event.decidedAt,
      subject: event.resourceId,
      correlationId: event.causationCommandId,
      causationId: event.causationCommandId,
    },
    record: {
      topic: 'bench',
      partition: 0,
      offset: String(i),
      timestamp: 0,
      key: null,
      value: null,
      headers: {},
    },
  });
  for (const name of ['clickhouse', 'postgres'] as const) {
    const sink = await sinks[name]();
    await sink.start();
    const started = performance.now();
    for (const [i, event] of events.entries()) await sink.handleBatch([fake(event, i)]);
    const seconds = (performance.now() - started) / 1000;
    await sink.close();
    results[name] = events.length / seconds;
    console.log(
      `${name.padEnd(10)} row by row: ${fmt(events.length)} events in ${seconds.toFixed(2)} s = ${fmt(events.length / seconds)}/s`,
    );
  }
  return results;
}

async function latency(events: readonly Event[]) {
  const results: Record<string, { p50: number; p99: number; max: number; samples: number }> = {};
  for (const name of ['clickhouse', 'postgres'] as const) {
    const config = loadConfig({
      ...process.env,
      TOPIC_PREFIX: `bench-${id}-rate-${name}.`,
      TOPIC_PARTITIONS: '6',
    });
    const kafka = await createTestTopics(config, logger);
    const writer = new EventWriter(kafka, config);
    cleanups.push(async () => {
      await writer.close();
      await deleteTestTopics(kafka, config);
    });
    const committedAt = new Map<string, number>();
    const latencies: number[] = [];
    const timed = new Timed(await sinks[name](), (done, at) => {
      for (const { event } of done) {
        const sent = committedAt.get(event.eventId);
        if (sent !== undefined) latencies.push(at - sent);
      }
    });
    // Warm up: the group has joined and the first write is done before the clock starts.
    const worker = new SinkWorker({ config, sink: timed, logger });
    await worker.start();
    await writer.write(events.slice(0, 10));
    while (timed.events < 10) await new Promise((r) => setTimeout(r, 20));
    const total = RATE * SECONDS;
    const perTick = Math.max(1, Math.round(RATE / 100));
    const encoded = await writer.encode(events.slice(10, 10 + total));
    const started = Date.now();
    for (let sent = 0; sent < encoded.length; sent += perTick) {
      const due = started + (sent / RATE) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const slice = encoded.slice(sent, sent + perTick);
      await writer.writeRaw(slice, 5_000, { waitVisible: false });
      const now = Date.now();
      for (const event of events.slice(10 + sent, 10 + sent + slice.length))
        committedAt.set(event.eventId, now);
    }
    const achieved = encoded.length / ((Date.now() - started) / 1000);
    const deadline = Date.now() + 60_000;
    while (latencies.length < encoded.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await worker.stop();
    latencies.sort((a, b) => a - b);
    results[name] = {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? Number.NaN,
      samples: latencies.length,
    };
    console.log(
      `${name.padEnd(10)} latency at ${fmt(achieved)} events/s: p50 ${results[name].p50} ms, p99 ${results[name].p99} ms, ` +
        `max ${results[name].max} ms (${fmt(latencies.length)} events, ${fmt(timed.events / timed.calls)} per write)`,
    );
  }
  return results;
}

/**
 * Report cost on millions of rows: the throughput run's table is multiplied server-side (each copy with new
 * event and reservation ids and its decisions shifted by whole weeks, so reservations stay consistent), plus
 * one duplicate of every row of the original (so FINAL and argMax have copies to collapse); then every report
 * runs over a 31-day range.
 */
async function reportCost() {
  if (!reportDatabase) return {};
  const client = createClickHouseClient({ url: baseConfig.clickhouse.url, database: reportDatabase });
  try {
    const originals = await client.query({
      query: 'SELECT toString(max(ingested_at)) AS t0 FROM events',
      format: 'JSONEachRow',
    });
    const [{ t0 } = { t0: '1970-01-01 00:00:00.000' }] = await originals.json<{ t0: string }>();
    const original = "ingested_at <= toDateTime64({t0:String}, 3, 'UTC')";
    const copy = (k: number) => `
      INSERT INTO events SELECT
        generateUUIDv4(), event_type, decided_at + toIntervalWeek(${k}), resource_id, resource_name,
        if(isNull(reservation_id), NULL, reinterpretAsUUID(MD5(concat(toString(reservation_id), '${k}')))),
        customer_id, status, previous_status, version,
        start_at + toIntervalWeek(${k}), end_at + toIntervalWeek(${k}), hold_expires_at + toIntervalWeek(${k}),
        quantity, capacity, unit_price_minor, amount_minor, currency, reason, detail, command_type,
        causation_command_id, idempotency_key, kafka_partition, kafka_offset, now64(3)
      FROM events WHERE ${original}`;
    const started = performance.now();
    for (let k = 1; k < REPORT_COPIES; k++) await client.command({ query: copy(k), query_params: { t0 } });
    // and a second copy of every original event, as a redelivery would leave before parts merge
    await client.command({
      query: `INSERT INTO events SELECT * FROM events WHERE ${original}`,
      query_params: { t0 },
    });
    const count = await client.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' });
    const [{ n } = { n: 0 }] = await count.json<{ n: string }>();
    console.log(
      `reports over ${fmt(Number(n))} rows (${REPORT_COPIES} copies, one duplicate of each original event; built in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s):`,
    );
    const range = { from: '2026-11-01', to: '2026-12-02' };
    const timings: Record<string, number> = {};
    for (const name of Object.keys(reports) as ReportName[]) {
      const params = name === 'topResources' ? { ...range, limit: 10 } : range;
      await runReport(client, name, params); // warm
      const t = performance.now();
      const rows = await runReport(client, name, params);
      timings[name] = Math.round(performance.now() - t);
      console.log(`  ${name.padEnd(27)} ${String(timings[name]).padStart(5)} ms (${fmt(rows.length)} rows)`);
    }
    return timings;
  } finally {
    await client.close();
  }
}

/** A decider run over pre-loaded commands: the events the notification sink then drains. */
async function decideReservations(config: typeof baseConfig, domain: string) {
  const kafka = createKafka(config, logger, 'bench-sinks');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(config));
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => undefined);
    await admin.disconnect();
  });
  const codec = MessageCodec.fromConfig(config, { autoRegister: true });
  await codec.warmUp(); // registers every schema under this run's subjects
  const HOUR = 3_600_000;
  const base = Date.now() + 24 * HOUR;
  const resources = 200;
  const commands: Command[] = [];
  for (let r = 0; r < resources; r++) {
    commands.push({
      type: 'UpsertResource',
      commandId: randomUUID(),
      idempotencyKey: null,
      acceptedAt: Date.now(),
      resourceId: `res-${r}`,
      actorId: 'bench',
      name: `Room ${r}`,
      description: null,
      capacity: 10_000, // every request is held: one mail each
      unitPrice: { amountMinor: 4_500, currency: 'EUR' },
      holdTimeoutMs: null,
    });
  }
  const cancels: Command[] = [];
  for (let i = 0; i < MAILS; i++) {
    const resourceId = `res-${i % resources}`;
    const reservationId = randomUUID();
    const customer = { id: `cust-${i}`, fullName: `Customer ${i}`, email: `c${i}@${domain}`, phone: null };
    const slot = i % 48;
    commands.push({
      type: 'RequestReservation',
      commandId: randomUUID(),
      idempotencyKey: null,
      acceptedAt: Date.now(),
      resourceId,
      reservationId,
      customer,
      start: base + slot * HOUR,
      end: base + (slot + 2) * HOUR,
      quantity: 1,
    });
    if (i % 4 === 0) {
      cancels.push({
        type: 'CancelReservation',
        commandId: randomUUID(),
        idempotencyKey: null,
        acceptedAt: Date.now(),
        resourceId,
        reservationId,
        customerId: customer.id,
        reason: 'plans changed',
      });
    }
  }
  commands.push(...cancels); // after every request: each cancellation follows its hold on the partition
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const topic = topicNames(config.kafka.topicPrefix).commands;
  for (let i = 0; i < commands.length; i += 2_000) {
    const messages = await Promise.all(
      commands
        .slice(i, i + 2_000)
        .map((c) =>
          codec.encodeCommand(c, { source: '/bench', correlationId: c.commandId, causationId: c.commandId }),
        ),
    );
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();

  const decider = await createDecider(config, logger);
  const decided = async () => {
    const metric = decider.metricsRegistry.getSingleMetric('slotstream_decider_commands_decided_total') as
      | { get(): Promise<{ values: { value: number }[] }> }
      | undefined;
    return ((await metric?.get())?.values ?? []).reduce((sum, v) => sum + v.value, 0);
  };
  const started = performance.now();
  await decider.start();
  const deadline = Date.now() + 600_000;
  while ((await decided()) < commands.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  await decider.stop();
  const perSecond = commands.length / seconds;
  console.log(
    `decider:      ${fmt(commands.length)} commands (${fmt(MAILS)} requests, ${fmt(cancels.length)} cancellations) in ` +
      `${seconds.toFixed(2)} s = ${fmt(perSecond)} decisions/s (exactly-once, start and join included)`,
  );
  return { perSecond, expectedMails: MAILS + cancels.length };
}

/** Runs a notification sink over the events topic in a fresh group and database until it has caught up. */
async function drainMail(
  config: typeof baseConfig,
  options: Partial<NotificationSinkOptions>,
  stopAfterMails = Number.POSITIVE_INFINITY,
) {
  const url = await postgresDatabase();
  const sink = createNotificationSink({ ...config, postgres: { ...config.postgres, url } }, logger, {
    options: { maxEventAgeMs: 0, ...options },
  });
  const timed = new Timed(sink);
  const worker = new SinkWorker({
    config,
    sink: timed,
    logger,
    options: { groupId: `${config.kafka.topicPrefix}bench-mail-${randomUUID()}` },
  });
  const cpu = process.cpuUsage();
  await worker.start();
  const deadline = Date.now() + 900_000;
  let lastSample = 0;
  let measured: { mails: number; seconds: number } | undefined;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    if (sink.stats.sent >= stopAfterMails) {
      measured = { mails: sink.stats.sent, seconds: (performance.now() - timed.first) / 1000 };
      break;
    }
    if (timed.events === 0 || Date.now() - lastSample < 250) continue;
    lastSample = Date.now();
    if ([...(await worker.lag()).values()].every((lag) => lag === 0)) break;
  }
  const cpuMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpu));
  await worker.stop();
  measured ??= { mails: sink.stats.sent, seconds: (timed.last - timed.first) / 1000 };
  return {
    ...measured,
    perSecond: measured.mails / measured.seconds,
    cpuMsPerMail: cpuMs / sink.stats.sent,
    sink,
  };
}

function describeSink(sink: NotificationSink): string {
  const o = sink.options;
  return `concurrency ${o.concurrency}, ${o.smtpMaxConnections} SMTP connection${o.smtpMaxConnections === 1 ? '' : 's'}`;
}

/** Mailable events at a fixed rate into a running sink: does lag build, and how fast does it drain? */
async function mailAtRate(domain: string) {
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: `bench-${id}-mailrate.`, TOPIC_PARTITIONS: '6' });
  const kafka = await createTestTopics(config, logger);
  const writer = new EventWriter(kafka, config);
  cleanups.push(async () => {
    await writer.close();
    await deleteTestTopics(kafka, config);
  });
  const url = await postgresDatabase();
  const sink = createNotificationSink({ ...config, postgres: { ...config.postgres, url } }, logger);
  const worker = new SinkWorker({ config, sink, logger });
  await worker.start();
  // Warm up: the group has joined and a first mail went out before the clock starts.
  const warm = reservationStory({ customer: { email: `warm@${domain}` } });
  await writer.write([warm.held()]);
  while (sink.stats.sent < 1) await new Promise((r) => setTimeout(r, 20));

  const total = MAIL_RATE * MAIL_SECONDS;
  const events = Array.from(
    { length: total },
    (_, i) => reservationStory({ customer: { email: `r${i}@${domain}` } }).held() as Event,
  );
  const encoded = await writer.encode(events);
  // Ten transactions a second: the writer shares this process with the sink it measures.
  const perTick = Math.max(1, Math.round(MAIL_RATE / 10));
  const sentBefore = sink.stats.sent;
  let maxLag = 0;
  const sampleLag = async () => {
    const lag = [...(await worker.lag()).values()].reduce((sum, v) => sum + v, 0);
    maxLag = Math.max(maxLag, lag);
    return lag;
  };
  const sampler = setInterval(() => void sampleLag().catch(() => undefined), 500);
  const started = Date.now();
  for (let sent = 0; sent < encoded.length; sent += perTick) {
    const wait = started + (sent / MAIL_RATE) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await writer.writeRaw(encoded.slice(sent, sent + perTick), 5_000, { waitVisible: false });
  }
  const offeredSeconds = (Date.now() - started) / 1000;
  const sentWhileOffered = sink.stats.sent - sentBefore;
  clearInterval(sampler);
  const lagAtEnd = await sampleLag();
  const deadline = Date.now() + 600_000;
  while (sink.stats.sent - sentBefore < total && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const drainedAfter = (Date.now() - started) / 1000 - offeredSeconds;
  await worker.stop();
  const result = {
    offeredPerSecond: Math.round(total / offeredSeconds),
    sentPerSecondWhileOffered: Math.round(sentWhileOffered / offeredSeconds),
    maxLag,
    lagAtEndOfOffer: lagAtEnd,
    drainedSecondsAfterOffer: Number(drainedAfter.toFixed(1)),
  };
  console.log(
    `notification at ${fmt(MAIL_RATE)} mailable events/s offered (${fmt(result.offeredPerSecond)} achieved) for ${MAIL_SECONDS} s: ` +
      `${fmt(result.sentPerSecondWhileOffered)} mails/s sent meanwhile; lag at most ${fmt(maxLag)}, ${fmt(lagAtEnd)} when the offer ended, ` +
      `all ${fmt(total)} mailed ${result.drainedSecondsAfterOffer} s after (${describeSink(sink)})`,
  );
  return result;
}

async function notification() {
  const domain = `${id}.bench.slotstream.test`;
  const room = MAILPIT_ROOM - (await mailCount());
  const peak = Math.max(MAILS * 1.25, MAIL_BASELINE, MAIL_RATE * MAIL_SECONDS);
  if (peak > room) {
    console.log(
      `notification: skipped, Mailpit holds too much to take ${fmt(peak)} more without dropping other suites' mail (room ${fmt(room)})`,
    );
    return undefined;
  }
  // Whatever happens, exactly this run's mails go: they all share its domain.
  cleanups.push(() => deleteMail(`to:"${domain}"`));
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: `bench-${id}-mail.`, TOPIC_PARTITIONS: '6' });
  const decider = await decideReservations(config, domain);

  const pooled = await drainMail(config, {});
  console.log(
    `notification: ${fmt(pooled.mails)} mails of ${fmt(decider.expectedMails)} from the backlog in ${pooled.seconds.toFixed(2)} s = ` +
      `${fmt(pooled.perSecond)} mails/s (${describeSink(pooled.sink)}; ${pooled.cpuMsPerMail.toFixed(2)} ms of this process's CPU per mail)`,
  );
  await deleteMail(`to:"${domain}"`);
  const sequential = await drainMail(config, { concurrency: 1, smtpMaxConnections: 1 }, MAIL_BASELINE);
  console.log(
    `notification baseline: ${fmt(sequential.mails)} mails in ${sequential.seconds.toFixed(2)} s = ${fmt(sequential.perSecond)} mails/s ` +
      `(${describeSink(sequential.sink)}: one mail at a time)`,
  );
  await deleteMail(`to:"${domain}"`);
  const rated = MAIL_RATE > 0 && MAIL_SECONDS > 0 ? await mailAtRate(domain) : undefined;
  await deleteMail(`to:"${domain}"`);
  console.log(
    `notification: ×${(pooled.perSecond / sequential.perSecond).toFixed(1)} the baseline; the decider decided ` +
      `${(decider.perSecond / pooled.perSecond).toFixed(1)}× as fast as the sink mails`,
  );
  return {
    deciderDecisionsPerSecond: Math.round(decider.perSecond),
    mailsPerSecond: Math.round(pooled.perSecond),
    mailsPerSecondBaseline: Math.round(sequential.perSecond),
    mailSpeedup: Number((pooled.perSecond / sequential.perSecond).toFixed(1)),
    cpuMsPerMail: Number(pooled.cpuMsPerMail.toFixed(2)),
    atRate: rated,
  };
}

async function main() {
  console.log(
    `bench:sinks — ${fmt(EVENTS)} pre-loaded events; baseline ${fmt(BASELINE_EVENTS)}; ${fmt(RATE)}/s for ${SECONDS} s; ` +
      `${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1)} (the stack shares these cores); ` +
      `phases ${[...PHASES].join(',')}`,
  );
  const summary: Record<string, unknown> = {};
  if (PHASES.has('throughput') || PHASES.has('reports') || PHASES.has('baseline')) {
    const reservations = Math.ceil(EVENTS / 2.6);
    const stream = generateStream({ resources: 200, reservations, customers: 5_000, seed: 99 });
    const events = stream.events.slice(0, EVENTS);
    const batched = PHASES.has('throughput') || PHASES.has('reports') ? await throughput(events) : {};
    if (PHASES.has('reports')) summary.reportMs = await reportCost();
    const naive = PHASES.has('baseline') ? await baseline(events.slice(0, BASELINE_EVENTS)) : {};
    Object.assign(summary, {
      runtimeCeilingPerSecond: Math.round(batched.none?.perSecond ?? 0),
      clickhouseRowsPerSecond: Math.round(batched.clickhouse?.perSecond ?? 0),
      clickhouseRowByRowPerSecond: Math.round(naive.clickhouse ?? 0),
      clickhouseSpeedup: Number(((batched.clickhouse?.perSecond ?? 0) / (naive.clickhouse ?? 1)).toFixed(1)),
      postgresEventsPerSecond: Math.round(batched.postgres?.perSecond ?? 0),
      postgresRowByRowPerSecond: Math.round(naive.postgres ?? 0),
      postgresSpeedup: Number(((batched.postgres?.perSecond ?? 0) / (naive.postgres ?? 1)).toFixed(1)),
    });
    if (batched.clickhouse && naive.clickhouse) {
      console.log(
        `ratio batched / row by row: ClickHouse ×${summary.clickhouseSpeedup}, PostgreSQL ×${summary.postgresSpeedup}`,
      );
    }
  }
  if (PHASES.has('latency')) {
    const rated = await latency(
      generateStream({ resources: 50, reservations: Math.ceil((RATE * SECONDS + 10) / 2.2), seed: 7 }).events,
    );
    Object.assign(summary, {
      latencyRatePerSecond: RATE,
      clickhouseLatencyMs: rated.clickhouse,
      postgresLatencyMs: rated.postgres,
    });
  }
  if (PHASES.has('notification')) summary.notification = await notification();
  console.log(JSON.stringify(summary));
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });
