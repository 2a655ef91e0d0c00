/**
 * kafkajs implementation of ChangelogReaderPort. kafkajs has no manual partition assignment, so a restore
 * joins a throwaway consumer group of its own (one member: it gets every partition), pauses the partitions
 * it does not need, and reads the others from the beginning to the given end offsets with read_committed.
 * Progress counts the offsets of filtered records too (transaction markers, aborted records), so a
 * partition that ends in a commit marker is recognised as done.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { ChangelogReaderPort, InboundRecord } from '../ports.ts';

export interface ChangelogReaderOptions {
  /** Give up when a restore makes no progress for this long. @default 60_000 */
  readonly stallTimeoutMs?: number;
  /** Prefix of the throwaway group ids (they are never committed to). @default 'slotstream-restore' */
  readonly groupPrefix?: string;
}

export function kafkajsChangelogReader(
  kafka: Kafka,
  options: ChangelogReaderOptions = {},
): ChangelogReaderPort {
  return {
    async read(topic, endOffsets, onRecord) {
      const remaining = new Map<number, bigint>();
      for (const [partition, end] of endOffsets) if (BigInt(end) > 0n) remaining.set(partition, BigInt(end));
      if (remaining.size === 0) return;

      const consumer = kafka.consumer({
        groupId: `${options.groupPrefix ?? 'slotstream-restore'}-${randomUUID()}`,
        readUncommitted: false,
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        maxWaitTimeInMs: 50,
        maxBytesPerPartition: 8 * 1_048_576,
        allowAutoTopicCreation: false,
      });
      let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
      const done = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      let lastProgress = Date.now();
      const advance = (partition: number, lastOffset: string) => {
        const end = remaining.get(partition);
        if (end === undefined) return;
        lastProgress = Date.now();
        if (BigInt(lastOffset) + 1n >= end) {
          remaining.delete(partition);
          if (remaining.size === 0) settle?.resolve();
        }
      };
      const stall = setInterval(() => {
        if (Date.now() - lastProgress > (options.stallTimeoutMs ?? 60_000)) {
          settle?.reject(
            new Error(`changelog restore of ${topic} stalled; partitions left: ${[...remaining.keys()]}`),
          );
        }
      }, 1_000);
      // Batches made only of filtered records (markers, aborted data) reach us only through this event.
      consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
        if (event.payload.topic === topic) advance(event.payload.partition, event.payload.lastOffset);
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch, pause }) => {
            const end = remaining.get(batch.partition);
            if (end === undefined) {
              pause();
              return;
            }
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              const record: InboundRecord = {
                partition: batch.partition,
                offset: m.offset,
                key: m.key,
                value: m.value,
                headers: m.headers ?? {},
              };
              onRecord(record);
            }
          },
        });
        await done;
      } finally {
        clearInterval(stall);
        await consumer.disconnect();
      }
    },
  };
}
