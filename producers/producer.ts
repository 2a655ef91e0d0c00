/**
 * The command producer: writes typed commands to `reservations.commands`, keyed by resource id, Avro with
 * CloudEvents headers (through the shared MessageCodec), with an idempotent kafkajs producer and acks=all.
 *
 * Batching. kafkajs's idempotent producer holds a lock per broker, so concurrent `send` calls leave one
 * produce request at a time anyway, each carrying one message. This class queues commands and sends them
 * with `sendBatch`: the first command of a batch waits `lingerMs`, and while a batch is at the broker the
 * next one fills up. A command's promise resolves only when the broker acknowledged it with acks=all, so a
 * caller that answers its client after `send` resolves never claims more than the broker holds.
 *
 * Lanes. One request in flight per producer caps throughput at batch size / acknowledgement time, so the
 * class runs `lanes` idempotent producers side by side. A resource's commands always take the same lane
 * (a hash of the key), and each lane has one request in flight, so the per-resource order of what was
 * queued is kept.
 */
import '../common/kafkajs-fast-encoder.ts'; // before kafkajs loads
import { randomUUID } from 'node:crypto';
import { CompressionTypes, type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { MessageCodec, type Provenance } from '../schemas/codec.ts';
import type { Command } from '../schemas/generated/types.ts';
import {
  DeliveryUnknownError,
  isRefusedForContent,
  ProduceRefusedError,
  ProducerNotReadyError,
  ProducerOverloadedError,
  ProducerUnavailableError,
} from './errors.ts';
import { type CommandProducerOptions, compileProducerOptions } from './producer-options.ts';

/** Lifecycle of a producer. */
export type ProducerState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

/** What the broker acknowledged. */
export interface Acknowledgement {
  readonly commandId: string;
  readonly topic: string;
}

/** Hooks for metrics; each is called synchronously and must not throw. */
export interface ProducerObserver {
  batchSent?(messages: number, durationMs: number): void;
  /** A request failed; its batch is sent again (on a new producer) or given up on. */
  batchFailed?(messages: number, error: Error): void;
  /** A lane threw its kafkajs producer away for a new one. */
  producerReplaced?(): void;
}

export interface CommandProducerDeps {
  readonly kafka: Kafka;
  readonly codec: MessageCodec;
  readonly logger: Logger;
  readonly options?: Partial<CommandProducerOptions>;
  readonly observer?: ProducerObserver;
}

interface Pending {
  readonly message: Message;
  readonly commandId: string;
  /** When the command stops waiting (epoch ms): its delivery timeout from `send`. */
  readonly deadline: number;
  readonly resolve: (ack: Acknowledgement) => void;
  readonly reject: (error: Error) => void;
}

const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How often queued commands are checked against their delivery timeout. */
const EXPIRY_SWEEP_MS = 100;

/**
 * One idempotent kafkajs producer with its queue; one request in flight.
 *
 * Healing. After any failed request the lane throws its kafkajs producer away and takes a new one (a new
 * producer id) before it tries again. kafkajs rolls its sequence numbers back when a request fails, even
 * when the broker wrote the batch and only the answer was lost; the next, different batch then reuses
 * those numbers and the broker acknowledges it as a duplicate without writing it (and after a broker
 * restart every request may fail with OUT_OF_ORDER_SEQUENCE_NUMBER for good). A fresh producer id has no
 * history to collide with. The failed batch is sent again, same bytes and command ids, until it is
 * acknowledged or its delivery timeout passes; then each of its commands is rejected with
 * DeliveryUnknownError, since an earlier attempt may have been written.
 */
class Lane {
  queue: Pending[] = [];
  inFlight = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  /** Whether `producer` is connected and has its producer id. */
  private ready = false;

  constructor(
    public producer: Producer,
    private readonly owner: CommandProducer,
  ) {}

  get buffered(): number {
    return this.queue.length + this.inFlight;
  }

  push(pending: Pending): void {
    this.queue.push(pending);
    this.schedule();
  }

  async flush(): Promise<void> {
    this.clearTimers();
    while (this.queue.length > 0 || this.flushing) {
      if (!this.flushing) this.startFlushing();
      await this.flushing;
    }
  }

  /** Rejects the queued commands (never handed to Kafka) whose delivery timeout has passed. */
  expireQueued(now: number): void {
    // Deadlines grow along the queue (one timeout, pushed in order): the expired ones are at the front.
    let expired = 0;
    while (expired < this.queue.length && (this.queue[expired] as Pending).deadline <= now) expired++;
    if (expired === 0) return;
    const { deliveryTimeoutMs } = this.owner.options;
    for (const p of this.queue.splice(0, expired)) {
      p.reject(new ProducerUnavailableError(p.commandId, deliveryTimeoutMs + now - p.deadline));
    }
    this.owner.commandsExpired(expired);
  }

  private schedule(): void {
    if (this.flushing) return; // the running flush loop takes the queue when the broker answers
    const { lingerMs, maxBatchMessages } = this.owner.options;
    if (this.queue.length >= maxBatchMessages) {
      this.clearTimers();
      this.startFlushing();
      return;
    }
    if (this.timer || this.immediate) return;
    const go = () => {
      this.timer = undefined;
      this.immediate = undefined;
      if (!this.flushing) this.startFlushing();
    };
    if (lingerMs === 0) this.immediate = setImmediate(go);
    else this.timer = setTimeout(go, lingerMs);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private startFlushing(): void {
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      // Anything queued while the last batch was at the broker has waited long enough.
      if (this.queue.length > 0) this.startFlushing();
    });
  }

  private async flushLoop(): Promise<void> {
    const { options } = this.owner;
    for (;;) {
      this.expireQueued(Date.now());
      if (this.queue.length === 0) return;
      const batch = this.queue.splice(0, options.maxBatchMessages);
      this.inFlight = batch.length;
      try {
        await this.deliver(batch);
      } finally {
        this.inFlight = 0;
      }
    }
  }

  /** Sends `batch` until it is acknowledged, refused for its content, or out of time. */
  private async deliver(batch: readonly Pending[]): Promise<void> {
    const { options, topic } = this.owner;
    // Every command of the batch gives up at the oldest one's deadline, so none waits past its own.
    const deadline = (batch[0] as Pending).deadline;
    let handedOver = false;
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      try {
        if (!this.ready) {
          await this.producer.connect();
          this.ready = true;
        }
        handedOver = true;
        await this.producer.sendBatch({
          topicMessages: [{ topic, messages: batch.map((p) => p.message) }],
          acks: -1,
          timeout: options.ackTimeoutMs,
          compression: COMPRESSION[options.compression],
        });
        this.owner.batchSent(batch.length, performance.now() - started);
        for (const p of batch) p.resolve({ commandId: p.commandId, topic });
        return;
      } catch (error) {
        this.owner.batchFailed(batch.length, error as Error, attempt);
        if (isRefusedForContent(error)) {
          if (batch.length === 1) {
            const only = batch[0] as Pending;
            only.reject(new ProduceRefusedError(only.commandId, error));
            return;
          }
          // The broker refused some record of the request and may have written the others: each goes
          // alone, so only the refused one is reported as such (the others are at most written twice).
          for (const p of batch) await this.deliver([p]);
          return;
        }
        await this.replaceProducer(error);
        const backoff = Math.min(options.retryBackoffMaxMs, options.retryBackoffMs * 2 ** attempt);
        if (Date.now() + backoff >= deadline || this.owner.state === 'stopped') {
          for (const p of batch) {
            p.reject(
              handedOver
                ? new DeliveryUnknownError(p.commandId, error)
                : new ProducerUnavailableError(
                    p.commandId,
                    Date.now() + options.deliveryTimeoutMs - p.deadline,
                  ),
            );
          }
          return;
        }
        await sleep(backoff * (0.5 + Math.random() / 2));
      }
    }
  }

  /** Throws the failed kafkajs producer away for a new one (a new producer id, connected before use). */
  private async replaceProducer(cause: unknown): Promise<void> {
    const old = this.producer;
    this.producer = this.owner.newKafkaProducer();
    this.ready = false;
    this.owner.producerReplaced(cause);
    await old.disconnect().catch(() => {});
  }

  /** Connects the lane's producer (at start). */
  async connect(): Promise<void> {
    await this.producer.connect();
    this.ready = true;
  }
}

