/** kafkajs implementation of TransactionalProducerPort. */
import type { Kafka, Producer } from 'kafkajs';
import type { OutboundRecord, TransactionalProducerPort, TransactionPort } from '../ports.ts';

export interface TransactionalProducerOptions {
  /** Broker-side transaction timeout: an abandoned transaction is aborted after this. @default 30_000 */
  readonly transactionTimeoutMs?: number;
  /** Records are sent in requests of at most about this size (below the broker's max.message.bytes). @default 524_288 */
  readonly maxRequestBytes?: number;
}

function sizeOf(record: OutboundRecord): number {
  let size = 64 + Buffer.byteLength(record.key) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) size += name.length + value.length;
  return size;
}

function* chunksOf(records: readonly OutboundRecord[], maxBytes: number): Generator<OutboundRecord[]> {
  let chunk: OutboundRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = sizeOf(record);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

function groupByTopic(records: readonly OutboundRecord[]) {
  const byTopic = new Map<string, OutboundRecord[]>();
  for (const r of records) {
    const list = byTopic.get(r.topic);
    if (list) list.push(r);
    else byTopic.set(r.topic, [r]);
  }
  return [...byTopic].map(([topic, list]) => ({
    topic,
    messages: list.map((r) => ({
      key: r.key,
      value: r.value,
      partition: r.partition,
      ...(r.headers ? { headers: r.headers } : {}),
    })),
  }));
}

export function kafkajsTransactionalProducer(
  kafka: Kafka,
  transactionalId: string,
  options: TransactionalProducerOptions = {},
): TransactionalProducerPort {
  const producer: Producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: options.transactionTimeoutMs ?? 30_000,
  });
  return {
    transactionalId,
    async connect() {
      await producer.connect();
      // kafkajs's connect initialises only the idempotent side (without the transactional id), which fences
      // nobody. Its first transaction() runs InitProducerId with the transactional id: that fences every older
      // producer and completes or aborts its open transaction. An empty abort sends nothing to the broker.
      const first = await producer.transaction();
      await first.abort();
    },
    async begin(): Promise<TransactionPort> {
      const tx = await producer.transaction();
      return {
        async send(records: readonly OutboundRecord[]) {
          // The broker refuses a record batch over max.message.bytes, and kafkajs puts everything for one
          // partition of one request into one batch: send in chunks, all inside the same transaction.
          for (const chunk of chunksOf(records, options.maxRequestBytes ?? 512 * 1024)) {
            await tx.sendBatch({ topicMessages: groupByTopic(chunk) });
          }
        },
        sendOffsets: (groupId, topic, partition, nextOffset) =>
          tx.sendOffsets({
            consumerGroupId: groupId,
            topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }],
          }),
        commit: () => tx.commit(),
        abort: () => tx.abort(),
      };
    },
    disconnect: () => producer.disconnect(),
  };
}
