import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from '../../../common/dead-letter.ts';
import { AvailabilityTree } from '../../../processors/core/index.ts';
import { kafkajsTransactionalProducer } from '../../../processors/kafkajs/transactional-producer.ts';
import { eventually, uniqueName } from '../../helpers.ts';
import { DeciderFixture, requestReservation, upsertResource } from '../../support/decider-fixture.ts';

const HOUR = 3_600_000;
let fixture: DeciderFixture | undefined;

/** Reads `count` dead letters of the commands topic (read_committed) and returns their headers. */
async function readDeadLetters(f: DeciderFixture, count: number): Promise<Record<string, string>[]> {
  const dead: Record<string, string>[] = [];
  const consumer = f.kafka.consumer({ groupId: uniqueName('dlq-reader'), readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: f.topics.commandsDlq, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      dead.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
    },
  });
  await eventually(async () => (dead.length >= count ? true : undefined), {
    what: `${count} dead letter(s)`,
  });
  await consumer.disconnect();
  return dead;
}

afterEach(async () => {
  await fixture?.teardown();
  fixture = undefined;
});

describe('decider processor (real broker, real registry)', () => {
  it('turns commands into events with CloudEvents headers and Avro payloads, refusing overbooking', async () => {
    fixture = await new DeciderFixture().setup();
    await fixture.readEvents();
    await fixture.startDecider();
    const t0 = Date.now() + HOUR;
    const resource = upsertResource(uniqueName('room'), 1);
    const first = requestReservation(resource.resourceId, t0, t0 + HOUR);
    const overlapping = requestReservation(resource.resourceId, t0 + HOUR / 2, t0 + 2 * HOUR);
    await fixture.send([resource, first, overlapping], 'corr-1');

    const [upserted] = await fixture.decisionOf(resource.commandId);
    expect(upserted?.message.type).toBe('ResourceUpserted');
    const [held] = await fixture.decisionOf(first.commandId);
    expect(held?.message).toMatchObject({
      type: 'ReservationHeld',
      reservationId: first.reservationId,
      quantity: 1,
    });
    const [rejected] = await fixture.decisionOf(overlapping.commandId);
    expect(rejected?.message).toMatchObject({ type: 'ReservationRejected', reason: 'UNAVAILABLE' });

    expect(held?.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'slotstream.events.ReservationHeld',
      ce_source: '/slotstream/processor',
      ce_subject: first.reservationId,
      ce_correlationid: 'corr-1',
      ce_causationid: first.commandId,
      'content-type': 'application/avro',
    });
    expect(held?.attributes.id).toBe(
      held?.message.type === 'ReservationHeld' ? held.message.eventId : undefined,
    );
  });

  it('restores the same state after a restart and keeps deciding correctly', async () => {
    fixture = await new DeciderFixture().setup();
    await fixture.readEvents();
    const first = await fixture.startDecider();
    const t0 = Date.now() + HOUR;
    const resource = upsertResource(uniqueName('table'), 2);
    const a = requestReservation(resource.resourceId, t0, t0 + HOUR, 2);
    await fixture.send([resource, a]);
    await fixture.decisionOf(a.commandId);
    const before = await eventually(async () => first.stateOf(resource.resourceId), { what: 'state' });
    await first.stop();

    const second = await fixture.startDecider();
    const after = await eventually(async () => second.stateOf(resource.resourceId), {
      what: 'restored state',
    });
    expect(after).toEqual(before);

    const full = requestReservation(resource.resourceId, t0 + HOUR / 4, t0 + HOUR / 2, 1);
    const free = requestReservation(resource.resourceId, t0 + HOUR, t0 + 2 * HOUR, 2);
    await fixture.send([full, free]);
    expect((await fixture.decisionOf(full.commandId))[0]?.message).toMatchObject({ reason: 'UNAVAILABLE' });
    expect((await fixture.decisionOf(free.commandId))[0]?.message.type).toBe('ReservationHeld');
    // Nothing was decided twice across the restart.
    expect(fixture.eventsFor(a.commandId)).toHaveLength(1);
  });

  it('fences a zombie: the older owner of a transactional id cannot commit, and its output stays invisible', async () => {
    fixture = await new DeciderFixture().setup();
    await fixture.readEvents();
    const transactionalId = uniqueName('decider-partition-0');
    const zombie = kafkajsTransactionalProducer(fixture.kafka, transactionalId);
    const owner = kafkajsTransactionalProducer(fixture.kafka, transactionalId);
    const resource = upsertResource(uniqueName('zombie'), 1);
    const zombieRecord = await fixture.codec.encodeEvent(
      {
        type: 'ResourceRetired',
        eventId: randomUUID(),
        causationCommandId: randomUUID(),
        idempotencyKey: null,
        decidedAt: Date.now(),
        resourceId: resource.resourceId,
        actorId: 'zombie',
        reason: 'written by the fenced owner',
        resourceVersion: 2,
        liveReservations: 0,
      },
      { source: '/test/zombie', correlationId: 'z', causationId: 'z' },
    );
    await zombie.connect();
    const zombieTx = await zombie.begin();
    await zombieTx.send([{ topic: fixture.topics.events, partition: 0, ...zombieRecord }]);

    await owner.connect(); // initTransactions with the same id: fences the zombie, aborts its transaction
    const ownerTx = await owner.begin();
    await ownerTx.send([{ topic: fixture.topics.events, partition: 0, ...zombieRecord, key: 'owner' }]);
    await ownerTx.commit();

    await expect(zombieTx.commit()).rejects.toThrow();
    await eventually(
      async () =>
        fixture?.events.some((e) => e.message.resourceId === resource.resourceId) ? true : undefined,
      {
        what: 'the owner record',
      },
    );
    await new Promise((r) => setTimeout(r, 500));
    const visible = fixture.events.filter((e) => e.message.resourceId === resource.resourceId);
    expect(visible).toHaveLength(1);
    await zombie.disconnect();
    await owner.disconnect();
  });

  it('a running decider fenced by another holder of its transactional id recovers and decides nothing twice', async () => {
    fixture = await new DeciderFixture({ TOPIC_PARTITIONS: '1' }).setup();
    await fixture.readEvents();
    const decider = await fixture.startDecider();
    const t0 = Date.now() + HOUR;
    const resource = upsertResource(uniqueName('fenced'), 3);
    const a = requestReservation(resource.resourceId, t0, t0 + HOUR);
    await fixture.send([resource, a]);
    await fixture.decisionOf(a.commandId);

    // Another process takes the partition's transactional id: the decider's producer is now a zombie.
    const intruder = kafkajsTransactionalProducer(fixture.kafka, decider.transactionalId(0));
    await intruder.connect();
    const b = requestReservation(resource.resourceId, t0, t0 + HOUR);
    const c = requestReservation(resource.resourceId, t0, t0 + HOUR);
    const d = requestReservation(resource.resourceId, t0, t0 + HOUR);
    await fixture.send([b, c, d]);
    for (const command of [b, c])
      expect((await fixture.decisionOf(command.commandId))[0]?.message.type).toBe('ReservationHeld');
    expect((await fixture.decisionOf(d.commandId))[0]?.message).toMatchObject({ reason: 'UNAVAILABLE' });
    await new Promise((r) => setTimeout(r, 300));
    for (const command of [a, b, c, d]) expect(fixture.eventsFor(command.commandId)).toHaveLength(1);
    const failures = await decider.metrics.transactionFailures.get();
    expect(failures.values[0]?.value).toBeGreaterThanOrEqual(1);
    await intruder.disconnect();
  });

  it('sends garbage and unknown-schema records to the dead-letter topic and keeps deciding the partition', async () => {
    fixture = await new DeciderFixture({ TOPIC_PARTITIONS: '1' }).setup();
    await fixture.readEvents();
    await fixture.startDecider();
    const resource = upsertResource(uniqueName('poison'), 5);
    await fixture.send([resource]);
    await fixture.sendRaw(resource.resourceId, Buffer.from('definitely not avro'));
    await fixture.sendRaw(resource.resourceId, Buffer.from([0, 0x7f, 0xff, 0xff, 0x01, 2, 4, 6]), {
      ce_specversion: '1.0',
      ce_id: 'x',
      ce_source: '/test',
      ce_type: 'slotstream.commands.RequestReservation',
      ce_time: new Date().toISOString(),
      ce_subject: 'x',
      ce_correlationid: 'x',
      ce_causationid: 'x',
      'content-type': 'application/avro',
    });
    const t0 = Date.now() + HOUR;
    const after = requestReservation(resource.resourceId, t0, t0 + HOUR);
    await fixture.send([after]);
    expect((await fixture.decisionOf(after.commandId))[0]?.message.type).toBe('ReservationHeld');

    const dead = await readDeadLetters(fixture, 2);
    expect(dead.map((h) => h[DLQ_HEADERS.errorCode])).toEqual(['MALFORMED_HEADERS', 'UNKNOWN_SCHEMA']);
    for (const h of dead) {
      expect(h[DLQ_HEADERS.originalTopic]).toBe(fixture.topics.commands);
      expect(h[DLQ_HEADERS.originalPartition]).toBe('0');
      expect(h[DLQ_HEADERS.reason]).toBeTruthy();
      expect(Date.parse(h[DLQ_HEADERS.time] ?? '')).not.toBeNaN();
    }
    expect(dead.map((h) => Number(h[DLQ_HEADERS.originalOffset]))).toEqual([1, 2]);
  });

  it('dead-letters a command that makes the core throw, then decides the rest of the batch', async () => {
    // The core never throws on domain errors; this availability index throws for one marked duration, to
    // stand in for a bug the real rules cannot produce.
    const POISON_MS = 13_000;
    class ThrowingAvailability extends AvailabilityTree {
      override maxLoad(start: number, end: number): number {
        if (end - start === POISON_MS) throw new Error('simulated core bug');
        return super.maxLoad(start, end);
      }
    }
    fixture = await new DeciderFixture({ TOPIC_PARTITIONS: '1' }).setup();
    await fixture.readEvents();
    const decider = await fixture.startDecider({ core: { availability: () => new ThrowingAvailability() } });
    const t0 = Date.now() + HOUR;
    const resource = upsertResource(uniqueName('core-bug'), 2);
    const before = requestReservation(resource.resourceId, t0, t0 + HOUR);
    const poison = requestReservation(resource.resourceId, t0, t0 + POISON_MS);
    const after = requestReservation(resource.resourceId, t0, t0 + HOUR);
    await fixture.send([resource, before, poison, after]);
    for (const command of [before, after]) {
      expect((await fixture.decisionOf(command.commandId))[0]?.message.type).toBe('ReservationHeld');
    }
    expect(fixture.eventsFor(poison.commandId)).toEqual([]);

    const dead = await readDeadLetters(fixture, 1);
    expect(dead[0]?.[DLQ_HEADERS.errorCode]).toBe('CORE_FAILURE');
    expect(dead[0]?.[DLQ_HEADERS.reason]).toContain('simulated core bug');
    expect(dead[0]?.[DLQ_HEADERS.errorClass]).toBe('CoreFailure');
    expect(dead[0]?.ce_id).toBe(poison.commandId);
    const failures = await decider.metrics.transactionFailures.get();
    expect(failures.values[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('expires an unpaid hold from the processor clock and frees its capacity, also across a restart', async () => {
    fixture = await new DeciderFixture({ TOPIC_PARTITIONS: '1' }).setup();
    await fixture.readEvents();
    const first = await fixture.startDecider();
    const t0 = Date.now() + HOUR;
    const resource = upsertResource(uniqueName('slot'), 1, { holdTimeoutMs: 1_000 });
    const hold = requestReservation(resource.resourceId, t0, t0 + HOUR);
    await fixture.send([resource, hold]);
    await fixture.decisionOf(hold.commandId);
    const expired = await fixture.decisionOf(
      await eventually(
        async () => {
          const e = fixture?.events.find(
            (x) => x.message.type === 'ReservationExpired' && x.message.reservationId === hold.reservationId,
          );
          return e?.message.causationCommandId;
        },
        { what: 'ReservationExpired' },
      ),
    );
    expect(expired[0]?.message.type).toBe('ReservationExpired');
    const again = requestReservation(resource.resourceId, t0, t0 + HOUR);
    await fixture.send([again]);
    expect((await fixture.decisionOf(again.commandId))[0]?.message.type).toBe('ReservationHeld');

    // The second hold's timer must survive a restart: stop before it is due, start after.
    await first.stop();
    await new Promise((r) => setTimeout(r, 1_200));
    await fixture.startDecider();
    await eventually(
      async () =>
        fixture?.events.find(
          (x) => x.message.type === 'ReservationExpired' && x.message.reservationId === again.reservationId,
        ),
      { what: 'the second hold expiring after the restart' },
    );
  });
});
