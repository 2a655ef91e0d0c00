/** Kafka helpers for sink tests: the test's own topics, events written as the decider writes them. */
import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { createKafka } from '../../common/kafka.ts';
import { ensureTopics, topicNames, topicSpecs } from '../../common/topics.ts';
import { MessageCodec } from '../../schemas/codec.ts';
import type { Event } from '../../schemas/generated/types.ts';
import { testLogger } from '../helpers.ts';

/** Creates every topic of the config's prefix; returns a kafkajs client for the test. */
export async function createTestTopics(config: Config, logger: Logger = testLogger): Promise<Kafka> {
  const kafka = createKafka(config, logger, 'sink-test');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicSpecs(config));
  } finally {
    await admin.disconnect();
  }
  return kafka;
}

/** Deletes the config's topics (best effort). */
export async function deleteTestTopics(kafka: Kafka, config: Config): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: topicSpecs(config).map((s) => s.topic) });
  } catch {
    // already gone, or the broker is busy: the prefix is unique anyway
  } finally {
    await admin.disconnect();
  }
}

/**
 * Writes events to the events topic in transactions of up to `perTransaction` messages, read_committed
 * consumers see them only after commit (as they see the decider's). Returns once all are committed.
 */
export class EventWriter {
  private readonly codec: MessageCodec;
  private readonly producer;
  private readonly admin;
  private connected = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
  ) {
    this.codec = MessageCodec.fromConfig(config, { autoRegister: true });
    this.producer = kafka.producer({
      transactionalId: `sink-test-${randomUUID()}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    this.admin = kafka.admin();
  }

  async encode(events: readonly Event[]) {
    return Promise.all(
      events.map((event) =>
        this.codec.encodeEvent(event, {
          source: '/slotstream/test',
          correlationId: event.causationCommandId,
          causationId: event.causationCommandId,
        }),
      ),
    );
  }

  async write(events: readonly Event[], perTransaction = 5_000): Promise<void> {
    const messages = await this.encode(events);
    await this.writeRaw(messages, perTransaction);
  }

  /**
   * Writes already-encoded (or deliberately broken) messages. Unless `waitVisible` is false, returns only
   * once a read_committed reader can see them: the coordinator writes the commit markers after it has
   * answered the commit, so a reader (and the end offsets an admin client reports) may lag a moment behind.
   */
  async writeRaw(
    messages: readonly { key: string; value: Buffer; headers: IHeaders }[],
    perTransaction = 5_000,
    { waitVisible = true } = {},
  ): Promise<void> {
    if (!this.connected) {
      await Promise.all([this.producer.connect(), this.admin.connect()]);
      this.connected = true;
    }
    const topic = topicNames(this.config.kafka.topicPrefix).events;
    const firstOffsets = new Map<number, bigint>();
    for (let i = 0; i < messages.length; i += perTransaction) {
      const transaction = await this.producer.transaction();
      try {
        const sent = await transaction.send({
          topic,
          messages: messages.slice(i, i + perTransaction).map((m) => ({ ...m })),
        });
        await transaction.commit();
        for (const { partition, baseOffset } of sent) {
          if (baseOffset !== undefined) firstOffsets.set(partition, BigInt(baseOffset));
        }
      } catch (error) {
        await transaction.abort().catch(() => {});
        throw error;
      }
    }
    if (!waitVisible) return;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ends = new Map(
        (await this.admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
      );
      if ([...firstOffsets].every(([p, first]) => (ends.get(p) ?? 0n) > first)) return;
      if (Date.now() > deadline)
        throw new Error('written events did not become visible to read_committed readers');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    if (this.connected) await Promise.all([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

/** Reads every record currently in a topic (from the beginning up to its end offsets). */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 20_000): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const want = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  const pending = new Set([...want].filter(([, high]) => high > 0n).map(([p]) => p));
  const out: KafkaMessage[] = [];
  if (pending.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `read-${randomUUID()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), timeoutMs);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          out.push(...batch.messages);
          if (BigInt(batch.lastOffset()) + 1n >= (want.get(batch.partition) ?? 0n))
            pending.delete(batch.partition);
          if (pending.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** A header as a string. */
export function header(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}
