/**
 * A decider test bench on the real stack: topics of its own (unique prefix), schemas registered, a command
 * writer, an independent read_committed reader of the events topic, and deciders started in-process.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { Config } from '../../common/config.ts';
import { createKafka } from '../../common/kafka.ts';
import { ensureTopics, topicNames, topicSpecs } from '../../common/topics.ts';
import { createDecider } from '../../processors/decider/create.ts';
import type { Decider } from '../../processors/decider/decider.ts';
import type { DeciderOptions } from '../../processors/decider/options.ts';
import { MessageCodec, type Received } from '../../schemas/codec.ts';
import type {
  Command,
  Customer,
  Event,
  RequestReservation,
  UpsertResource,
} from '../../schemas/generated/types.ts';
import { eventually, testConfig, testLogger } from '../helpers.ts';

export interface SeenEvent extends Received<Event> {
  readonly partition: number;
  readonly offset: string;
  readonly headers: Record<string, string>;
}

export class DeciderFixture {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly codec: MessageCodec;
  readonly topics;
  readonly events: SeenEvent[] = [];
  private producer: Producer | undefined;
  private reader: Consumer | undefined;
  private readonly deciders: Decider[] = [];

  constructor(overrides: Record<string, string> = {}) {
    this.config = testConfig({ TOPIC_PARTITIONS: '2', ...overrides });
    this.kafka = createKafka(this.config, testLogger, 'decider-test');
    this.codec = MessageCodec.fromConfig(this.config, { autoRegister: true });
    this.topics = topicNames(this.config.kafka.topicPrefix);
  }

  async setup(): Promise<this> {
    const admin = this.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(this.config));
    await admin.disconnect();
    await this.codec.warmUp(); // registers every schema under this test's subjects
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    return this;
  }

  /** Starts an independent read_committed reader of the events topic (the checker's view). */
  async readEvents(): Promise<void> {
    this.reader = this.kafka.consumer({
      groupId: `${this.config.kafka.topicPrefix}checker-${randomUUID()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 50,
    });
    await this.reader.connect();
    await this.reader.subscribe({ topic: this.topics.events, fromBeginning: true });
    await this.reader.run({
      eachMessage: async ({ partition, message }) => {
        const received = await this.codec.decodeEvent(message.value, message.headers);
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)]),
        );
        this.events.push({ ...received, partition, offset: message.offset, headers });
      },
    });
  }

  async startDecider(options: Partial<DeciderOptions> = {}): Promise<Decider> {
    const decider = await createDecider(this.config, testLogger, {
      autoRegister: true,
      timerIntervalMs: 50,
      ...options,
    });
    this.deciders.push(decider);
    await decider.start();
    return decider;
  }

  async send(commands: readonly Command[], correlationId: string = randomUUID()): Promise<void> {
    const messages = await Promise.all(
      commands.map((c) =>
        this.codec.encodeCommand(c, { source: '/slotstream/test', correlationId, causationId: c.commandId }),
      ),
    );
    await this.producer?.send({ topic: this.topics.commands, messages });
  }

  /** Raw bytes onto the commands topic (poison tests). */
  async sendRaw(key: string, value: Buffer, headers: Record<string, string> = {}): Promise<void> {
    await this.producer?.send({ topic: this.topics.commands, messages: [{ key, value, headers }] });
  }

  eventsFor(causationCommandId: string): SeenEvent[] {
    return this.events.filter((e) => e.message.causationCommandId === causationCommandId);
  }

  async decisionOf(commandId: string, timeoutMs = 30_000): Promise<SeenEvent[]> {
    return eventually(
      async () => {
        const found = this.eventsFor(commandId);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs, what: `a decision for command ${commandId}` },
    );
  }

  async teardown(): Promise<void> {
    for (const d of this.deciders) await d.stop().catch(() => undefined);
    await this.reader?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: topicSpecs(this.config).map((t) => t.topic) }).catch(() => undefined);
    await admin.disconnect();
  }
}

export const customer = (id = `c-${randomUUID().slice(0, 8)}`): Customer => ({
  id,
  fullName: `Customer ${id}`,
  email: `${id}@example.test`,
  phone: null,
});

export function upsertResource(
  resourceId: string,
  capacity: number,
  extra: Partial<UpsertResource> = {},
): UpsertResource {
  return {
    type: 'UpsertResource',
    commandId: randomUUID(),
    idempotencyKey: null,
    acceptedAt: Date.now(),
    resourceId,
    actorId: 'admin-test',
    name: `Resource ${resourceId}`,
    description: null,
    capacity,
    unitPrice: { amountMinor: 1000, currency: 'EUR' },
    holdTimeoutMs: null,
    ...extra,
  };
}

export function requestReservation(
  resourceId: string,
  start: number,
  end: number,
  quantity = 1,
  extra: Partial<RequestReservation> = {},
): RequestReservation {
  return {
    type: 'RequestReservation',
    commandId: randomUUID(),
    idempotencyKey: null,
    acceptedAt: Date.now(),
    resourceId,
    reservationId: randomUUID(),
    customer: customer(),
    start,
    end,
    quantity,
    ...extra,
  };
}
