/**
 * The producer library across broker restarts (regression: after a graceful restart the load generator's
 * producer accepted nothing more, "out of order sequence number" for the rest of the run; a payment result
 * acknowledged during a restart was never written). Commands are offered at a steady rate to a broker of
 * the test's own, restarted once gracefully and once by kill -9. Afterwards the topic is read back:
 * every command the producer called delivered is on it, the producer delivers again after each restart,
 * and every command reported as outcome unknown, re-sent as it is, is delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../common/kafka.ts';
import { ensureTopics, topicSpecs } from '../../../common/topics.ts';
import { CommandBuilder } from '../../../producers/commands.ts';
import { outcomeOf } from '../../../producers/errors.ts';
import { CommandProducer } from '../../../producers/producer.ts';
import type { Command } from '../../../schemas/generated/types.ts';
import { eventually, testConfig, testLogger, uniqueName } from '../../helpers.ts';
import { PrivateBroker } from '../../support/private-broker.ts';

type Outcome = 'delivered' | 'unknown' | 'refused';

interface Offered {
  readonly command: Command;
  readonly at: number;
  outcome?: Outcome;
  settledAt?: number;
}

let broker: PrivateBroker | undefined;

afterAll(async () => {
  await broker?.destroy();
});

describe('CommandProducer across broker restarts (a broker of the test own)', () => {
  let producer: CommandProducer;
  let config: ReturnType<typeof testConfig>;

  beforeAll(async () => {
    broker = await PrivateBroker.create(uniqueName('producer-restart'));
    config = testConfig({ KAFKA_BROKERS: broker.bootstrap });
    const admin = createKafka(config, testLogger, 'restart-admin').admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(config));
    await admin.disconnect();
    producer = CommandProducer.fromConfig(config, testLogger, {
      autoRegister: true,
      deliveryTimeoutMs: 20_000,
    });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  it('heals by itself and never calls delivered what is not on the topic', { timeout: 240_000 }, async () => {
    const running = broker as PrivateBroker;
    const builder = new CommandBuilder();
    const offered: Offered[] = [];
    let stop = false;
    const offer = (command: Command) => {
      const entry: Offered = { command, at: Date.now() };
      offered.push(entry);
      producer.send(command).then(
        () => {
          entry.outcome = 'delivered';
          entry.settledAt = Date.now();
        },
        (error: unknown) => {
          entry.outcome = outcomeOf(error);
          entry.settledAt = Date.now();
        },
      );
    };
    // About 200 commands a second over 20 resources, until told to stop.
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        offer(
          builder.requestReservation({
            resourceId: `room-${i % 20}`,
            customer: { id: `c${i}`, fullName: 'Ada', email: 'ada@example.com' },
            start: 1_000 * i,
            end: 1_000 * i + 500,
            quantity: 1,
          }),
        );
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const restarts: { mode: string; upAt: number }[] = [];

    await pause(3_000);
    await running.restart('graceful', 1_000);
    restarts.push({ mode: 'graceful', upAt: Date.now() });
    await pause(4_000);
    await running.restart('kill', 1_000);
    restarts.push({ mode: 'kill -9', upAt: Date.now() });
    await pause(4_000);
    stop = true;
    await loop;
    await eventually(async () => (offered.every((o) => o.outcome !== undefined) ? true : undefined), {
      timeoutMs: 60_000,
      what: 'every send to settle',
    });

    // What was reported unknown is re-sent as it is: the same command ids.
    const unknown = offered.filter((o) => o.outcome === 'unknown');
    const resent = await Promise.allSettled(unknown.map((o) => producer.send(o.command)));
    const count = (outcome: Outcome) => offered.filter((o) => o.outcome === outcome).length;
    console.log(
      `producer across restarts: offered ${offered.length}, delivered ${count('delivered')}, ` +
        `unknown ${count('unknown')} (re-sent: ${resent.filter((r) => r.status === 'fulfilled').length} delivered), ` +
        `refused ${count('refused')}`,
    );
    expect(resent.every((r) => r.status === 'fulfilled')).toBe(true);

    // The producer recovered: commands offered after each restart were delivered.
    for (const restart of restarts) {
      const after = offered.filter((o) => o.at > restart.upAt + 1_000 && o.outcome === 'delivered');
      expect(after.length, `delivered after the ${restart.mode} restart`).toBeGreaterThan(100);
    }

    // Every command called delivered (first time or on re-send) is on the topic.
    const mustBeThere = new Set(
      offered
        .filter((o) => o.outcome === 'delivered' || o.outcome === 'unknown')
        .map((o) => o.command.commandId),
    );
    const onTopic = new Set<string>();
    const consumer = createKafka(config, testLogger, 'restart-reader').consumer({
      groupId: uniqueName('restart-reader'),
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: producer.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.headers?.ce_id?.toString();
        if (id) onTopic.add(id);
      },
    });
    await eventually(async () => ([...mustBeThere].every((id) => onTopic.has(id)) ? true : undefined), {
      timeoutMs: 60_000,
      what: 'every delivered command on the topic',
    }).catch(() => undefined); // the assertion below names what is missing
    await consumer.disconnect();
    const missing = [...mustBeThere].filter((id) => !onTopic.has(id));
    expect(missing).toEqual([]);
  });
});
