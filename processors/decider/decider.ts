/**
 * The exactly-once decider. A consumer group reads the commands; each input partition has one owner, which
 * decides its batches serially and commits, in ONE Kafka transaction per batch, the events, the new state
 * of every touched resource (changelog, same partition number) and the consumer offset (sendOffsets).
 *
 * Failure discipline: any failure in a transaction (including a commit whose outcome is unknown) discards
 * the partition's producer and states; the partition is then initialised again exactly as on assignment —
 * initTransactions (fencing any other holder of the id and settling its open transaction), committed offset
 * read back, states restored from the changelog — so the next attempt starts from what Kafka committed.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { deadLetterHeaders } from '../../common/dead-letter.ts';
import { isRetryable, SlotstreamError } from '../../common/errors.ts';
import type { TopicNames } from '../../common/topics.ts';
import type { MessageCodec } from '../../schemas/codec.ts';
import type { Command, Event } from '../../schemas/generated/types.ts';
import { type ResourceStateJson, ResourceStore, stateToJSON } from '../core/index.ts';
import type {
  AdminPort,
  BatchControl,
  ChangelogReaderPort,
  CommandSourcePort,
  InboundBatch,
  InboundRecord,
  OutboundRecord,
  TransactionalProducerPort,
} from '../ports.ts';
import { ChangelogRestorer, changelogRecords } from './changelog.ts';
import { type DeciderMetrics, deciderMetrics } from './metrics.ts';
import { compileDeciderOptions, type DeciderOptions } from './options.ts';
import { PartitionOwner } from './partition-owner.ts';

export type DeciderState = 'starting' | 'restoring' | 'running' | 'draining' | 'stopped' | 'failed';

/** The Kafka side of the decider, behind our own ports. */
export interface DeciderPorts {
  readonly source: CommandSourcePort;
  readonly admin: AdminPort;
  readonly changelog: ChangelogReaderPort;
  readonly producerFor: (transactionalId: string) => TransactionalProducerPort;
}

