import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.ts';
import { MalformedMessageError, UnknownRecordTypeError, UnknownSchemaError } from '../../../common/errors.ts';
import { registerSchema } from '../../../schemas/registry-admin.ts';
import { AvroSerde, subjectName } from '../../../schemas/serde.ts';
import { uniqueName } from '../../helpers.ts';

const config = loadConfig();

const pingV1 = {
  type: 'record' as const,
  name: 'Ping',
  namespace: 'slotstream.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};
const pingV2 = {
  type: 'record' as const,
  name: 'Ping',
  namespace: 'slotstream.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};
const pong = {
  type: 'record' as const,
  name: 'Pong',
  namespace: 'slotstream.test',
  fields: [{ name: 'n', type: 'int' }],
};

describe('AvroSerde against the real registry', () => {
  it('frames with the magic byte and the registered id, per topic-record-name subject, and decodes back', async () => {
    const topic = uniqueName('serde');
    const serde = new AvroSerde({
      registryUrl: config.registry.url,
      topics: { [topic]: [pingV1, pong] },
      autoRegister: true,
    });
    const a = await serde.encode(topic, 'slotstream.test.Ping', { id: 'p1', at: 1_700_000_000_000 });
    const b = await serde.encode(topic, 'slotstream.test.Pong', { n: 7 });
    expect(a[0]).toBe(0);
    const latest = await fetch(
      `${config.registry.url}/subjects/${subjectName(topic, 'slotstream.test.Ping')}/versions/latest`,
    );
    expect(((await latest.json()) as { id: number }).id).toBe(a.readInt32BE(1));
    expect(a.readInt32BE(1)).not.toBe(b.readInt32BE(1));

    // A fresh instance (empty caches) reads both back by schema id.
    const reader = new AvroSerde({ registryUrl: config.registry.url, topics: { [topic]: [pingV1, pong] } });
    expect(await reader.decode(topic, a)).toMatchObject({
      name: 'slotstream.test.Ping',
      value: { id: 'p1', at: 1_700_000_000_000 },
    });
    expect(await reader.decode(topic, b)).toMatchObject({ name: 'slotstream.test.Pong', value: { n: 7 } });
  });

  it('reads a record written with an older schema through the newer reader schema', async () => {
    const topic = uniqueName('serde-evolve');
    const subject = subjectName(topic, 'slotstream.test.Ping');
    await registerSchema(config.registry.url, subject, JSON.stringify(pingV1));
    const writer = new AvroSerde({ registryUrl: config.registry.url, topics: { [topic]: [pingV1] } });
    const old = await writer.encode(topic, 'slotstream.test.Ping', { id: 'old', at: 5 });
    await registerSchema(config.registry.url, subject, JSON.stringify(pingV2));
    const reader = new AvroSerde({ registryUrl: config.registry.url, topics: { [topic]: [pingV2] } });
    expect((await reader.decode(topic, old)).value).toEqual({ id: 'old', at: 5, note: null });
  });

  it('refuses garbage, unknown schema ids and record types the topic does not carry, with typed errors', async () => {
    const topic = uniqueName('serde-bad');
    const serde = new AvroSerde({
      registryUrl: config.registry.url,
      topics: { [topic]: [pingV1] },
      autoRegister: true,
    });
    await expect(serde.decode(topic, Buffer.from('not avro at all'))).rejects.toBeInstanceOf(
      MalformedMessageError,
    );
    await expect(serde.decode(topic, Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2]))).rejects.toBeInstanceOf(
      UnknownSchemaError,
    );
    // A Pong is registered elsewhere; this topic only carries Ping.
    const other = uniqueName('serde-other');
    const pongBytes = await new AvroSerde({
      registryUrl: config.registry.url,
      topics: { [other]: [pong] },
      autoRegister: true,
    }).encode(other, 'slotstream.test.Pong', { n: 1 });
    await expect(serde.decode(topic, pongBytes)).rejects.toBeInstanceOf(UnknownRecordTypeError);
    // Truncated body with a valid id.
    const good = await serde.encode(topic, 'slotstream.test.Ping', { id: 'x', at: 1 });
    await expect(serde.decode(topic, good.subarray(0, good.length - 1))).rejects.toBeInstanceOf(
      MalformedMessageError,
    );
  });
});
