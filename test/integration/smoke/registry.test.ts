import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.ts';
import { uniqueName } from '../../helpers.ts';

describe('schema registry smoke', () => {
  const config = loadConfig();
  const registry = new SchemaRegistry({ host: config.registry.url });

  it('registers an Avro schema, encodes in the Confluent wire format and decodes back', async () => {
    const subject = uniqueName('smoke-subject');
    const schema = {
      type: 'record',
      name: 'Ping',
      namespace: 'slotstream.smoke',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'count', type: 'int' },
      ],
    };
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject },
    );
    expect(id).toBeGreaterThan(0);

    const payload = { id: 'p-1', count: 42 };
    const encoded = await registry.encode(id, payload);
    expect(encoded[0]).toBe(0); // magic byte
    expect(encoded.readInt32BE(1)).toBe(id); // schema id
    expect(await registry.decode(encoded)).toEqual(payload);

    // Served back by the registry over its own API, not only from the client's cache.
    const response = await fetch(`${config.registry.url}/subjects/${subject}/versions/latest`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { id: number }).id).toBe(id);
  });
});
