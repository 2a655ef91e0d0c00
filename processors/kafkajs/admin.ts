/** kafkajs implementation of AdminPort. */
import type { Kafka } from 'kafkajs';
import type { AdminPort } from '../ports.ts';

export async function kafkajsAdmin(kafka: Kafka): Promise<AdminPort> {
  const admin = kafka.admin();
  await admin.connect();
  return {
    async endOffsets(topic) {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, o.high]));
    },
    async committedOffsets(groupId, topic) {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
    },
    disconnect: () => admin.disconnect(),
  };
}
