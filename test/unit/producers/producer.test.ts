import type { Kafka, ProducerBatch } from 'kafkajs';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

const { KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;

import { CommandBuilder } from '../../../producers/commands.ts';
import {
  ProduceFailedError,
  ProducerNotReadyError,
  ProducerOverloadedError,
} from '../../../producers/errors.ts';
import { CommandProducer } from '../../../producers/producer.ts';
import type { MessageCodec } from '../../../schemas/codec.ts';
import type { Command } from '../../../schemas/generated/types.ts';

const logger = pino({ level: 'silent' });
const builder = new CommandBuilder();

function fakes(behaviour: { fail?: (call: number) => Error | undefined; delayMs?: number } = {}) {
  const batches: ProducerBatch[] = [];
  const producerOptions: unknown[] = [];
  let connected = false;
  const kafka = {
    producer: (options: unknown) => {
      producerOptions.push(options);
      return {
        connect: async () => {
          connected = true;
        },
        disconnect: async () => {
          connected = false;
        },
        sendBatch: async (batch: ProducerBatch) => {
          batches.push(batch);
          if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
          const error = behaviour.fail?.(batches.length);
          if (error) throw error;
          return [];
        },
      };
    },
  } as unknown as Kafka;
  const codec = {
    topics: { commands: 't.reservations.commands' },
    warmUp: async () => {},
    encodeCommand: async (command: Command, provenance: { source: string }) => ({
      key: command.resourceId,
      value: Buffer.from(command.commandId),
      headers: { ce_id: command.commandId, ce_source: provenance.source },
    }),
  } as unknown as MessageCodec;
  return { kafka, codec, batches, producerOptions, isConnected: () => connected };
}

const request = (resourceId = 'room-1') =>
  builder.requestReservation({
    resourceId,
    customer: { id: 'c1', fullName: 'Ada', email: 'ada@example.com' },
    start: 1,
    end: 2,
    quantity: 1,
  });

describe('CommandProducer', () => {
  it('configures an idempotent producer with the Java-compatible partitioner and one request in flight', () => {
    const f = fakes();
    new CommandProducer({ kafka: f.kafka, codec: f.codec, logger });
    expect(f.producerOptions[0]).toMatchObject({ idempotent: true, maxInFlightRequests: 1 });
  });

  it('refuses to send before connect and after disconnect', async () => {
    const f = fakes();
    const producer = new CommandProducer({ kafka: f.kafka, codec: f.codec, logger });
    await expect(producer.send(request())).rejects.toBeInstanceOf(ProducerNotReadyError);
    await producer.connect();
    await producer.disconnect();
    await expect(producer.send(request())).rejects.toBeInstanceOf(ProducerNotReadyError);
    expect(f.isConnected()).toBe(false);
  });

  it('sends commands queued together in one acks=all request, keyed by resource id', async () => {
    const f = fakes();
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lingerMs: 5, lanes: 1 },
    });
    await producer.connect();
    const commands = [request('a'), request('b'), request('a')];
    const acks = await producer.sendMany(commands);
    expect(acks.map((a) => a.commandId)).toEqual(commands.map((c) => c.commandId));
    expect(f.batches).toHaveLength(1);
    const batch = f.batches[0];
    expect(batch?.acks).toBe(-1);
    expect(batch?.topicMessages?.[0]?.topic).toBe('t.reservations.commands');
    expect(batch?.topicMessages?.[0]?.messages.map((m) => m.key)).toEqual(['a', 'b', 'a']);
    expect(batch?.topicMessages?.[0]?.messages[0]?.headers).toMatchObject({
      ce_source: '/slotstream/producer',
    });
    await producer.disconnect();
  });

  it('splits at maxBatchMessages and fills the next batch while one is at the broker', async () => {
    const f = fakes({ delayMs: 20 });
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lingerMs: 0, maxBatchMessages: 3, lanes: 1 },
    });
    await producer.connect();
    const first = producer.send(request());
    await new Promise((r) => setTimeout(r, 5)); // the first batch (one command) is now at the broker
    const rest = Array.from({ length: 5 }, () => producer.send(request()));
    await Promise.all([first, ...rest]);
    expect(f.batches.map((b) => b.topicMessages?.[0]?.messages.length)).toEqual([1, 3, 2]);
    await producer.disconnect();
  });

  it('fails fast when too much is buffered', async () => {
    const f = fakes({ delayMs: 50 });
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { maxBufferedMessages: 2, lingerMs: 0 },
    });
    await producer.connect();
    const accepted = [producer.send(request()), producer.send(request())];
    await new Promise((r) => setImmediate(r));
    const refused = producer.send(request());
    await expect(refused).rejects.toBeInstanceOf(ProducerOverloadedError);
    await expect(refused).rejects.toMatchObject({ retryable: true });
    await Promise.all(accepted);
    await producer.disconnect();
  });

  it('rejects every command of a failed batch with a typed error that says whether to retry', async () => {
    const f = fakes({
      fail: (call) =>
        call === 1
          ? new KafkaJSProtocolError(
              Object.assign(new Error('not leader'), { type: 'NOT_LEADER', code: 6, retriable: true }),
            )
          : new KafkaJSNonRetriableError('message too large'),
    });
    const observed: string[] = [];
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lanes: 1 },
      observer: { batchFailed: (n, e) => observed.push(`${n}:${(e as ProduceFailedError).code}`) },
    });
    await producer.connect();
    const both = await Promise.allSettled([producer.send(request()), producer.send(request())]);
    for (const r of both) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason as ProduceFailedError;
      expect(reason).toBeInstanceOf(ProduceFailedError);
      expect(reason.retryable).toBe(true);
    }
    await expect(producer.send(request())).rejects.toMatchObject({
      code: 'PRODUCE_FAILED',
      retryable: false,
    });
    expect(observed).toEqual(['2:PRODUCE_FAILED', '1:PRODUCE_FAILED']);
    await producer.disconnect();
  });

  it('spreads resources over lanes, each resource always on the same one, in order', async () => {
    const f = fakes({ delayMs: 5 });
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lanes: 4, lingerMs: 0 },
    });
    expect(f.producerOptions).toHaveLength(4);
    await producer.connect();
    const commands = Array.from({ length: 200 }, (_, i) => request(`room-${i % 20}`));
    await producer.sendMany(commands);
    const perResource = new Map<string, string[]>();
    for (const batch of f.batches) {
      for (const m of batch.topicMessages?.[0]?.messages ?? []) {
        const key = String(m.key);
        perResource.set(key, [...(perResource.get(key) ?? []), String(m.value)]);
      }
    }
    for (const [resource, ids] of perResource) {
      expect(ids).toEqual(commands.filter((c) => c.resourceId === resource).map((c) => c.commandId));
    }
    expect(f.batches.length).toBeGreaterThan(1);
    await producer.disconnect();
  });

  it('drains the queue on disconnect', async () => {
    const f = fakes({ delayMs: 10 });
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lingerMs: 50 },
    });
    await producer.connect();
    const sent = Array.from({ length: 4 }, () => producer.send(request()));
    await new Promise((r) => setImmediate(r));
    await producer.disconnect();
    await expect(Promise.all(sent)).resolves.toHaveLength(4);
    expect(producer.state).toBe('stopped');
  });
});
