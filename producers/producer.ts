/**
 * The command producer: writes typed commands to `reservations.commands`, keyed by resource id, Avro with
 * CloudEvents headers (through the shared MessageCodec), with an idempotent kafkajs producer and acks=all.
 *
 * Batching. kafkajs's idempotent producer holds a lock per broker, so concurrent `send` calls leave one
 * produce request at a time anyway, each carrying one message. This class queues commands and sends them
 * with `sendBatch`: the first command of a batch waits `lingerMs`, and while a batch is at the broker the
 * next one fills up. One request in flight keeps the per-partition order of what was queued, and a command's
 * promise resolves only when the broker acknowledged it with acks=all, so a caller that answers its client
 * after `send` resolves never claims more than the broker holds.
 */
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

/** Writes commands to Kafka in acknowledged batches. One instance per process. */
export class CommandProducer {
  readonly options: CommandProducerOptions;
  readonly topic: string;
  private readonly producer: Producer;
  private readonly codec: MessageCodec;
  private readonly logger: Logger;
  private readonly observer: ProducerObserver;
  private queue: Pending[] = [];
  private inFlight = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private currentState: ProducerState = 'idle';

  constructor(deps: CommandProducerDeps) {
    this.options = compileProducerOptions(deps.options);
    this.codec = deps.codec;
    this.topic = deps.codec.topics.commands;
    this.logger = deps.logger.child({ component: 'command-producer' });
    this.observer = deps.observer ?? {};
    this.producer = deps.kafka.producer({
      idempotent: true,
      // The idempotent producer's per-broker lock leaves one request in flight per broker in any case;
      // saying so keeps a retried request from ever being overtaken.
      maxInFlightRequests: 1,
      // Java-compatible murmur2: every writer of the commands topic must place a resource's commands in the
      // same partition, whatever its client library.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
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
    return this.queue.length + this.inFlight;
  }

  /** Looks up every schema id and connects; throws (and leaves the state `failed`) if either fails. */
  async connect(): Promise<void> {
    if (this.currentState === 'running') return;
    this.currentState = 'starting';
    try {
      await this.codec.warmUp();
      await this.producer.connect();
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
    return new Promise<Acknowledgement>((resolve, reject) => {
      this.queue.push({
        message: { key: wire.key, value: wire.value, headers: wire.headers },
        commandId: command.commandId,
        resolve,
        reject,
      });
      this.schedule();
    });
  }

  /** Sends several commands; resolves when all are acknowledged, rejects with the first failure. */
  sendMany(commands: readonly Command[], provenance: Partial<Provenance> = {}): Promise<Acknowledgement[]> {
    return Promise.all(commands.map((c) => this.send(c, provenance)));
  }

  /** Sends what is queued now and resolves when the broker answered for all of it. */
  async flush(): Promise<void> {
    this.clearTimers();
    while (this.queue.length > 0 || this.flushing) {
      if (!this.flushing) this.startFlushing();
      await this.flushing;
    }
  }

  /** Refuses new commands, sends what is queued, then disconnects. Safe to call twice. */
  async disconnect(): Promise<void> {
    if (this.currentState === 'stopped') return;
    const wasConnected = this.currentState === 'running' || this.currentState === 'draining';
    this.currentState = 'draining';
    try {
      if (wasConnected) await this.flush();
    } finally {
      await this.producer.disconnect().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'producer disconnect failed');
      });
      this.currentState = 'stopped';
    }
  }

  private schedule(): void {
    if (this.flushing) return; // the running flush loop takes the queue when the broker answers
    if (this.queue.length >= this.options.maxBatchMessages) {
      this.clearTimers();
      this.startFlushing();
      return;
    }
    if (this.timer || this.immediate) return;
    if (this.options.lingerMs === 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        if (!this.flushing) this.startFlushing();
      });
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.flushing) this.startFlushing();
      }, this.options.lingerMs);
    }
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
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatchMessages);
      this.inFlight = batch.length;
      const started = performance.now();
      try {
        await this.producer.sendBatch({
          topicMessages: [{ topic: this.topic, messages: batch.map((p) => p.message) }],
          acks: -1,
          timeout: this.options.ackTimeoutMs,
          compression: COMPRESSION[this.options.compression],
        });
        this.observer.batchSent?.(batch.length, performance.now() - started);
        for (const p of batch) p.resolve({ commandId: p.commandId, topic: this.topic });
      } catch (error) {
        const converted = fromKafkaError(error);
        this.logger.error({ err: converted, messages: batch.length }, 'produce request failed');
        this.observer.batchFailed?.(batch.length, converted);
        for (const p of batch) p.reject(converted);
      } finally {
        this.inFlight = 0;
      }
    }
  }
}
