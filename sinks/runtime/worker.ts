/**
 * The sink worker: one consumer group per sink on the events topic, read_committed, batches decoded through
 * the project's codec and handed to the sink; offsets resolved and committed only once the sink has applied
 * (or dead-lettered) every record before them.
 *
 * Failures, by the error's `retryable` flag:
 * - not retryable (a record the sink refuses, bytes that do not decode): the record goes to the sink's
 *   dead-letter topic with the reason and the partition moves on;
 * - retryable (the target is down, the registry is unreachable, the dead-letter write failed): the
 *   partition is paused, not the worker, and its batch is fetched again after an exponential backoff with
 *   jitter; after `maxAttempts` attempts its records are dead-lettered (SINK_RETRIES_EXHAUSTED), so no
 *   partition is blocked forever.
 *
 * Lifecycle: starting → running → draining → stopped; failed when the sink cannot start (its target is
 * missing) or the drain outlives its grace period. Kafka being away is not a failure: the worker waits for
 * it in `starting`, at start and after a consumer crash that kafkajs does not recover from by itself.
 */
import type { Admin, Batch, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { createKafka } from '../../common/kafka.ts';
import { type MetricsServer, startMetricsServer } from '../../common/metrics-server.ts';
import { topicNames } from '../../common/topics.ts';
import { MessageCodec } from '../../schemas/codec.ts';
import { backoffMs } from './backoff.ts';
import { BatchCoalescer } from './coalescer.ts';
import { type DeadLetter, DeadLetterPublisher } from './dead-letter.ts';
import { describe, RetriesExhaustedError } from './errors.ts';
import { SinkMetrics } from './metrics.ts';
import { compileOptions, optionsFromEnv, type SinkRuntimeOptions } from './options.ts';
import type { RawRecord, Sink, SinkEvent, SinkState } from './types.ts';

export interface SinkWorkerParams {
  readonly config: Config;
  readonly sink: Sink;
  readonly logger: Logger;
  /** Overrides on top of the defaults, the sink's defaults and the environment. */
  readonly options?: Partial<SinkRuntimeOptions>;
  /** The sink's own defaults (e.g. a longer fetch wait for bigger ClickHouse inserts). */
  readonly sinkDefaults?: Partial<SinkRuntimeOptions>;
  /** Where SINK_* settings are read from. @default process.env */
  readonly env?: Record<string, string | undefined>;
}

/** Backoff of the worker's reconnection to Kafka: from half a second up to ten. */
const RECONNECT_BACKOFF = { initialRetryMs: 500, maxRetryMs: 10_000, retryFactor: 2 } as const;

interface RetryState {
  readonly offset: string;
  readonly attempts: number;
  readonly timer: NodeJS.Timeout;
}

/** Runs one sink. Create with `new SinkWorker(...)` and `start()`, or with `startSinkWorker(...)`. */
export class SinkWorker {
  readonly name: string;
  readonly options: SinkRuntimeOptions;
  readonly groupId: string;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly metrics: SinkMetrics;
  private currentState: SinkState = 'starting';
  private readonly logger: Logger;
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly codec: MessageCodec;
  private readonly deadLetters: DeadLetterPublisher;
  private readonly coalescer: BatchCoalescer;
  private readonly retries = new Map<number, RetryState>();
  private readonly paused = new Set<number>();
  private server: MetricsServer | undefined;
  private stopping: Promise<void> | undefined;
  private readonly stateListeners = new Set<(state: SinkState) => void>();

  constructor(private readonly params: SinkWorkerParams) {
    const { config, sink } = params;
    this.name = sink.name;
    this.options = compileOptions(
      sink.runtimeDefaults,
      params.sinkDefaults,
      optionsFromEnv(params.env ?? process.env),
      params.options,
    );
    const topics = topicNames(config.kafka.topicPrefix);
    this.topic = topics.events;
    const dlq = (topics.sinkDlq as Record<string, string | undefined>)[sink.name];
    this.deadLetterTopic = dlq ?? `${config.kafka.topicPrefix}reservations.events.dlq.${sink.name}`;
    this.groupId = this.options.groupId ?? `${config.kafka.topicPrefix}slotstream-sink-${sink.name}`;
    this.logger = params.logger.child({ component: 'sink', sink: sink.name });
    this.kafka = createKafka(config, this.logger, `${config.kafka.clientId}-sink-${sink.name}`);
    this.consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.max(1_000, Math.floor(this.options.sessionTimeoutMs / 10)),
      maxBytesPerPartition: this.options.maxBytesPerPartition,
      maxBytes: this.options.maxBytesPerPartition * this.options.concurrentPartitions,
      minBytes: this.options.fetchMinBytes,
      maxWaitTimeInMs: this.options.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
    });
    // Not idempotent: a dead letter written twice after a retry is harmless, and bounded retries keep a broker
    // outage from hanging the batch (an idempotent producer would retry forever to keep its guarantee).
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    this.admin = this.kafka.admin();
    this.codec = MessageCodec.fromConfig(config);
    this.deadLetters = new DeadLetterPublisher(this.producer, this.deadLetterTopic, sink.name);
    this.metrics = new SinkMetrics(sink.name, () => this.lag(), this.topic, sink.stats);
    this.coalescer = new BatchCoalescer(sink, this.options.maxBatchEvents, (stats) => {
      this.metrics.batchEvents.observe(stats.events);
      this.metrics.flushSeconds.observe(stats.durationMs / 1000);
    });
  }

  get state(): SinkState {
    return this.currentState;
  }

  /** The port of the /metrics listener, if one was asked for. */
  get metricsPort(): number | undefined {
    return this.server?.port;
  }

  /** Calls `listener` on every state change (the entry point exits on `failed`). */
  onStateChange(listener: (state: SinkState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(state: SinkState): void {
    if (this.currentState === state) return;
    this.logger.info({ from: this.currentState, to: state }, 'sink state');
    this.currentState = state;
    this.metrics.setState(state);
    for (const listener of this.stateListeners) listener(state);
  }

  async start(): Promise<void> {
    try {
      if (this.options.metricsPort !== null) {
        this.server = await startMetricsServer(this.metrics.registry, {
          host: this.options.metricsHost,
          port: this.options.metricsPort,
          health: () => ({ state: this.currentState, healthy: this.currentState === 'running' }),
        });
      }
      await this.params.sink.start?.();
    } catch (error) {
      this.logger.error({ err: error }, 'sink failed to start');
      this.setState('failed');
      await this.release();
      throw error;
    }
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      // kafkajs restarts the consumer itself after a retriable error; after any other one (the group
      // coordinator not found while the broker restarts, …) the worker connects again, with backoff.
      if (!payload.restart && this.currentState === 'running') void this.reconnect();
    });
    // A batch of only transaction markers or aborted records never reaches eachBatch: kafkajs resolves it
    // itself but, with autoCommit off, does not commit it. Commit it here, or the lag would never reach 0.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || this.currentState !== 'running') return;
      const offset = (BigInt(payload.lastOffset) + 1n).toString();
      this.consumer
        .commitOffsets([{ topic: payload.topic, partition: payload.partition, offset }])
        .catch((error: unknown) => this.logger.debug({ err: error }, 'commit after markers failed'));
    });
    await this.connectUntilRunning();
  }

  /**
   * Connects to Kafka and runs the consumer; while Kafka cannot be reached (a broker restarting, not up
   * yet) it tries again with backoff, in state `starting`, until it runs or the worker is stopped.
   */
  private async connectUntilRunning(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await Promise.all([this.producer.connect(), this.admin.connect(), this.consumer.connect()]);
        // A new group reads the whole topic: replaying every event into an empty target rebuilds it.
        await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
        await this.consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.options.concurrentPartitions,
          eachBatch: (payload) => this.handle(payload),
        });
        if (!this.stopping) this.setState('running');
        return;
      } catch (error) {
        const waitMs = backoffMs(attempt, RECONNECT_BACKOFF);
        this.logger.warn({ err: error, attempt, retryInMs: waitMs }, 'cannot reach Kafka; trying again');
        await this.consumer.disconnect().catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** After a crash kafkajs does not recover from: drop the partitions' retries and connect again. */
  private async reconnect(): Promise<void> {
    this.setState('starting');
    this.metrics.consumerRestarts.inc();
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    this.paused.clear();
    this.metrics.pausedPartitions.set(0);
    await this.consumer.disconnect().catch(() => {});
    await this.connectUntilRunning();
  }

  /** Drains: in-flight batches finish and are committed, nothing new is taken, connections close. */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    if (this.currentState === 'stopped' || this.currentState === 'failed') return;
    this.setState('draining');
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    this.paused.clear();
    this.metrics.pausedPartitions.set(0);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.shutdownGraceMs);
    });
    const outcome = await Promise.race([this.consumer.stop().then(() => 'drained' as const), timedOut]);
    clearTimeout(timer);
    await this.release();
    if (outcome === 'timeout') {
      this.logger.error({ graceMs: this.options.shutdownGraceMs }, 'drain outlived its grace period');
      this.setState('failed');
    } else {
      this.setState('stopped');
    }
  }

  private async release(): Promise<void> {
    const quietly = async (step: () => Promise<unknown> | undefined) => {
      try {
        await step();
      } catch (error) {
        this.logger.warn({ err: error }, 'error while closing');
      }
    };
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
    await quietly(() => this.consumer.disconnect());
    await quietly(() => this.producer.disconnect());
    await quietly(() => this.admin.disconnect());
    await quietly(() => this.params.sink.close?.());
    await quietly(() => this.server?.close());
  }

  /** Records of each partition that the group has not committed yet (end offset minus committed offset). */
  async lag(): Promise<Map<number, number>> {
    const [committed, ends] = await Promise.all([
      this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
      this.admin.fetchTopicOffsets(this.topic),
    ]);
    const byPartition = new Map(
      (committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)] as const),
    );
    const lag = new Map<number, number>();
    for (const end of ends) {
      const done = byPartition.get(end.partition) ?? -1;
      const from = done >= 0 ? done : Number(end.low);
      lag.set(end.partition, Math.max(0, Number(end.high) - from));
    }
    return lag;
  }

  private async handle(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    this.coalescer.enter();
    let submitted = false;
    try {
      if (!payload.isRunning() || payload.isStale() || this.currentState !== 'running') return;
      const decoded = await this.decode(batch);
      if ('retry' in decoded) return this.retry(payload, decoded.retry);
      submitted = true;
      const outcome = await this.coalescer.submit(decoded.events);
      if (!outcome.ok) return this.retry(payload, outcome.error);
      const letters: DeadLetter[] = [
        ...decoded.undecodable,
        ...outcome.refused.map(({ event, error }) => ({ record: event.record, error, attempts: 1 })),
      ];
      await this.finish(payload, letters, decoded.events.length - outcome.refused.length);
    } catch (error) {
      // Anything unexpected here (a dead-letter write, a commit) leaves the batch unresolved: retry it.
      await this.retry(payload, error);
    } finally {
      if (!submitted) this.coalescer.leave();
    }
  }

  private async decode(
    batch: Batch,
  ): Promise<{ events: SinkEvent[]; undecodable: DeadLetter[] } | { retry: unknown }> {
    const events: SinkEvent[] = [];
    const undecodable: DeadLetter[] = [];
    for (const [i, message] of batch.messages.entries()) {
      // Yield now and then: decoding is CPU work, and the sink's write of the previous flush (network I/O)
      // progresses only between macrotasks. This overlaps decoding with the target's work.
      if (i > 0 && i % 1_000 === 0) await new Promise((resolve) => setImmediate(resolve));
      const record = rawRecord(batch, message);
      try {
        const { message: event, attributes } = await this.codec.decodeEvent(message.value, message.headers);
        events.push({ event, attributes, record });
      } catch (error) {
        if (describe(error).retryable) return { retry: error };
        undecodable.push({ record, error, attempts: 1 });
      }
    }
    return { events, undecodable };
  }

  /** Dead-letters what must be, then resolves and commits the whole batch. */
  private async finish(payload: EachBatchPayload, letters: readonly DeadLetter[], applied: number) {
    const { batch } = payload;
    await this.deadLetters.publish(letters);
    for (const letter of letters) {
      const { code } = describe(letter.error);
      this.metrics.deadLettered(code);
      this.logger.warn(
        { partition: letter.record.partition, offset: letter.record.offset, code, err: letter.error },
        'dead-lettered a record',
      );
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) payload.resolveOffset(last.offset);
    await payload.commitOffsetsIfNecessary(payload.uncommittedOffsets());
    this.metrics.applied(applied);
    this.retries.delete(batch.partition);
    await payload.heartbeat();
  }

  /** Pauses the partition and schedules the next attempt, or dead-letters the batch once attempts run out. */
  private async retry(payload: EachBatchPayload, error: unknown): Promise<void> {
    const { batch } = payload;
    const firstOffset = batch.firstOffset() ?? '';
    const previous = this.retries.get(batch.partition);
    const attempts = (previous?.offset === firstOffset ? previous.attempts : 0) + 1;
    const { code, message } = describe(error);
    if (this.options.maxAttempts > 0 && attempts >= this.options.maxAttempts) {
      this.logger.error({ partition: batch.partition, attempts, code, message }, 'retries exhausted');
      const exhausted = new RetriesExhaustedError(attempts, error);
      const letters = batch.messages.map((m) => ({
        record: rawRecord(batch, m),
        error: exhausted,
        attempts,
      }));
      try {
        return await this.finish(payload, letters, 0);
      } catch (deadLetterError) {
        error = deadLetterError; // the dead-letter topic is unreachable too: keep retrying
      }
    }
    if (this.currentState !== 'running') return;
    const delayMs = backoffMs(attempts, this.options);
    this.metrics.retries.inc({ code: describe(error).code });
    this.logger.warn(
      { partition: batch.partition, offset: firstOffset, attempts, delayMs, code, message },
      'batch failed with a retryable error; partition paused',
    );
    clearTimeout(previous?.timer);
    const resume = payload.pause();
    const timer = setTimeout(() => {
      this.paused.delete(batch.partition);
      this.metrics.pausedPartitions.set(this.paused.size);
      if (this.retries.get(batch.partition)?.timer === timer && this.currentState === 'running') resume();
    }, delayMs);
    this.retries.set(batch.partition, { offset: firstOffset, attempts, timer });
    this.paused.add(batch.partition);
    this.metrics.pausedPartitions.set(this.paused.size);
  }
}

function rawRecord(batch: Batch, message: KafkaMessage): RawRecord {
  return {
    topic: batch.topic,
    partition: batch.partition,
    offset: message.offset,
    timestamp: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers: message.headers ?? {},
  };
}

/** Creates and starts a worker; resolves once it is running. */
export async function startSinkWorker(params: SinkWorkerParams): Promise<SinkWorker> {
  const worker = new SinkWorker(params);
  await worker.start();
  return worker;
}
