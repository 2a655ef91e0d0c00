import { readdirSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  avroTypeOf,
  avroTypes,
  avroTypesByTopic,
  fromAvroValue,
  type MessageType,
  messageTypeOf,
  recordNamesByTopic,
  schemas,
  subjectFor,
  toAvroValue,
  topicFor,
  topics,
} from '../../../schemas/catalog.ts';
import { avroDir } from '../../../schemas/generate-types.ts';
import { samples } from './samples.ts';

const names = Object.keys(samples) as MessageType[];

describe('schemas/avro', () => {
  it('has one file per record of the catalog, and nothing else', () => {
    const files = readdirSync(avroDir).filter((f) => f.endsWith('.avsc'));
    const catalogued = [...recordNamesByTopic[topics.commands], ...recordNamesByTopic[topics.events]];
    expect(files.map((f) => f.replace(/\.avsc$/, '')).sort()).toEqual([...catalogued].sort());
    expect([...names].sort()).toEqual([...catalogued].sort());
  });

  it.each(names)('%s parses alone with avsc (standalone subject, no references)', (name) => {
    const schema = schemas.get(name);
    expect(() => avro.Type.forSchema(schema as avro.Schema, { registry: {} })).not.toThrow();
    const namespace = topicFor(name) === topics.commands ? 'slotstream.commands' : 'slotstream.events';
    expect(schema).toMatchObject({ type: 'record', name, namespace });
  });

  it.each(names)('%s round-trips its typed sample', (name) => {
    const type = avroTypeOf(name);
    const value = toAvroValue(samples[name]);
    expect(type.isValid(value, { noUndeclaredFields: true })).toBe(true);
    expect(fromAvroValue(name, type.fromBuffer(type.toBuffer(value)))).toEqual(samples[name]);
  });

  it.each(names)('%s round-trips random values', (name) => {
    const type = avroTypeOf(name);
    for (let i = 0; i < 50; i++) {
      const value: unknown = type.random();
      const decoded: unknown = type.fromBuffer(type.toBuffer(value));
      expect(type.compare(decoded, value)).toBe(0);
    }
  });

  it.each(names)('%s: every optional field has a default, so the schema can evolve', (name) => {
    const fields = (schemas.get(name) as { fields: { name: string; type: unknown; default?: unknown }[] })
      .fields;
    for (const field of fields) {
      if (Array.isArray(field.type) && field.type[0] === 'null')
        expect(field, field.name).toHaveProperty('default', null);
    }
  });

  it('every event names its resource (the Kafka key), its causing command and when it was decided', () => {
    for (const name of recordNamesByTopic[topics.events]) {
      const fieldNames = (schemas.get(name) as { fields: { name: string }[] }).fields.map((f) => f.name);
      expect(fieldNames, name).toEqual(
        expect.arrayContaining(['eventId', 'causationCommandId', 'resourceId', 'decidedAt']),
      );
    }
    for (const name of recordNamesByTopic[topics.commands]) {
      const fieldNames = (schemas.get(name) as { fields: { name: string }[] }).fields.map((f) => f.name);
      expect(fieldNames, name).toEqual(
        expect.arrayContaining(['commandId', 'idempotencyKey', 'acceptedAt', 'resourceId']),
      );
    }
  });

  it('reads an unknown future rejection reason as OTHER (enum default)', () => {
    const current = avroTypeOf('ReservationRejected');
    const future = JSON.parse(JSON.stringify(schemas.get('ReservationRejected'))) as {
      fields: { name: string; type: { symbols?: string[] } }[];
    };
    const reason = future.fields.find((f) => f.name === 'reason');
    reason?.type.symbols?.push('SOMETHING_NEW');
    const writer = avro.Type.forSchema(future as avro.Schema);
    const bytes = writer.toBuffer({ ...toAvroValue(samples.ReservationRejected), reason: 'SOMETHING_NEW' });
    expect(current.fromBuffer(bytes, current.createResolver(writer))).toMatchObject({ reason: 'OTHER' });
  });
});

describe('schemas/catalog', () => {
  it('maps records to topics and TopicRecordNameStrategy subjects', () => {
    expect(topicFor('RequestReservation')).toBe('reservations.commands');
    expect(topicFor('ReservationHeld')).toBe('reservations.events');
    expect(subjectFor('ReservationHeld')).toBe('reservations.events-slotstream.events.ReservationHeld');
    expect(subjectFor('UpsertResource')).toBe('reservations.commands-slotstream.commands.UpsertResource');
    expect(avroTypes.size).toBe(names.length);
    expect(avroTypesByTopic['reservations.events'].map((t) => t.name)).toContain(
      'slotstream.events.ReservationHeld',
    );
    expect(avroTypesByTopic['reservations.commands']).toHaveLength(
      recordNamesByTopic['reservations.commands'].length,
    );
  });

  it('maps fully qualified names back to record names', () => {
    expect(messageTypeOf('slotstream.events.ReservationHeld')).toBe('ReservationHeld');
    expect(messageTypeOf('slotstream.commands.RetireResource')).toBe('RetireResource');
    expect(messageTypeOf('other.Thing')).toBeUndefined();
  });

  it('refuses a record name outside the contract', () => {
    expect(() => avroTypeOf('Nope')).toThrow(/not a record/);
  });
});
