import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../common/kafka.ts';
import { eventually, testConfig, testLogger, uniqueName } from '../../helpers.ts';

describe('kafka smoke', () => {
  const config = testConfig();
  let kafka: Kafka;
  let admin: Admin;
  const input = uniqueName('smoke-in');
  const output = uniqueName('smoke-out');

  beforeAll(async () => {
    kafka = createKafka(config, testLogger, 'smoke');
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: 1 },
        { topic: output, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('commits a transaction with sendOffsets that a read_committed consumer sees, and hides an aborted one', async () => {
    const group = uniqueName('smoke-group');
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic: input, messages: [{ key: 'r1', value: 'command-1' }] });
    await plain.disconnect();

    const producer = kafka.producer({
      transactionalId: uniqueName('smoke-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    // Aborted: must never be visible to read_committed.
    const aborted = await producer.transaction();
    await aborted.send({ topic: output, messages: [{ key: 'r1', value: 'aborted' }] });
    await aborted.abort();
    // Committed together with the input offset.
    const tx = await producer.transaction();
    await tx.send({ topic: output, messages: [{ key: 'r1', value: 'decided-1' }] });
    await tx.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '1' }] }],
    });
    await tx.commit();
    await producer.disconnect();

    const offsets = await admin.fetchOffsets({ groupId: group, topics: [input] });
    expect(offsets[0]?.partitions[0]?.offset).toBe('1');

    const consumer = kafka.consumer({ groupId: uniqueName('smoke-reader'), readUncommitted: false });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: output, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
    await eventually(async () => (seen.length >= 1 ? true : undefined), { what: 'the committed record' });
    // Give an aborted record the chance to show up if read_committed were broken.
    await new Promise((r) => setTimeout(r, 500));
    await consumer.disconnect();
    expect(seen).toEqual(['decided-1']);
  });
});
