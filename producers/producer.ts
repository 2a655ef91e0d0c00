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
import { fromKafkaError, ProducerNotReadyError, ProducerOverloadedError } from './errors.ts';
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
  batchFailed?(messages: number, error: Error): void;
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
  readonly resolve: (ack: Acknowledgement) => void;
  readonly reject: (error: Error) => void;
}

const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;

/** One idempotent kafkajs producer with its queue; one request in flight. */
class Lane {
  queue: Pending[] = [];
  inFlight = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  constructor(
    readonly producer: Producer,
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
    const { options, topic } = this.owner;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, options.maxBatchMessages);
      this.inFlight = batch.length;
      const started = performance.now();
      try {
        await this.producer.sendBatch({
          topicMessages: [{ topic, messages: batch.map((p) => p.message) }],
          acks: -1,
          timeout: options.ackTimeoutMs,
          compression: COMPRESSION[options.compression],
        });
        this.owner.batchSent(batch.length, performance.now() - started);
        for (const p of batch) p.resolve({ commandId: p.commandId, topic });
      } catch (error) {
        const converted = fromKafkaError(error);
        this.owner.batchFailed(batch.length, converted);
        for (const p of batch) p.reject(converted);
      } finally {
        this.inFlight = 0;
      }
    }
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
  private readonly lanes: Lane[];
  private readonly codec: MessageCodec;
  private readonly logger: Logger;
  private readonly observer: ProducerObserver;
  private currentState: ProducerState = 'idle';

  constructor(deps: CommandProducerDeps) {
    this.options = compileProducerOptions(deps.options);
    this.codec = deps.codec;
    this.topic = deps.codec.topics.commands;
    this.logger = deps.logger.child({ component: 'command-producer' });
    this.observer = deps.observer ?? {};
    this.lanes = Array.from(
      { length: this.options.lanes },
      () =>
        new Lane(
          deps.kafka.producer({
            idempotent: true,
            // The idempotent producer's per-broker lock leaves one request in flight per broker in any case;
            // saying so keeps a retried request from ever being overtaken.
            maxInFlightRequests: 1,
            // Java-compatible murmur2: every writer of the commands topic must place a resource's commands
            // in the same partition, whatever its client library.
            createPartitioner: Partitioners.DefaultPartitioner,
            allowAutoTopicCreation: false,
          }),
          this,
        ),
    );
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
      await Promise.all(this.lanes.map((lane) => lane.producer.connect()));
      this.currentState = 'running';
    } catch (error) {
      this.currentState = 'failed';
      throw error;
    }
  }

  /**
   * Sends one command and resolves when the broker acknowledged it (acks=all). Rejects with
   * ProducerNotReadyError, ProducerOverloadedError, ProduceFailedError (`retryable` tells whether to try
   * again: re-send the same command object, so the decider recognises it by its command id) or a codec error.
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

  /** @internal called by a lane */
  batchSent(messages: number, durationMs: number): void {
    this.observer.batchSent?.(messages, durationMs);
  }

  /** @internal called by a lane */
  batchFailed(messages: number, error: Error): void {
    this.logger.error({ err: error, messages }, 'produce request failed');
    this.observer.batchFailed?.(messages, error);
  }
}