/** FNV-1a: a cheap, stable hash of the key to pick a lane. */
function laneOf(key: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}

/** Writes commands to Kafka in acknowledged batches. One instance per process. */
export class CommandProducer {
  readonly options: CommandProducerOptions;
  readonly topic: string;
  private readonly kafka: Kafka;
  private readonly lanes: Lane[];
  private readonly codec: MessageCodec;
  private readonly logger: Logger;
  private readonly observer: ProducerObserver;
  private currentState: ProducerState = 'idle';
  private expiry: NodeJS.Timeout | undefined;

  constructor(deps: CommandProducerDeps) {
    this.options = compileProducerOptions(deps.options);
    this.kafka = deps.kafka;
    this.codec = deps.codec;
    this.topic = deps.codec.topics.commands;
    this.logger = deps.logger.child({ component: 'command-producer' });
    this.observer = deps.observer ?? {};
    this.lanes = Array.from({ length: this.options.lanes }, () => new Lane(this.newKafkaProducer(), this));
  }

  /** A producer for the configured cluster, registry and topic prefix. */
  static fromConfig(
    config: Pick<Config, 'kafka' | 'registry'>,
    logger: Logger,
    options: Partial<CommandProducerOptions> & { autoRegister?: boolean; observer?: ProducerObserver } = {},
  ): CommandProducer {
    const { autoRegister, observer, ...producerOptions } = options;
    return new CommandProducer({
      kafka: createKafka(config, logger, `${config.kafka.clientId}-producer`),
      codec: MessageCodec.fromConfig(config, { autoRegister: autoRegister ?? false }),
      logger,
      options: producerOptions,
      ...(observer ? { observer } : {}),
    });
  }

