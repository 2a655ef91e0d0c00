/** The contract between the shared sink runtime and one sink. */
import type { IHeaders } from 'kafkajs';
import type { CloudEventAttributes } from '../../schemas/cloudevents.ts';
import type { Event } from '../../schemas/generated/types.ts';
import type { SinkRuntimeOptions } from './options.ts';

/** Where a record came from in Kafka. */
export interface KafkaCoordinates {
  readonly topic: string;
  readonly partition: number;
  /** The record's offset, as kafkajs gives it (a decimal string). */
  readonly offset: string;
  /** The record's Kafka timestamp, epoch ms. */
  readonly timestamp: number;
}

/** The raw record as it was read, kept so a dead letter carries the original bytes and headers. */
export interface RawRecord extends KafkaCoordinates {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
}

/** A decoded event with its CloudEvents attributes and Kafka coordinates. */
export interface SinkEvent {
  readonly event: Event;
  readonly attributes: CloudEventAttributes;
  readonly record: RawRecord;
}

/**
 * A sink: something that applies batches of events to an outside system. It must be idempotent (the
 * runtime delivers at least once) and must convert the errors of its driver into SlotstreamErrors with
 * the right `retryable` flag where they enter (see ./errors.ts); anything else is treated as retryable
 * until the attempts run out.
 */
export interface Sink {
  /** The sink's name: its consumer group is `slotstream-sink-<name>` and its dead letters go to `sinkDlq[name]`. */
  readonly name: string;
  /**
   * Runtime settings this sink prefers over the runtime's defaults (e.g. bigger, rarer batches); the
   * environment and the caller still override them.
   */
  readonly runtimeDefaults?: Partial<SinkRuntimeOptions>;
  /** Connects, checks the target's schema; called once before the first batch. */
  start?(): Promise<void>;
  /**
   * Applies the events (from one or more partitions, each partition's events in offset order). Resolves
   * when they are durable in the target; rejects if none or only some of them are (all are retried).
   */
  handleBatch(events: readonly SinkEvent[]): Promise<void>;
  /** Releases connections; called once after the last batch. */
  close?(): Promise<void>;
  /**
   * Counts the sink keeps of what it did (charges, declines, mails sent…), only ever growing; the runtime
   * exports them as `slotstream_sink_actions_total{action}`.
   */
  readonly stats?: Readonly<Record<string, number>>;
}

/** The lifecycle of a sink worker. */
export type SinkState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';
export const SINK_STATES = [
  'starting',
  'running',
  'draining',
  'stopped',
  'failed',
] as const satisfies readonly SinkState[];
