import { readFileSync } from 'node:fs';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { topicNames } from '../../../common/topics.ts';
import {
  AVRO_SCHEMA_FORMAT,
  asyncApiPath,
  buildAsyncApi,
  renderAsyncApi,
} from '../../../schemas/asyncapi.ts';
import { recordNamesByTopic, topics } from '../../../schemas/catalog.ts';

const severityName = (s: DiagnosticSeverity) => DiagnosticSeverity[s];

describe('docs/asyncapi.json', () => {
  it('is exactly what the generator produces (run `npm run asyncapi`)', () => {
    expect(JSON.parse(readFileSync(asyncApiPath, 'utf8'))).toEqual(JSON.parse(renderAsyncApi()));
  });

  it('parses with the official AsyncAPI parser, Avro payloads included, without errors or warnings', async () => {
    const parser = new Parser();
    parser.registerSchemaParser(AvroSchemaParser());
    const { document, diagnostics } = await parser.parse(renderAsyncApi());
    const problems = diagnostics
      .filter((d) => d.severity <= DiagnosticSeverity.Warning)
      .map((d) => `${severityName(d.severity)} ${d.code} at ${d.path.join('.')}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(document).toBeDefined();
    expect(document?.version()).toBe('3.0.0');
    const events = document?.channels().get('events');
    expect(events?.address()).toBe('reservations.events');
    expect(
      events
        ?.messages()
        .all()
        .map((m) => m.name()),
    ).toEqual([...recordNamesByTopic[topics.events]]);
    // The Avro parser turned the inlined schema into a typed payload.
    const held = document?.components().messages().get('ReservationHeld')?.payload();
    expect(held?.type()).toBe('object');
    expect(Object.keys(held?.properties() ?? {})).toContain('reservationId');
  });

  // The v3 parse step converts Avro payloads but does not report an invalid one, so each is validated here.
  it('has only valid Avro payloads, by the Avro schema parser', async () => {
    const avro = AvroSchemaParser();
    const doc = buildAsyncApi() as {
      components: { messages: Record<string, { payload: { schemaFormat?: string; schema?: unknown } }> };
    };
    const avroPayloads = Object.entries(doc.components.messages).filter(
      ([, m]) => m.payload.schemaFormat === AVRO_SCHEMA_FORMAT,
    );
    expect(avroPayloads.length).toBe(
      recordNamesByTopic[topics.commands].length + recordNamesByTopic[topics.events].length,
    );
    const validate = async (name: string, schema: unknown) =>
      (await avro.validate({
        asyncapi: {} as never,
        data: schema,
        meta: {},
        path: ['components', 'messages', name, 'payload'],
        schemaFormat: AVRO_SCHEMA_FORMAT,
        defaultSchemaFormat: 'application/vnd.aai.asyncapi;version=3.0.0',
      })) ?? [];
    for (const [name, message] of avroPayloads) {
      expect(await validate(name, message.payload.schema), name).toEqual([]);
    }
    // and it does catch a broken one
    expect(
      (await validate('broken', { type: 'record', name: 'X', fields: [{ name: 'a', type: 'nonsense' }] }))
        .length,
    ).toBeGreaterThan(0);
  });
});

describe('buildAsyncApi', () => {
  it('covers every topic, with its partitions, retention and transactional reading', () => {
    const doc = buildAsyncApi({ topicPrefix: 't1-', partitions: 3 }) as {
      channels: Record<string, { address: string; bindings: { kafka: Record<string, unknown> } }>;
    };
    const names = topicNames('t1-');
    const addresses = Object.values(doc.channels).map((c) => c.address);
    expect(addresses.sort()).toEqual(
      [
        names.commands,
        names.events,
        names.changelog,
        names.commandsDlq,
        ...Object.values(names.sinkDlq),
      ].sort(),
    );
    expect(doc.channels.events?.bindings.kafka).toMatchObject({
      topic: 't1-reservations.events',
      partitions: 3,
      topicConfiguration: { 'cleanup.policy': ['delete'], 'retention.ms': 30 * 86_400_000 },
      'x-isolation-level': 'read_committed',
    });
    expect(doc.channels.commands?.bindings.kafka).toMatchObject({
      partitions: 3,
      topicConfiguration: { 'retention.ms': 7 * 86_400_000 },
    });
    expect(doc.channels.changelog?.bindings.kafka).toMatchObject({
      topicConfiguration: { 'cleanup.policy': ['compact'] },
      'x-transactional': true,
    });
    expect(doc.channels.sinkDlqPostgres?.bindings.kafka).toMatchObject({ partitions: 1 });
  });

  it('types every contract message with its inlined Avro schema and the CloudEvents headers', () => {
    const doc = buildAsyncApi() as {
      components: {
        messages: Record<string, { payload: { schemaFormat: string; schema: { name: string } } }>;
        schemas: { CloudEventHeaders: { required: string[] } };
      };
    };
    for (const name of [...recordNamesByTopic[topics.commands], ...recordNamesByTopic[topics.events]]) {
      expect(doc.components.messages[name]?.payload.schemaFormat).toBe(
        'application/vnd.apache.avro;version=1.9.0',
      );
      expect(doc.components.messages[name]?.payload.schema.name).toBe(name);
    }
    expect(doc.components.schemas.CloudEventHeaders.required).toEqual(
      expect.arrayContaining(['ce_id', 'ce_source', 'ce_type', 'ce_specversion', 'ce_time', 'content-type']),
    );
  });
});