  get state(): ProducerState {
    return this.currentState;
  }

  /** Commands queued or at the broker. */
  get buffered(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.buffered, 0);
  }

  /** Looks up every schema id and connects; throws (and leaves the state `failed`) if either fails. */
  async connect(): Promise<void> {
    if (this.currentState === 'running') return;
    this.currentState = 'starting';
    try {
      await this.codec.warmUp();
      await Promise.all(this.lanes.map((lane) => lane.connect()));
      this.currentState = 'running';
    } catch (error) {
      this.currentState = 'failed';
      throw error;
    }
    // Commands queued behind a batch that cannot get through must not wait past their delivery timeout.
    this.expiry = setInterval(() => {
      const now = Date.now();
      for (const lane of this.lanes) lane.expireQueued(now);
    }, EXPIRY_SWEEP_MS);
    this.expiry.unref();
  }

  /**
   * Sends one command and resolves when the broker acknowledged it (acks=all). A rejection says either
   * that nothing was sent (ProducerNotReadyError, ProducerOverloadedError, ProducerUnavailableError,
   * ProduceRefusedError, a codec error: `retryable` tells whether a later try may succeed) or, as
   * DeliveryUnknownError, that the command may be on the topic: re-send the same command object, and the
   * decider, which decides a command id once, tells the outcome. `outcomeOf(error)` tells the two apart.
   */
  async send(command: Command, provenance: Partial<Provenance> = {}): Promise<Acknowledgement> {
    if (this.currentState !== 'running') throw new ProducerNotReadyError(this.currentState);
    if (this.buffered >= this.options.maxBufferedMessages) throw new ProducerOverloadedError(this.buffered);
    const wire = await this.codec.encodeCommand(command, {
      source: provenance.source ?? this.options.source,
      correlationId: provenance.correlationId ?? randomUUID(),
      causationId: provenance.causationId ?? command.commandId,
    });
    const lane = this.lanes[this.lanes.length === 1 ? 0 : laneOf(wire.key, this.lanes.length)] as Lane;
    return new Promise<Acknowledgement>((resolve, reject) => {
      lane.push({
        message: { key: wire.key, value: wire.value, headers: wire.headers },
        commandId: command.commandId,
        deadline: Date.now() + this.options.deliveryTimeoutMs,
        resolve,
        reject,
      });
    });
  }

  /** Sends several commands; resolves when all are acknowledged, rejects with the first failure. */
  sendMany(commands: readonly Command[], provenance: Partial<Provenance> = {}): Promise<Acknowledgement[]> {
    return Promise.all(commands.map((c) => this.send(c, provenance)));
  }

  /** Sends what is queued now and resolves when the broker answered for all of it. */
  async flush(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.flush()));
  }

  /** Refuses new commands, sends what is queued, then disconnects. Safe to call twice. */
  async disconnect(): Promise<void> {
    if (this.currentState === 'stopped') return;
    const wasConnected = this.currentState === 'running' || this.currentState === 'draining';
    this.currentState = 'draining';
    try {
      if (wasConnected) await this.flush();
    } finally {
      clearInterval(this.expiry);
      await Promise.all(
        this.lanes.map((lane) =>
          lane.producer.disconnect().catch((error: unknown) => {
            this.logger.warn({ err: error }, 'producer disconnect failed');
          }),
        ),
      );
      this.currentState = 'stopped';
    }
  }

  /** @internal a fresh idempotent kafkajs producer (at start, and for a lane whose producer failed) */
  newKafkaProducer(): Producer {
    return this.kafka.producer({
      idempotent: true,
      // The idempotent producer's per-broker lock leaves one request in flight per broker in any case;
      // saying so keeps a retried request from ever being overtaken.
      maxInFlightRequests: 1,
      // Java-compatible murmur2: every writer of the commands topic must place a resource's commands
      // in the same partition, whatever its client library.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
  }

  /** @internal called by a lane */
  batchSent(messages: number, durationMs: number): void {
    this.observer.batchSent?.(messages, durationMs);
  }

  /** @internal called by a lane; `attempt` counts from 0 for the batch */
  batchFailed(messages: number, error: Error, attempt: number): void {
    this.logger.warn({ err: error, messages, attempt }, 'produce request failed; the batch is sent again');
    this.observer.batchFailed?.(messages, error);
  }

  /** @internal called by a lane */
  producerReplaced(cause: unknown): void {
    this.logger.warn({ err: cause }, 'replacing the kafkajs producer (a new producer id) after a failure');
    this.observer.producerReplaced?.();
  }

  /** @internal called by a lane */
  commandsExpired(count: number): void {
    this.logger.warn({ count }, 'commands waited past their delivery timeout and were not sent');
  }
}