/** Thrown inside a batch when the core threw for one command: the batch is retried with it dead-lettered. */
class CoreFailure extends Error {
  readonly code = 'CORE_FAILURE';
  constructor(
    readonly offset: string,
    override readonly cause: unknown,
  ) {
    super(`the decider core failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'CoreFailure';
  }
}

/** Thrown when a command's Kafka key is not its resource id: deciding it there would break per-resource order. */
export class MisroutedCommandError extends SlotstreamError {
  static readonly code = 'MALFORMED_MESSAGE';
  constructor(key: string | null, resourceId: string) {
    super('MALFORMED_MESSAGE', `record key '${key}' is not the command's resourceId '${resourceId}'`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Decider {
  readonly options: DeciderOptions;
  readonly metricsRegistry = new Registry();
  readonly metrics: DeciderMetrics;
  state: DeciderState = 'starting';

  private readonly owners = new Map<number, PartitionOwner>();
  private readonly initializing = new Map<number, Promise<void>>();
  private assigned = new Set<number>();
  private failures = 0;
  private timerLoop: NodeJS.Timeout | undefined;
  private readonly timerBusy = new Set<number>();
  /** Offsets whose command made the core throw, per partition: the retry dead-letters them. */
  private readonly poison = new Map<number, Map<string, unknown>>();

  constructor(
    private readonly ports: DeciderPorts,
    private readonly codec: MessageCodec,
    private readonly topics: TopicNames,
    private readonly logger: Logger,
    options: Partial<DeciderOptions> = {},
  ) {
    this.options = compileDeciderOptions(options);
    this.metrics = deciderMetrics(this.metricsRegistry);
    this.setState('starting');
  }

  private setState(state: DeciderState): void {
    this.state = state;
    for (const s of ['starting', 'restoring', 'running', 'draining', 'stopped', 'failed']) {
      this.metrics.state.set({ state: s }, s === state ? 1 : 0);
    }
    this.logger.info({ state }, 'decider state');
  }

  transactionalId(partition: number): string {
    return `${this.options.groupId}.${this.topics.commands}.${partition}`;
  }

  async start(): Promise<void> {
    await this.codec.warmUp();
    await this.ports.source.start({
      onAssignment: (partitions) => this.onAssignment(partitions),
      onBatch: (batch, control) => this.onBatch(batch, control),
    });
    this.timerLoop = setInterval(() => this.fireTimers(), this.options.timerIntervalMs);
    if (this.state === 'starting') this.setState('running');
  }

  /** Drains: stops fetching, lets in-flight transactions finish, leaves the group, closes producers. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'draining') return;
    this.setState('draining');
    clearInterval(this.timerLoop);
    const drain = (async () => {
      await this.ports.source.stop();
      await Promise.all([...this.owners.values()].map((o) => o.close()));
      this.owners.clear();
      await this.ports.admin.disconnect();
    })();
    const timeout = sleep(this.options.shutdownGraceMs).then(() => 'timeout' as const);
    const outcome = await Promise.race([drain.then(() => 'drained' as const), timeout]);
    if (outcome === 'timeout') {
      this.setState('failed');
      throw new Error(`decider did not drain within ${this.options.shutdownGraceMs} ms`);
    }
    this.setState('stopped');
  }

  /** The current state of a resource, if an owned partition holds it (diagnostics and tests). */
  stateOf(resourceId: string): ResourceStateJson | undefined {
    for (const owner of this.owners.values()) {
      if (owner.status === 'ready' && owner.store.has(resourceId))
        return stateToJSON(owner.store.get(resourceId));
    }
    return undefined;
  }

  /** Partitions this instance owns and has restored. */
  ownedPartitions(): number[] {
    return [...this.owners.values()].filter((o) => o.status === 'ready').map((o) => o.partition);
  }

  // --- assignment -------------------------------------------------------------------------------------

  /**
   * After every (re)join, every owned partition starts over from Kafka: a partition kept across a
   * rebalance may have been decided by another member in between, so the states held here can be stale.
   */
  private onAssignment(partitions: readonly number[]): void {
    this.assigned = new Set(partitions);
    this.logger.info({ partitions }, 'partitions assigned');
    for (const owner of this.owners.values()) void owner.close();
    this.owners.clear();
    const fresh = partitions.filter((p) => !this.initializing.has(p));
    if (fresh.length > 0) void this.initialize(fresh).catch(() => undefined);
  }

  /** Fences, reads committed offsets and restores states for `partitions`, together (one changelog pass). */
  private initialize(partitions: readonly number[]): Promise<void> {
    const run = this.doInitialize(partitions).finally(() => {
      for (const p of partitions) this.initializing.delete(p);
    });
    for (const p of partitions) this.initializing.set(p, run);
    return run;
  }

  private async doInitialize(partitions: readonly number[]): Promise<void> {
    const started = Date.now();
    if (this.state === 'running' || this.state === 'starting') this.setState('restoring');
    const owners = partitions.map(
      (p) =>
        new PartitionOwner(
          p,
          this.ports.producerFor(this.transactionalId(p)),
          new ResourceStore({ ...this.options.core, trackChanges: true }),
        ),
    );
    try {
      // initTransactions first: it fences the previous owner and settles its open transaction, so the
      // committed offsets and the changelog read below are final.
      await Promise.all(owners.map((o) => o.producer.connect()));
      const [committed, ends] = await Promise.all([
        this.ports.admin.committedOffsets(this.options.groupId, this.topics.commands),
        this.ports.admin.endOffsets(this.topics.changelog),
      ]);
      const wanted = new Map<number, string>();
      for (const p of partitions) wanted.set(p, ends.get(p) ?? '0');
      const restorers = new Map(partitions.map((p) => [p, new ChangelogRestorer()]));
      await this.ports.changelog.read(this.topics.changelog, wanted, (record: InboundRecord) => {
        restorers.get(record.partition)?.add(record.key, record.value);
      });
      for (const owner of owners) {
        const states = restorers.get(owner.partition)?.states() ?? [];
        owner.store.load(states);
        const offset = committed.get(owner.partition) ?? '-1';
        owner.nextOffset = BigInt(offset) >= 0n ? BigInt(offset) : 0n;
        if (BigInt(offset) >= 0n) this.ports.source.seek(owner.partition, offset);
        this.metrics.restoredResources.set({ partition: String(owner.partition) }, states.length);
        owner.status = 'ready';
        if (this.assigned.has(owner.partition)) {
          this.owners.get(owner.partition)?.close();
          this.owners.set(owner.partition, owner);
        } else {
          void owner.close();
        }
      }
      const seconds = (Date.now() - started) / 1000;
      this.metrics.restoreSeconds.observe(seconds);
      this.logger.info(
        {
          partitions,
          restoreMs: Date.now() - started,
          resources: owners.map((o) => ({
            partition: o.partition,
            resources: o.store.size,
            nextOffset: String(o.nextOffset),
          })),
        },
        'partitions restored from the changelog',
      );
      this.failures = 0;
      if (this.state === 'restoring' && this.initializing.size <= partitions.length) this.setState('running');
    } catch (error) {
      this.logger.error({ err: error, partitions }, 'partition initialisation failed');
      await Promise.all(owners.map((o) => o.producer.disconnect().catch(() => undefined)));
      throw error;
    }
  }

  /** The ready owner of a partition, initialising it (again) if needed, heartbeating while waiting. */
  private async ownerFor(partition: number, control: BatchControl): Promise<PartitionOwner | undefined> {
    for (;;) {
      const owner = this.owners.get(partition);
      if (owner && owner.status === 'ready') return owner;
      if (!this.assigned.has(partition) || this.state === 'draining') return undefined;
      const pending = this.initializing.get(partition) ?? this.initialize([partition]);
      try {
        await this.withHeartbeat(pending, control);
      } catch {
        await this.backoff(control);
      }
    }
  }

  private async withHeartbeat<T>(work: Promise<T>, control: BatchControl): Promise<T> {
    const beat = setInterval(
      () => void control.heartbeat().catch(() => undefined),
      this.options.heartbeatIntervalMs,
    );
    try {
      return await work;
    } finally {
      clearInterval(beat);
    }
  }

  private async backoff(control?: BatchControl): Promise<void> {
    this.failures += 1;
    const base = Math.min(this.options.retryMaxMs, this.options.retryInitialMs * 2 ** (this.failures - 1));
    const wait = base / 2 + Math.random() * (base / 2);
    await (control ? this.withHeartbeat(sleep(wait), control) : sleep(wait));
  }

  // --- batches ----------------------------------------------------------------------------------------

  private async onBatch(batch: InboundBatch, control: BatchControl): Promise<void> {
    const owner = await this.ownerFor(batch.partition, control);
    if (!owner || control.isStale()) return;
    await owner.exclusive(async () => {
      if (owner.status !== 'ready' || control.isStale()) return;
      const records = batch.records.filter((r) => BigInt(r.offset) >= owner.nextOffset);
      const nextOffset = BigInt(control.lastOffset) + 1n;
      if (records.length === 0) {
        // Everything fetched was decided before (a re-fetch after a failure), or is a transaction marker:
        // nothing to decide, so move past it.
        control.resolve();
        return;
      }
      const started = Date.now();
      try {
        const decided = await this.decideBatch(owner, batch.topic, records, nextOffset);
        owner.nextOffset = nextOffset;
        control.resolve();
        this.metrics.decisions.inc({ partition: String(owner.partition) }, decided);
        this.metrics.batchSize.observe(records.length);
        this.metrics.batchSeconds.observe((Date.now() - started) / 1000);
        this.metrics.lag.set(
          { partition: String(owner.partition) },
          Number(BigInt(batch.highWatermark) - nextOffset),
        );
        this.failures = 0;
      } catch (error) {
        await this.abandon(owner, error);
        await this.backoff(control);
      }
    });
  }

  /** Decides records of one partition and commits the result; returns how many commands were decided. */
  private async decideBatch(
    owner: PartitionOwner,
    topic: string,
    records: readonly InboundRecord[],
    nextOffset: bigint,
  ): Promise<number> {
    const now = this.options.clock();
    const ctx = { now, newId: randomUUID };
    const out: OutboundRecord[] = [];
    const touched = new Set<string>();
    const eventTypes: string[] = [];
    const deadLetterCodes: string[] = [];
    let decided = 0;
    for (const record of records) {
      const poison = this.poison.get(owner.partition)?.get(record.offset);
      if (poison !== undefined) {
        out.push(this.deadLetter(record, topic, poison, now));
        deadLetterCodes.push('CORE_FAILURE');
        continue;
      }
      let command: Command;
      let correlationId: string;
      try {
        const received = await this.codec.decodeCommand(record.value, record.headers);
        command = received.message;
        correlationId = received.attributes.correlationId;
        const key = record.key?.toString('utf8') ?? null;
        if (key !== command.resourceId) throw new MisroutedCommandError(key, command.resourceId);
      } catch (error) {
        if (isRetryable(error)) throw error;
        out.push(this.deadLetter(record, topic, error, now));
        deadLetterCodes.push((error as { code?: string }).code ?? 'UNCLASSIFIED');
        continue;
      }
      let events: Event[];
      try {
        events = owner.store.handle(command, ctx);
      } catch (error) {
        throw new CoreFailure(record.offset, error);
      }
      for (const event of events) {
        out.push(await this.eventRecord(owner.partition, event, correlationId, command.commandId));
        eventTypes.push(event.type);
        touched.add(event.resourceId);
      }
      touched.add(command.resourceId);
      decided += 1;
      if (this.logger.isLevelEnabled('debug')) {
        this.logger.debug(
          {
            partition: owner.partition,
            offset: record.offset,
            commandId: command.commandId,
            command: command.type,
            resourceId: command.resourceId,
            reservationId: 'reservationId' in command ? command.reservationId : undefined,
            events: events.map((e) => e.type),
          },
          'decided',
        );
      }
    }
    for (const event of owner.store.tick(ctx)) {
      out.push(await this.eventRecord(owner.partition, event, event.resourceId, event.causationCommandId));
      eventTypes.push(event.type);
      touched.add(event.resourceId);
    }
    for (const resourceId of touched) out.push(...this.changelogRecords(owner, resourceId));

    const tx = await owner.producer.begin();
    await tx.send(out);
    await tx.sendOffsets(this.options.groupId, this.topics.commands, owner.partition, nextOffset.toString());
    await tx.commit();
    for (const type of eventTypes) this.metrics.events.inc({ type });
    for (const code of deadLetterCodes) this.metrics.deadLetters.inc({ code });
    const poison = this.poison.get(owner.partition);
    for (const offset of poison?.keys() ?? []) if (BigInt(offset) < nextOffset) poison?.delete(offset);
    return decided;
  }

  private deadLetter(record: InboundRecord, topic: string, error: unknown, now: number): OutboundRecord {
    this.logger.warn(
      { partition: record.partition, offset: record.offset, err: error },
      'command sent to the dead-letter topic',
    );
    return {
      topic: this.topics.commandsDlq,
      partition: 0,
      key: record.key?.toString('utf8') ?? '',
      value: record.value,
      headers: deadLetterHeaders(record.headers, {
        error,
        topic,
        partition: record.partition,
        offset: record.offset,
        attempts: 1,
        time: now,
      }),
    };
  }

  private async eventRecord(
    partition: number,
    event: Event,
    correlationId: string,
    causationId: string,
  ): Promise<OutboundRecord> {
    const wire = await this.codec.encodeEvent(event, {
      source: this.options.source,
      correlationId,
      causationId,
    });
    // Same partition number as the command: events of one resource stay in order on one partition.
    return { topic: this.topics.events, partition, key: wire.key, value: wire.value, headers: wire.headers };
  }

  private changelogRecords(owner: PartitionOwner, resourceId: string): OutboundRecord[] {
    return changelogRecords(owner.store.get(resourceId), this.topics.changelog, owner.partition);
  }

  /** After a failed transaction: drop the producer and states; the next batch initialises the partition again. */
  private async abandon(owner: PartitionOwner, error: unknown): Promise<void> {
    this.metrics.transactionFailures.inc();
    if (error instanceof CoreFailure) {
      const poison = this.poison.get(owner.partition) ?? new Map<string, unknown>();
      poison.set(error.offset, error);
      this.poison.set(owner.partition, poison);
      this.logger.error(
        { partition: owner.partition, offset: error.offset, err: error.cause },
        'core failure',
      );
    } else {
      this.logger.warn(
        { partition: owner.partition, err: error },
        'transaction failed; replacing the producer',
      );
    }
    owner.status = 'closed';
    if (this.owners.get(owner.partition) === owner) this.owners.delete(owner.partition);
    await owner.producer.disconnect().catch(() => undefined);
  }

  // --- timers -----------------------------------------------------------------------------------------

  /** Fires due timers of owned partitions that have no batch running, each in a transaction of its own. */
  private fireTimers(): void {
    const now = this.options.clock();
    for (const owner of this.owners.values()) {
      const due = owner.store.nextWakeUpAt();
      if (owner.status !== 'ready' || due === null || due > now || this.timerBusy.has(owner.partition))
        continue;
      this.timerBusy.add(owner.partition);
      void owner
        .exclusive(() => this.commitTimers(owner))
        .finally(() => this.timerBusy.delete(owner.partition));
    }
  }

  private async commitTimers(owner: PartitionOwner): Promise<void> {
    if (owner.status !== 'ready') return;
    const ctx = { now: this.options.clock(), newId: randomUUID };
    try {
      const events = owner.store.tick(ctx);
      if (events.length === 0) return;
      const out: OutboundRecord[] = [];
      const touched = new Set<string>();
      for (const event of events) {
        out.push(await this.eventRecord(owner.partition, event, event.resourceId, event.causationCommandId));
        touched.add(event.resourceId);
      }
      for (const resourceId of touched) out.push(...this.changelogRecords(owner, resourceId));
      const tx = await owner.producer.begin();
      await tx.send(out);
      await tx.commit();
      for (const event of events) this.metrics.events.inc({ type: event.type });
    } catch (error) {
      await this.abandon(owner, error);
      // The next batch or assignment re-initialises; timers of an idle partition need a nudge.
      if (this.assigned.has(owner.partition)) {
        await this.backoff();
        if (!this.owners.has(owner.partition) && !this.initializing.has(owner.partition)) {
          void this.initialize([owner.partition]).catch(() => undefined);
        }
      }
    }
  }
}
