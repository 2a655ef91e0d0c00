/**
 * `npm run bench:processor [-- --commands N --rate R --seconds S]`
 *
 * Pre-loads N commands for many resources, then measures on the real broker:
 *  1. decisions/s of the exactly-once decider (transactions + sendOffsets), with kafkajs's default
 *     retry (300 ms initial, which waits out CONCURRENT_TRANSACTIONS after every commit) and with ours (20 ms);
 *  2. the baseline: the same decode → decide → encode pipeline without transactions (idempotent produce,
 *     plain offset commits), and the ratio;
 *  3. command-to-event latency p50/p99 at a fixed offered rate, read back with read_committed.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { ensureTopics, topicNames, topicSpecs } from '../common/topics.ts';
import { ResourceStore } from '../processors/core/index.ts';
import { createDecider } from '../processors/decider/create.ts';
import { MessageCodec } from '../schemas/codec.ts';
import type { Command } from '../schemas/generated/types.ts';

const { values: args } = parseArgs({
  options: {
    commands: { type: 'string', default: '100000' },
    resources: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    partitions: { type: 'string', default: '6' },
    phases: { type: 'string', default: 'default-retry,eos,plain,latency' },
    'retry-ms': { type: 'string', default: '20' },
  },
});
const N = Number(args.commands);
const RESOURCES = Number(args.resources);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const logger = pino({ level: 'error' });
const HOUR = 3_600_000;

function freshConfig() {
  return loadConfig({
    ...process.env,
    TOPIC_PREFIX: `bench-${randomUUID().slice(0, 8)}.`,
    TOPIC_PARTITIONS: args.partitions,
  });
}

function makeCommands(count: number, resources: number): Command[] {
  const base = Date.now() + 24 * HOUR;
  const out: Command[] = [];
  for (let r = 0; r < resources; r++) {
    out.push({
      type: 'UpsertResource',
      commandId: randomUUID(),
      idempotencyKey: null,
      acceptedAt: Date.now(),
      resourceId: `res-${r}`,
      actorId: 'bench',
      name: `Resource ${r}`,
      description: null,
      capacity: 20,
      unitPrice: { amountMinor: 1500, currency: 'EUR' },
      holdTimeoutMs: null,
    });
  }
  for (let i = out.length; i < count; i++) {
    const slot = Math.floor(Math.random() * 48);
    out.push({
      type: 'RequestReservation',
      commandId: randomUUID(),
      idempotencyKey: null,
      acceptedAt: Date.now(),
      resourceId: `res-${Math.floor(Math.random() * resources)}`,
      reservationId: randomUUID(),
      customer: { id: `c-${i % 5000}`, fullName: 'Bench Customer', email: 'bench@example.test', phone: null },
      start: base + slot * HOUR,
      end: base + (slot + 1 + Math.floor(Math.random() * 3)) * HOUR,
      quantity: 1 + Math.floor(Math.random() * 3),
    });
  }
  return out;
}

async function setup(config: ReturnType<typeof loadConfig>) {
  const kafka = createKafka(config, logger, 'bench');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(config));
  const codec = MessageCodec.fromConfig(config, { autoRegister: true });
  await codec.warmUp();
  return { kafka, admin, codec, topics: topicNames(config.kafka.topicPrefix) };
}

async function preload(kafka: Kafka, codec: MessageCodec, topic: string, commands: Command[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < commands.length; i += 2_000) {
    const slice = commands.slice(i, i + 2_000);
    const messages = await Promise.all(
      slice.map((c) =>
        codec.encodeCommand(c, { source: '/bench', correlationId: c.commandId, causationId: c.commandId }),
      ),
    );
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
}

async function decidedCount(decider: {
  metricsRegistry: { getSingleMetric(n: string): unknown };
}): Promise<number> {
  const metric = decider.metricsRegistry.getSingleMetric('slotstream_decider_commands_decided_total') as {
    get(): Promise<{ values: { value: number }[] }>;
  };
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function exactlyOnceThroughput(label: string, initialRetryTime: number): Promise<number> {
  const config = freshConfig();
  const { kafka, admin, codec, topics } = await setup(config);
  await preload(kafka, codec, topics.commands, makeCommands(N, RESOURCES));
  const decider = await createDecider(config, logger, { kafkaRetry: { initialRetryTime, retries: 12 } });
  const started = Date.now();
  await decider.start();
  while ((await decidedCount(decider)) < N) await new Promise((r) => setTimeout(r, 50));
  const seconds = (Date.now() - started) / 1000;
  await decider.stop();
  await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => undefined);
  await admin.disconnect();
  const rate = N / seconds;
  console.log(
    `${label.padEnd(58)} ${rate.toFixed(0).padStart(8)} decisions/s  (${N} in ${seconds.toFixed(2)} s, restore+join included)`,
  );
  return rate;
}

/** The baseline: the same decode → decide → encode work, plain produce and plain offset commits. */
async function plainThroughput(): Promise<number> {
  const config = freshConfig();
  const { kafka, admin, codec, topics } = await setup(config);
  await preload(kafka, codec, topics.commands, makeCommands(N, RESOURCES));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}plain`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.commands, fromBeginning: true });
  const stores = new Map<number, ResourceStore>();
  let done = 0;
  const started = Date.now();
  await consumer.run({
    partitionsConsumedConcurrently: Number(args.partitions),
    eachBatch: async ({ batch }) => {
      const store = stores.get(batch.partition) ?? new ResourceStore();
      stores.set(batch.partition, store);
      const now = Date.now();
      const out = [];
      for (const m of batch.messages) {
        const { message, attributes } = await codec.decodeCommand(m.value, m.headers);
        for (const event of store.handle(message, { now, newId: randomUUID })) {
          const wire = await codec.encodeEvent(event, {
            source: '/bench',
            correlationId: attributes.correlationId,
            causationId: message.commandId,
          });
          out.push({ ...wire, partition: batch.partition });
        }
      }
      await producer.send({ topic: topics.events, messages: out, acks: -1 });
      done += batch.messages.length;
    },
  });
  while (done < N) await new Promise((r) => setTimeout(r, 50));
  const seconds = (Date.now() - started) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => undefined);
  await admin.disconnect();
  const rate = N / seconds;
  console.log(
    `${'baseline: same pipeline, no transactions'.padEnd(58)} ${rate.toFixed(0).padStart(8)} decisions/s  (${N} in ${seconds.toFixed(2)} s)`,
  );
  return rate;
}

async function latencyAtRate(): Promise<void> {
  const config = freshConfig();
  const { kafka, admin, codec, topics } = await setup(config);
  const warm = makeCommands(RESOURCES, RESOURCES); // the resources only
  await preload(kafka, codec, topics.commands, warm);
  const decider = await createDecider(config, logger, {
    kafkaRetry: { initialRetryTime: Number(args['retry-ms']), retries: 12 },
  });
  await decider.start();
  while ((await decidedCount(decider)) < RESOURCES) await new Promise((r) => setTimeout(r, 50));

  const sentAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const latencies: number[] = [];
  const fromAck: number[] = [];
  const reader = kafka.consumer({
    groupId: `${config.kafka.topicPrefix}latency`,
    readUncommitted: false,
    maxWaitTimeInMs: 10,
  });
  await reader.connect();
  await reader.subscribe({ topic: topics.events, fromBeginning: false });
  await reader.run({
    eachMessage: async ({ message }) => {
      const causation = message.headers?.ce_causationid?.toString();
      const at = causation ? sentAt.get(causation) : undefined;
      if (at !== undefined) latencies.push(Date.now() - at);
      const acked = causation ? ackedAt.get(causation) : undefined;
      if (acked !== undefined) fromAck.push(Date.now() - acked);
    },
  });
  await new Promise((r) => setTimeout(r, 1_000)); // the reader joins its group

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const total = RATE * SECONDS;
  const commands = makeCommands(total + RESOURCES, RESOURCES).slice(RESOURCES);
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
  const started = Date.now();
  for (let i = 0; i < commands.length; i += perTick) {
    const slice = commands.slice(i, i + perTick);
    const messages = await Promise.all(
      slice.map((c) =>
        codec.encodeCommand(c, { source: '/bench', correlationId: c.commandId, causationId: c.commandId }),
      ),
    );
    const now = Date.now();
    for (const c of slice) sentAt.set(c.commandId, now);
    void producer.send({ topic: topics.commands, messages, acks: -1 }).then(() => {
      const acked = Date.now();
      for (const c of slice) ackedAt.set(c.commandId, acked);
    });
    const due = started + ((i + perTick) / RATE) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const offeredSeconds = (Date.now() - started) / 1000;
  const deadline = Date.now() + 30_000;
  while (latencies.length < commands.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  latencies.sort((a, b) => a - b);
  fromAck.sort((a, b) => a - b);
  const pct = (p: number, list = latencies) =>
    list[Math.min(list.length - 1, Math.floor((p / 100) * list.length))];
  console.log(
    `latency at ${RATE} commands/s offered (${(commands.length / offeredSeconds).toFixed(0)} achieved) for ${SECONDS} s: ` +
      `p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies[latencies.length - 1]} ms ` +
      `(${latencies.length}/${commands.length} decisions seen, command offered → event read with read_committed); ` +
      `from the command's ack: p50 ${pct(50, fromAck)} ms, p99 ${pct(99, fromAck)} ms`,
  );
  const histogram = async (name: string) => {
    const metric = decider.metricsRegistry.getSingleMetric(name) as unknown as {
      get(): Promise<{ values: { metricName?: string; value: number }[] }>;
    };
    const values = (await metric.get()).values;
    const sum = values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const count = values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    return { mean: count ? sum / count : 0, count };
  };
  const size = await histogram('slotstream_decider_batch_size');
  const seconds = await histogram('slotstream_decider_batch_seconds');
  console.log(
    `  decider during the run: ${size.count} transactions, ${size.mean.toFixed(0)} commands each on average, ` +
      `${(seconds.mean * 1000).toFixed(0)} ms from batch start to commit on average`,
  );
  await producer.disconnect();
  await reader.disconnect();
  await decider.stop();
  await admin.deleteTopics({ topics: topicSpecs(config).map((t) => t.topic) }).catch(() => undefined);
  await admin.disconnect();
}

console.log(
  `bench:processor — ${N} commands over ${RESOURCES} resources, ${args.partitions} partitions, broker on this host`,
);
const phases = new Set(args.phases.split(','));
const rates: Record<string, number> = {};
if (phases.has('default-retry')) {
  rates.slow = await exactlyOnceThroughput(
    'exactly-once, kafkajs default retry (initialRetryTime 300 ms)',
    300,
  );
}
if (phases.has('eos'))
  rates.eos = await exactlyOnceThroughput('exactly-once, tuned retry (initialRetryTime 20 ms)', 20);
if (phases.has('plain')) rates.plain = await plainThroughput();
if (rates.eos && rates.plain)
  console.log(
    `exactly-once (tuned) / baseline without transactions: ${(rates.eos / rates.plain).toFixed(2)}`,
  );
if (rates.eos && rates.slow) console.log(`tuned / default retry: ${(rates.eos / rates.slow).toFixed(2)}x`);
if (phases.has('latency')) await latencyAtRate();
process.exit(0);
