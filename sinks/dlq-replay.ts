/**
 * Puts a sink's dead letters back for another try after a fix:
 *
 *   npm run dlq:replay -- --sink <name> [--since <ISO 8601 time>]
 *
 * Where they go: straight into the sink (the same decode → apply-with-isolation path as the worker), not
 * back onto reservations.events. The events topic is the decider's transactional output and a public
 * contract: re-publishing there would make every other sink and every downstream consumer see the event a
 * second time, out of order, from a producer that is not the decider. Applying directly touches only the
 * sink that failed, and is safe while that sink's worker runs, because every sink is idempotent and
 * monotonic (an old event never moves a row backwards).
 *
 * What is read: the dead-letter topic from where the previous replay stopped (its own consumer group,
 * `slotstream-dlq-replay-<sink>`), or from `--since` (the first dead letter written at or after that time,
 * even if replayed before), up to the end of the topic as it was when the replay started; so the run ends,
 * even though records that fail again are dead-lettered anew (attempt count + 1, original coordinates kept).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { type Config, loadConfig } from '../common/config.ts';
import { DLQ_HEADERS } from '../common/dead-letter.ts';
import { createKafka } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { topicNames } from '../common/topics.ts';
import { headerString } from '../schemas/cloudevents.ts';
import { MessageCodec } from '../schemas/codec.ts';
import { isCatalogSink, sinkCatalog, sinkEntry } from './catalog.ts';
import { applyIsolating } from './runtime/apply.ts';
import { backoffMs } from './runtime/backoff.ts';
import { type DeadLetter, DeadLetterPublisher } from './runtime/dead-letter.ts';
import { describe } from './runtime/errors.ts';
import { compileOptions, optionsFromEnv, type SinkRuntimeOptions } from './runtime/options.ts';
import type { RawRecord, Sink, SinkEvent } from './runtime/types.ts';

export interface ReplayParams {
  readonly config: Config;
  readonly logger: Logger;
  /** The sink to apply to (started and closed by the caller). */
  readonly sink: Sink;
  /** Replay dead letters written at or after this time, even those replayed before. */
  readonly since?: Date;
  readonly options?: Partial<SinkRuntimeOptions>;
}

export interface ReplayReport {
  readonly topic: string;
  /** Dead letters read. */
  readonly read: number;
  /** Applied to the sink this time. */
  readonly applied: number;
  /** Refused again (or still undecodable): written back to the dead-letter topic. */
  readonly deadLetteredAgain: number;
}

