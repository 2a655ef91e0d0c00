/**
 * The sink runtime recovers by itself when the broker goes away (regression: during a broker restart a
 * payment sink went to `failed` after "Failed to find group coordinator" and its process exited). A broker
 * of the test's own is restarted gracefully and by kill -9 under a running worker, and a worker is started
 * while the broker is down; each goes on applying events once the broker is back.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../common/config.ts';
import type { Event } from '../../../schemas/generated/types.ts';
import type { Sink } from '../../../sinks/runtime/types.ts';
import { eventually, testConfig, uniqueName } from '../../helpers.ts';
import { generateStream } from '../../support/events.ts';
import { createTestTopics, EventWriter } from '../../support/kafka.ts';
import { PrivateBroker } from '../../support/private-broker.ts';
import { startTestWorker } from '../../support/sinks.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

function memorySink() {
  const seen = new Set<string>();
  const sink: Sink = {
    name: 'postgres',
    async handleBatch(events) {
      for (const e of events) seen.add(e.event.eventId);
    },
  };
  return { sink, seen };
}

async function allSeen(seen: Set<string>, events: readonly Event[], what: string): Promise<void> {
  await eventually(async () => (events.every((e) => seen.has(e.eventId)) ? true : undefined), {
    timeoutMs: 90_000,
    intervalMs: 200,
    what,
  });
}

describe('sink runtime across broker restarts (a broker of the test own)', () => {
  it('keeps applying events after a graceful restart and a kill -9 of the broker', {
    timeout: 300_000,
  }, async () => {
    const broker = await PrivateBroker.create(uniqueName('sink-restart'));
    cleanups.push(() => broker.destroy());
    const config: Config = testConfig({ KAFKA_BROKERS: broker.bootstrap, TOPIC_PARTITIONS: '3' });
    const kafka: Kafka = await createTestTopics(config);
    const stream = generateStream({ resources: 9, reservations: 300, seed: 7 });
    const thirds = [0, 1, 2].map((i) =>
      stream.events.slice((i * stream.events.length) / 3, ((i + 1) * stream.events.length) / 3),
    ) as [Event[], Event[], Event[]];
    const { sink, seen } = memorySink();
    const worker = await startTestWorker(config, sink, { sessionTimeoutMs: 6_000 });
    cleanups.push(() => worker.stop());

    const write = async (events: readonly Event[]) => {
      const writer = new EventWriter(kafka, config);
      try {
        await writer.write(events, 100);
      } finally {
        await writer.close();
      }
    };
    await write(thirds[0]);
    await allSeen(seen, thirds[0], 'the first third');

    await broker.restart('graceful', 2_000);
    await write(thirds[1]);
    await allSeen(seen, thirds[1], 'the second third, after a graceful restart');

    await broker.restart('kill', 2_000);
    await write(thirds[2]);
    await allSeen(seen, thirds[2], 'the last third, after a kill -9 of the broker');
    await eventually(async () => (worker.state === 'running' ? true : undefined), { what: 'running' });
    expect(seen.size).toBe(stream.events.length);
  });

  it('waits for a broker that is down when it starts, then runs', { timeout: 180_000 }, async () => {
    const broker = await PrivateBroker.create(uniqueName('sink-late'));
    cleanups.push(() => broker.destroy());
    const config: Config = testConfig({ KAFKA_BROKERS: broker.bootstrap, TOPIC_PARTITIONS: '2' });
    const kafka = await createTestTopics(config);
    const stream = generateStream({ resources: 4, reservations: 40, seed: 3 });
    await broker.stop('graceful');
    const { sink, seen } = memorySink();
    const starting = startTestWorker(config, sink);
    await new Promise((r) => setTimeout(r, 3_000));
    await broker.start();
    const worker = await starting;
    cleanups.push(() => worker.stop());
    expect(worker.state).toBe('running');
    const writer = new EventWriter(kafka, config);
    await writer.write(stream.events, 100);
    await writer.close();
    await allSeen(seen, stream.events, 'every event after a late start');
  });
});
