import type { Kafka, ProducerBatch } from 'kafkajs';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

const { KafkaJSError, KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;

import { CommandBuilder } from '../../../producers/commands.ts';
import {
  DeliveryUnknownError,
  outcomeOf,
  ProduceRefusedError,
  ProducerNotReadyError,
  ProducerOverloadedError,
  ProducerUnavailableError,
} from '../../../producers/errors.ts';
import { CommandProducer } from '../../../producers/producer.ts';
import type { MessageCodec } from '../../../schemas/codec.ts';
import type { Command } from '../../../schemas/generated/types.ts';

const logger = pino({ level: 'silent' });
const builder = new CommandBuilder();

// A test double of kafkajs's producer: it records requests and fails them on cue, failures a real broker
// cannot produce on demand (the integration tests restart a real broker).
function fakes(
  behaviour: {
    fail?: (call: number, batch: ProducerBatch) => Error | undefined;
    failConnect?: (call: number) => Error | undefined;
    delayMs?: number;
  } = {},
) {
  const batches: ProducerBatch[] = [];
  const producerOptions: unknown[] = [];
  let connected = false;
  let connects = 0;
  const kafka = {
    producer: (options: unknown) => {
      producerOptions.push(options);
      return {
        connect: async () => {
          connects += 1;
          const error = behaviour.failConnect?.(connects);
          if (error) throw error;
          connected = true;
        },
        disconnect: async () => {
          connected = false;
        },
        sendBatch: async (batch: ProducerBatch) => {
          batches.push(batch);
          if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
          const error = behaviour.fail?.(batches.length, batch);
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

  const protocolError = (type: string, retriable: boolean) =>
    new KafkaJSProtocolError(Object.assign(new Error(type), { type, code: 1, retriable }));
  // As kafkajs's retrier wraps an error it gives up on.
  const nonRetriable = (error: Error) => {
    const wrapped = new KafkaJSNonRetriableError(error);
    return Object.assign(wrapped, { cause: error }); // kafkajs's typings omit the cause it passes
  };

  it('sends a failed batch again on a new producer, same bytes, and resolves when it is acknowledged', async () => {
    const f = fakes({
      fail: (call) =>
        call === 1 ? nonRetriable(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', false)) : undefined,
    });
    const replaced: number[] = [];
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lanes: 1, retryBackoffMs: 1 },
      observer: { producerReplaced: () => replaced.push(1) },
    });
    await producer.connect();
    const commands = [request(), request()];
    const acks = await producer.sendMany(commands);
    expect(acks.map((a) => a.commandId)).toEqual(commands.map((c) => c.commandId));
    expect(f.producerOptions).toHaveLength(2); // the first producer was thrown away for a new one
    expect(replaced).toHaveLength(1);
    expect(f.batches).toHaveLength(2);
    expect(f.batches[1]?.topicMessages?.[0]?.messages).toEqual(f.batches[0]?.topicMessages?.[0]?.messages);
    await producer.disconnect();
  });

  it('reports a batch that was handed to Kafka and never acknowledged as outcome unknown', async () => {
    const f = fakes({ fail: () => new KafkaJSError('Request Produce(key: 0, version: 7) timed out') });
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lanes: 1, deliveryTimeoutMs: 150, retryBackoffMs: 10, retryBackoffMaxMs: 20 },
    });
    await producer.connect();
    const command = request();
    const error = await producer.send(command).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryUnknownError);
    expect(error).toMatchObject({ code: 'DELIVERY_UNKNOWN', retryable: true, commandId: command.commandId });
    expect(outcomeOf(error)).toBe('unknown');
    expect(f.batches.length).toBeGreaterThan(1); // it was tried again before giving up
    await producer.disconnect();
  });

  it('refuses, as not sent, commands that never reached Kafka before their delivery timeout', async () => {
    // The first connect works; every later one (after the first failure) finds no broker.
    const f = fakes({
      fail: () => new KafkaJSError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'),
      failConnect: (call) => (call > 1 ? new KafkaJSError('connect ECONNREFUSED 127.0.0.1:9092') : undefined),
      delayMs: 5,
    });
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lanes: 1, lingerMs: 0, deliveryTimeoutMs: 200, retryBackoffMs: 10, retryBackoffMaxMs: 20 },
    });
    await producer.connect();
    const first = producer.send(request()).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 2)); // the first batch is at the (failing) broker
    const queued = producer.send(request()).catch((e: unknown) => e);
    expect(await first).toBeInstanceOf(DeliveryUnknownError);
    const refused = await queued;
    expect(refused).toBeInstanceOf(ProducerUnavailableError);
    expect(refused).toMatchObject({ code: 'PRODUCER_UNAVAILABLE', retryable: true });
    expect(outcomeOf(refused)).toBe('refused');
    expect(f.batches).toHaveLength(1); // the queued command was never handed to Kafka
    await producer.disconnect();
  });

  it('refuses only the record the broker refuses for its content; the rest of its batch is delivered', async () => {
    const tooLarge = (batch: ProducerBatch) =>
      batch.topicMessages?.[0]?.messages.some((m) => String(m.value) === badId)
        ? nonRetriable(protocolError('MESSAGE_TOO_LARGE', false))
        : undefined;
    const bad = request();
    const badId = bad.commandId;
    const f = fakes({ fail: (_call, batch) => tooLarge(batch) });
    const observed: string[] = [];
    const producer = new CommandProducer({
      kafka: f.kafka,
      codec: f.codec,
      logger,
      options: { lanes: 1, lingerMs: 5 },
      observer: { batchFailed: (n) => observed.push(String(n)) },
    });
    await producer.connect();
    const [a, b, c] = await Promise.allSettled([
      producer.send(request()),
      producer.send(bad),
      producer.send(request()),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(c.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    const reason = (b as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(ProduceRefusedError);
    expect(reason).toMatchObject({ code: 'PRODUCE_REFUSED', retryable: false, commandId: badId });
    expect(outcomeOf(reason)).toBe('refused');
    expect(observed).toEqual(['3', '1']); // the whole batch, then the bad record alone
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
