import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../common/kafka.ts';
import { ensureTopics, topicSpecs } from '../../../common/topics.ts';
import { CommandBuilder } from '../../../producers/commands.ts';
import { CommandProducer } from '../../../producers/producer.ts';
import { MessageCodec } from '../../../schemas/codec.ts';
import type { Command } from '../../../schemas/generated/types.ts';
import { eventually, testConfig, testLogger, uniqueName } from '../../helpers.ts';

const config = testConfig();
const kafka = createKafka(config, testLogger);
const admin = kafka.admin();
const builder = new CommandBuilder();

describe('CommandProducer against the real broker and registry', () => {
  let producer: CommandProducer;

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, topicSpecs(config));
    producer = CommandProducer.fromConfig(config, testLogger, { autoRegister: true, lingerMs: 2 });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await admin.disconnect();
  });

  it('writes decodable commands keyed by resource id, all of one resource in one partition', async () => {
    const resources = ['room-a', 'room-b', 'room-c'];
    const commands: Command[] = [];
    for (let i = 0; i < 60; i++) {
      const resourceId = resources[i % resources.length] as string;
      commands.push(
        i % 10 === 0
          ? builder.upsertResource({
              resourceId,
              actorId: 'admin',
              name: resourceId,
              capacity: 5,
              unitPrice: { amountMinor: 1000, currency: 'EUR' },
            })
          : builder.requestReservation({
              resourceId,
              customer: { id: `c${i}`, fullName: 'Ada', email: 'ada@example.com' },
              start: 1_000 * i,
              end: 1_000 * i + 500,
              quantity: 1,
              idempotencyKey: `k${i}`,
            }),
      );
    }
    await producer.sendMany(commands, { correlationId: 'corr-1' });

    const codec = MessageCodec.fromConfig(config);
    const consumer = kafka.consumer({ groupId: uniqueName('producer-test') });
    const received: { partition: number; key: string; command: Command; correlationId: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: producer.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const decoded = await codec.decodeCommand(message.value, message.headers);
        received.push({
          partition,
          key: message.key?.toString() ?? '',
          command: decoded.message,
          correlationId: decoded.attributes.correlationId,
        });
      },
    });
    try {
      await eventually(async () => (received.length >= commands.length ? true : undefined), {
        what: 'all commands consumed',
      });
    } finally {
      await consumer.disconnect();
    }
    expect(received.map((r) => r.command).sort((a, b) => a.commandId.localeCompare(b.commandId))).toEqual(
      [...commands].sort((a, b) => a.commandId.localeCompare(b.commandId)),
    );
    for (const resource of resources) {
      const mine = received.filter((r) => r.key === resource);
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      // Order per resource is the order of sending.
      expect(mine.map((r) => r.command.commandId)).toEqual(
        commands.filter((c) => c.resourceId === resource).map((c) => c.commandId),
      );
    }
    expect(received.every((r) => r.correlationId === 'corr-1')).toBe(true);
  });
});
