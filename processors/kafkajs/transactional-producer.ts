/** kafkajs implementation of TransactionalProducerPort. */
import type { Kafka, Producer } from 'kafkajs';
import type { OutboundRecord, TransactionalProducerPort, TransactionPort } from '../ports.ts';

export interface TransactionalProducerOptions {
  /** Broker-side transaction timeout: an abandoned transaction is aborted after this. @default 30_000 */
  readonly transactionTimeoutMs?: number;
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
    // kafkajs runs InitProducerId for the transactional id on connect: this fences older producers.
    connect: () => producer.connect(),
    async begin(): Promise<TransactionPort> {
      const tx = await producer.transaction();
      return {
        async send(records: readonly OutboundRecord[]) {
          if (records.length === 0) return;
          const byTopic = new Map<string, OutboundRecord[]>();
          for (const r of records) {
            const list = byTopic.get(r.topic);
            if (list) list.push(r);
            else byTopic.set(r.topic, [r]);
          }
          await tx.sendBatch({
            topicMessages: [...byTopic].map(([topic, list]) => ({
              topic,
              messages: list.map((r) => ({
                key: r.key,
                value: r.value,
                partition: r.partition,
                ...(r.headers ? { headers: r.headers } : {}),
              })),
            })),
          });
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
