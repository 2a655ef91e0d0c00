/**
 * Writes dead letters of one sink: the original key, value and headers untouched, plus the dead-letter
 * headers shared with the decider (common/dead-letter.ts) and the sink's name. Written with acks from all
 * in-sync replicas before the original offset is committed, so a dead letter is never lost (it may be
 * written twice after a crash; replaying it twice is harmless because sinks are idempotent).
 */
import type { Producer } from 'kafkajs';
import { deadLetterHeaders } from '../../common/dead-letter.ts';
import { DeadLetterError } from './errors.ts';
import type { RawRecord } from './types.ts';

/** Header naming the sink that gave up on the record. */
export const DLQ_SINK_HEADER = 'dlq_sink';

/** A record to dead-letter and why. */
export interface DeadLetter {
  readonly record: RawRecord;
  readonly error: unknown;
  readonly attempts: number;
}

export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    readonly topic: string,
    private readonly sink: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes the letters; throws DeadLetterError (retryable) if Kafka does not take them. */
  async publish(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const time = this.now();
    const messages = letters.map(({ record, error, attempts }) => ({
      key: record.key,
      value: record.value,
      headers: {
        ...deadLetterHeaders(record.headers, {
          error,
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          attempts,
          time,
        }),
        [DLQ_SINK_HEADER]: this.sink,
      },
    }));
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages });
    } catch (error) {
      throw new DeadLetterError(this.topic, error);
    }
  }
}