/** Original coordinates from the dead-letter headers (so a second dead letter still says where it came from). */
function originalRecord(topic: string, partition: number, message: KafkaMessage): RawRecord {
  const headers: IHeaders = message.headers ?? {};
  const originalPartition = Number(headerString(headers, DLQ_HEADERS.originalPartition));
  return {
    topic: headerString(headers, DLQ_HEADERS.originalTopic) ?? topic,
    partition: Number.isInteger(originalPartition) ? originalPartition : partition,
    offset: headerString(headers, DLQ_HEADERS.originalOffset) ?? message.offset,
    timestamp: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function replayDeadLetters(params: ReplayParams): Promise<ReplayReport> {
  const { config, sink } = params;
  const logger = params.logger.child({ component: 'dlq-replay', sink: sink.name });
  const options = compileOptions(optionsFromEnv(), params.options);
  const topics = topicNames(config.kafka.topicPrefix);
  const topic =
    (topics.sinkDlq as Record<string, string | undefined>)[sink.name] ??
    `${config.kafka.topicPrefix}reservations.events.dlq.${sink.name}`;
  const groupId = `${config.kafka.topicPrefix}slotstream-dlq-replay-${sink.name}`;
  const kafka = createKafka(config, logger, `${config.kafka.clientId}-dlq-replay-${sink.name}`);
  const codec = MessageCodec.fromConfig(config);
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const again = new DeadLetterPublisher(producer, topic, sink.name);
  let read = 0;
  let applied = 0;
  let deadLetteredAgain = 0;

  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new Error(
        `the dead-letter topic ${topic} does not exist: create the topics with npm run topics:create`,
      );
    }
    // Where to start and where to stop, per partition, fixed now.
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    const starts = new Map<number, bigint>();
    if (params.since) {
      for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, params.since.getTime())) {
        starts.set(p.partition, BigInt(p.offset));
      }
    } else {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const lows = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.low)]));
      for (const p of committed?.partitions ?? []) {
        const offset = BigInt(p.offset);
        starts.set(p.partition, offset >= 0n ? offset : (lows.get(p.partition) ?? 0n));
      }
    }
    const remaining = new Set([...ends].filter(([p, end]) => (starts.get(p) ?? 0n) < end).map(([p]) => p));
    if (remaining.size === 0) return { topic, read, applied, deadLetteredAgain };

    await producer.connect();
    const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      let finished: (error?: unknown) => void = () => {};
      const done = new Promise<void>((resolve, reject) => {
        finished = (error) => (error ? reject(error) : resolve());
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({
          batch,
          resolveOffset,
          commitOffsetsIfNecessary,
          uncommittedOffsets,
          heartbeat,
        }) => {
          const end = ends.get(batch.partition) ?? 0n;
          const mine = batch.messages.filter((m) => BigInt(m.offset) < end);
          if (mine.length === 0) return;
          const events: SinkEvent[] = [];
          const letters: DeadLetter[] = [];
          for (const message of mine) {
            const record = originalRecord(topic, batch.partition, message);
            const attempts = Number(headerString(message.headers, DLQ_HEADERS.attempts) ?? 0) + 1;
            try {
              const decoded = await codec.decodeEvent(message.value, message.headers);
              events.push({ event: decoded.message, attributes: decoded.attributes, record });
            } catch (error) {
              letters.push({ record, error, attempts });
            }
          }
          for (let attempt = 1; ; attempt++) {
            const outcome = await applyIsolating(sink, events);
            if (outcome.ok) {
              for (const { event, error } of outcome.refused) {
                const attempts = Number(headerString(event.record.headers, DLQ_HEADERS.attempts) ?? 0) + 1;
                letters.push({ record: event.record, error, attempts });
              }
              applied += events.length - outcome.refused.length;
              break;
            }
            if (options.maxAttempts > 0 && attempt >= options.maxAttempts) {
              finished(outcome.error);
              throw outcome.error;
            }
            const { code, message } = describe(outcome.error);
            logger.warn({ attempt, code, message }, 'replay batch failed with a retryable error; retrying');
            await sleep(backoffMs(attempt, options));
            await heartbeat();
          }
          await again.publish(letters);
          deadLetteredAgain += letters.length;
          read += mine.length;
          const last = mine[mine.length - 1];
          if (last) resolveOffset(last.offset);
          await commitOffsetsIfNecessary(uncommittedOffsets());
          if (last && BigInt(last.offset) + 1n >= end) {
            remaining.delete(batch.partition);
            if (remaining.size === 0) finished();
          }
        },
      });
      if (params.since) {
        for (const [partition, offset] of starts) consumer.seek({ topic, partition, offset: String(offset) });
      }
      await done;
    } finally {
      await consumer.disconnect();
    }
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect();
  }
  logger.info({ topic, read, applied, deadLetteredAgain }, 'dead letters replayed');
  return { topic, read, applied, deadLetteredAgain };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { sink: { type: 'string' }, since: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help || !values.sink) {
    console.error(
      `usage: npm run dlq:replay -- --sink <${Object.keys(sinkCatalog).join('|')}> [--since <ISO 8601 time>]`,
    );
    process.exit(values.help ? 0 : 2);
  }
  let since: Date | undefined;
  if (values.since !== undefined) {
    since = new Date(values.since);
    if (Number.isNaN(since.getTime())) {
      console.error(`--since: expected an ISO 8601 time such as 2026-11-25T12:00:00Z, got '${values.since}'`);
      process.exit(2);
    }
  }
  if (!isCatalogSink(values.sink)) {
    console.error(`--sink: expected one of ${Object.keys(sinkCatalog).join(', ')}, got '${values.sink}'`);
    process.exit(2);
  }
  const config = loadConfig();
  const logger = createLogger(config, `dlq-replay-${values.sink}`);
  const sink = sinkEntry(values.sink).create(config, logger);
  await sink.start?.();
  try {
    const report = await replayDeadLetters({ config, logger, sink, since });
    console.log(JSON.stringify(report));
  } finally {
    await sink.close?.();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
