/** kafkajs implementation of CommandSourcePort: a group member reading commands with read_committed. */
import type { Consumer, Kafka } from 'kafkajs';
import type { CommandSourceHandlers, CommandSourcePort, InboundBatch } from '../ports.ts';

export interface CommandSourceOptions {
  readonly groupId: string;
  readonly topic: string;
  /** A dead member's partitions move after this. Short, so recovery after a crash is quick. @default 6_000 */
  readonly sessionTimeoutMs?: number;
  /** @default 1_000 (a third of the session timeout or less, as Kafka advises) */
  readonly heartbeatIntervalMs?: number;
  /** @default 1_048_576 (1 MiB): bounds the batch, and so the transaction, per partition */
  readonly maxBytesPerPartition?: number;
  /** How many partitions are decided at once (each in its own transaction). @default 6 */
  readonly partitionsConsumedConcurrently?: number;
  /** Longest wait of a fetch for new data; also bounds shutdown latency. @default 100 */
  readonly maxWaitTimeMs?: number;
}

export function kafkajsCommandSource(kafka: Kafka, options: CommandSourceOptions): CommandSourcePort {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 6_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 1_000,
    rebalanceTimeout: 30_000,
    readUncommitted: false,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 100,
    allowAutoTopicCreation: false,
  });
  return {
    async start(handlers: CommandSourceHandlers) {
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        handlers.onAssignment(event.payload.memberAssignment[options.topic] ?? []);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 6,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isStale }) => {
          const inbound: InboundBatch = {
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: batch.highWatermark,
            records: batch.messages.map((m) => ({
              partition: batch.partition,
              offset: m.offset,
              key: m.key,
              value: m.value,
              headers: m.headers ?? {},
            })),
          };
          // kafkajs moves its fetch position only on resolve: resolve the whole fetched range (control
          // records included) after the transaction committed, never before.
          const lastOffset = batch.lastOffset();
          await handlers.onBatch(inbound, {
            heartbeat,
            isStale,
            resolve: () => resolveOffset(lastOffset),
            lastOffset,
          });
        },
      });
    },
    seek(partition, offset) {
      consumer.seek({ topic: options.topic, partition, offset });
    },
    stop: () => consumer.disconnect(),
  };
}
