/**
 * The AsyncAPI 3.0.0 document of every Slotstream topic, built from the code's own sources of truth: the
 * topic specifications (common/topics.ts), the records per topic and their .avsc schemas (catalog.ts), the
 * CloudEvents header names (cloudevents.ts) and the dead-letter header names (common/dead-letter.ts).
 * A pure function of its options: `npm run asyncapi` writes it to docs/asyncapi.json, the API serves it at
 * /docs/asyncapi.json, and a unit test fails when the committed file drifts.
 */
import { fileURLToPath } from 'node:url';
import type { Config } from '../common/config.ts';
import { DLQ_HEADERS } from '../common/dead-letter.ts';
import { SINK_NAMES, type SinkName, topicNames, topicSpecs } from '../common/topics.ts';
import { fullNameOf, type MessageType, recordNamesByTopic, schemas, topics } from './catalog.ts';
import { AVRO_CONTENT_TYPE, CE_HEADERS, CE_SPECVERSION } from './cloudevents.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** What the document describes; the defaults are those of a deployment without overrides. */
export interface AsyncApiOptions {
  /** Prefix of every topic name (TOPIC_PREFIX). @default '' */
  readonly topicPrefix?: string;
  /** Partitions of the commands, events and changelog topics (TOPIC_PARTITIONS). @default 6 */
  readonly partitions?: number;
  /** The Kafka bootstrap address named by the server entry. @default '127.0.0.1:9092' */
  readonly kafkaHost?: string;
  /** The Confluent-compatible schema registry API. @default 'http://127.0.0.1:8081/apis/ccompat/v7' */
  readonly schemaRegistryUrl?: string;
}

export const asyncApiDefaults = {
  topicPrefix: '',
  partitions: 6,
  kafkaHost: '127.0.0.1:9092',
  schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
} satisfies Required<AsyncApiOptions>;

/** Path of the generated document. */
export const asyncApiPath = fileURLToPath(new URL('../docs/asyncapi.json', import.meta.url));

/** The payload schema format of every Avro message. */
export const AVRO_SCHEMA_FORMAT = 'application/vnd.apache.avro;version=1.9.0';

const BINDING_VERSION = '0.5.0';

const WIRE_FORMAT =
  'The value is Avro in the Confluent wire format: byte 0 is the magic byte 0, bytes 1–4 the schema id ' +
  '(big-endian) in the schema registry, then the Avro binary body. The writer schema is registered under ' +
  '`<topic>-<fully.qualified.RecordName>` (TopicRecordNameStrategy: several record types share a topic); ' +
  'resolve the id in the registry, or dispatch on the `ce_type` header.';

const READ_COMMITTED =
  'Written in Kafka transactions: consume with `isolation.level=read_committed`, or you will also see ' +
  'records of aborted transactions.';

/** The JSON schema of the CloudEvents Kafka binding headers (binary mode) every contract message carries. */
function cloudEventHeaders(required: boolean): JsonObject {
  const string = (description: string, extra: JsonObject = {}): JsonObject => ({
    type: 'string',
    description,
    ...extra,
  });
  const properties: JsonObject = {
    [CE_HEADERS.specversion]: string('CloudEvents spec version.', { const: CE_SPECVERSION }),
    [CE_HEADERS.id]: string('Unique per message: the command id or the event id.'),
    [CE_HEADERS.source]: string(
      'Who produced it, a URI reference: `/slotstream/api`, `/slotstream/processor`, `/slotstream/payment`, …',
      { format: 'uri-reference' },
    ),
    [CE_HEADERS.type]: string(
      "The record's fully qualified Avro name, e.g. `slotstream.events.ReservationHeld`.",
    ),
    [CE_HEADERS.time]: string('RFC 3339: `acceptedAt` of a command, `decidedAt` of an event.', {
      format: 'date-time',
    }),
    [CE_HEADERS.subject]: string('The reservation id, or the resource id for resource records.'),
    [CE_HEADERS.correlationId]: string(
      'CloudEvents extension: the id shared by everything one client request set off.',
    ),
    [CE_HEADERS.causationId]: string(
      'CloudEvents extension: the id of the message that caused this one (an event: its command id).',
    ),
    [CE_HEADERS.contentType]: string('Content type of the value.', { const: AVRO_CONTENT_TYPE }),
  };
  return {
    type: 'object',
    description:
      'CloudEvents Kafka protocol binding, binary mode: the attributes are UTF-8 headers, the value is the data.',
    properties,
    ...(required ? { required: Object.keys(properties) } : {}),
  };
}

/** The dead-letter headers added to the original ones (see common/dead-letter.ts). */
function deadLetterHeaders(): JsonObject {
  const ce = cloudEventHeaders(false);
  const properties: JsonObject = {
    ...(ce.properties as JsonObject),
    [DLQ_HEADERS.reason]: { type: 'string', description: 'Why it could not be processed (human text).' },
    [DLQ_HEADERS.errorClass]: { type: 'string', description: 'The class of the error.' },
    [DLQ_HEADERS.errorCode]: {
      type: 'string',
      description: 'Machine-readable error code, e.g. `MALFORMED_HEADERS`, `UNKNOWN_SCHEMA`, `UNCLASSIFIED`.',
    },
    [DLQ_HEADERS.originalTopic]: { type: 'string', description: 'The topic the record was read from.' },
    [DLQ_HEADERS.originalPartition]: { type: 'string', description: 'Its partition, in decimal.' },
    [DLQ_HEADERS.originalOffset]: { type: 'string', description: 'Its offset, in decimal.' },
    [DLQ_HEADERS.attempts]: { type: 'string', description: 'How many times it was tried, in decimal.' },
    [DLQ_HEADERS.time]: {
      type: 'string',
      format: 'date-time',
      description: 'When it was dead-lettered (RFC 3339).',
    },
  };
  return {
    type: 'object',
    description:
      'The original headers (the CloudEvents ones when the original had them; a repeated header keeps its ' +
      'first value) plus the dead-letter headers.',
    properties,
    required: Object.values(DLQ_HEADERS),
  };
}

const resourceKey = (detail = ''): JsonObject => ({
  type: 'string',
  description: `The resource id (UTF-8), so all records of one resource share a partition and keep their order.${detail}`,
});

/** The message of one Avro record of the contract. */
function avroMessage(name: MessageType, topic: string): JsonObject {
  const schema = schemas.get(name) as JsonObject;
  const doc = typeof schema.doc === 'string' ? schema.doc : '';
  return {
    name,
    title: name,
    summary: doc,
    description: `\`${fullNameOf(name)}\` on \`${topic}\`. ${WIRE_FORMAT}`,
    contentType: AVRO_CONTENT_TYPE,
    headers: { $ref: '#/components/schemas/CloudEventHeaders' },
    payload: { schemaFormat: AVRO_SCHEMA_FORMAT, schema },
    bindings: {
      kafka: {
        key: resourceKey(),
        schemaIdLocation: 'payload',
        schemaIdPayloadEncoding: 'confluent',
        schemaLookupStrategy: 'TopicRecordNameStrategy',
        bindingVersion: BINDING_VERSION,
      },
    },
  };
}

/** Cleanup policy and retention of a topic, from its configuration entries (Kafka's default policy: delete). */
function topicConfiguration(entries: readonly { name: string; value: string }[]): JsonObject {
  const value = (name: string) => entries.find((e) => e.name === name)?.value;
  const policy = value('cleanup.policy') ?? 'delete';
  const retention = value('retention.ms');
  const maxBytes = value('max.message.bytes');
  return {
    'cleanup.policy': policy.split(','),
    ...(retention !== undefined ? { 'retention.ms': Number(retention) } : {}),
    ...(maxBytes !== undefined ? { 'max.message.bytes': Number(maxBytes) } : {}),
  };
}

function retentionText(config: JsonObject): string {
  const policy = config['cleanup.policy'] as string[];
  if (policy.includes('compact')) return 'Compacted: the last value of each key is kept.';
  const ms = config['retention.ms'];
  return typeof ms === 'number' ? `Kept ${ms / 86_400_000} days.` : '';
}

const ref = (path: string): JsonObject => ({ $ref: path });

/** Builds the AsyncAPI 3.0.0 document of every topic. */
export function buildAsyncApi(options: AsyncApiOptions = {}): JsonObject {
  const o = { ...asyncApiDefaults, ...options };
  const names = topicNames(o.topicPrefix);
  const kafka: Config['kafka'] = {
    brokers: [o.kafkaHost],
    clientId: 'slotstream',
    topicPrefix: o.topicPrefix,
    partitions: o.partitions,
  };
  const specs = new Map(topicSpecs({ kafka }).map((s) => [s.topic, s]));
  const transactional = new Set([names.events, names.changelog, names.commandsDlq]);

  const channels: JsonObject = {};
  const messages: JsonObject = {};
  const channel = (id: string, topic: string, description: string, channelMessages: string[]) => {
    const spec = specs.get(topic);
    if (!spec) throw new Error(`no topic specification for ${topic}`);
    const config = topicConfiguration(spec.configEntries ?? []);
    const partitions = spec.numPartitions ?? 1;
    const isTransactional = transactional.has(topic);
    channels[id] = {
      address: topic,
      title: topic,
      description: [
        description,
        `${partitions} partition${partitions === 1 ? '' : 's'}.`,
        retentionText(config),
        isTransactional ? READ_COMMITTED : '',
      ]
        .filter(Boolean)
        .join(' '),
      messages: Object.fromEntries(channelMessages.map((m) => [m, ref(`#/components/messages/${m}`)])),
      bindings: {
        kafka: {
          topic,
          partitions,
          topicConfiguration: config,
          ...(isTransactional ? { 'x-transactional': true, 'x-isolation-level': 'read_committed' } : {}),
          bindingVersion: BINDING_VERSION,
        },
      },
    };
  };

  const commandTypes = recordNamesByTopic[topics.commands];
  const eventTypes = recordNamesByTopic[topics.events];
  for (const name of commandTypes) messages[name] = avroMessage(name, names.commands);
  for (const name of eventTypes) messages[name] = avroMessage(name, names.events);

  channel(
    'commands',
    names.commands,
    'Commands, keyed by resource id: requests from the API, producers and the payment sink for the decider. ' +
      'Each record type is an Avro record with CloudEvents headers.',
    [...commandTypes],
  );
  channel(
    'events',
    names.events,
    'Decided events, keyed by resource id, written only by the decider. All events of one resource are on ' +
      'one partition in decision order; every command yields its events exactly once; `eventId` is unique; ' +
      '`reservationVersion`/`resourceVersion` only go forward (upsert only when newer). See docs/topics.md.',
    [...eventTypes],
  );

  messages.ChangelogEntry = {
    name: 'ChangelogEntry',
    title: 'Decider state entry',
    summary: "One entity of a resource's state in the decider (internal; not a contract for consumers).",
    description:
      'UTF-8 JSON `{ k: "resource" | "reservation" | "command", resourceId, … }`; a null value (tombstone) ' +
      'forgets the entity. Partition N holds the state of commands partition N. Internal to the decider: ' +
      'its shape may change without notice.',
    contentType: 'application/json',
    payload: {
      type: ['object', 'null'],
      properties: {
        k: { type: 'string', enum: ['resource', 'reservation', 'command'] },
        resourceId: { type: 'string' },
        resource: { type: ['object', 'null'] },
        reservation: { type: 'object' },
        entry: { type: 'object' },
      },
      required: ['k', 'resourceId'],
    },
    bindings: {
      kafka: {
        key: resourceKey(
          ' For a reservation the key is `<resourceId>\\u0000r\\u0000<reservationId>`, for an ' +
            'idempotency entry `<resourceId>\\u0000c\\u0000<commandId>`.',
        ),
        bindingVersion: BINDING_VERSION,
      },
    },
  };
  channel(
    'changelog',
    names.changelog,
    "The decider's state per resource, written in the same transaction as the events and the input offsets.",
    ['ChangelogEntry'],
  );

  const deadLetter = (name: string, what: string): JsonObject => ({
    name,
    title: name,
    summary: what,
    description:
      'The original key, value and headers, untouched, plus the `dlq_*` headers that say why and where it ' +
      `came from. The value is the original bytes (when it is a contract record: ${WIRE_FORMAT})`,
    headers: ref('#/components/schemas/DeadLetterHeaders'),
    payload: {
      type: 'string',
      format: 'binary',
      description: 'The original value bytes.',
    },
    bindings: {
      kafka: {
        key: { type: 'string', description: 'The original key.' },
        bindingVersion: BINDING_VERSION,
      },
    },
  });
  messages.CommandDeadLetter = deadLetter(
    'CommandDeadLetter',
    'A command the decider could not decode, that was misrouted, or that made the core fail.',
  );
  channel(
    'commandsDlq',
    names.commandsDlq,
    'Dead letters of the decider, written in its transaction with the events.',
    ['CommandDeadLetter'],
  );
  const sinkChannelId = (sink: SinkName) => `sinkDlq${sink[0]?.toUpperCase()}${sink.slice(1)}`;
  messages.EventDeadLetter = deadLetter(
    'EventDeadLetter',
    'An event a sink could never apply; `npm run dlq:replay` puts it back after a fix.',
  );
  for (const sink of SINK_NAMES) {
    channel(sinkChannelId(sink), names.sinkDlq[sink], `Dead letters of the ${sink} sink.`, [
      'EventDeadLetter',
    ]);
  }

  const channelMessages = (id: string): JsonObject[] =>
    Object.keys((channels[id] as JsonObject).messages as JsonObject).map((m) =>
      ref(`#/channels/${id}/messages/${m}`),
    );
  const operation = (
    action: 'send' | 'receive',
    id: string,
    summary: string,
    extra: JsonObject = {},
  ): JsonObject => ({
    action,
    channel: ref(`#/channels/${id}`),
    summary,
    messages: channelMessages(id),
    ...extra,
  });
  const readCommitted = { 'x-isolation-level': 'read_committed' };
  const operations: JsonObject = {
    sendCommands: operation(
      'send',
      'commands',
      'The API, producers and the payment sink send commands, keyed by resource id.',
    ),
    deciderReceiveCommands: operation(
      'receive',
      'commands',
      'The decider receives the commands of the partitions it owns, one resource at a time.',
    ),
    deciderSendEvents: operation(
      'send',
      'events',
      'The decider sends its decisions, in one Kafka transaction with its state and its input offsets.',
    ),
    deciderSendChangelog: operation(
      'send',
      'changelog',
      'The decider sends its changed state in the same transaction as the events; it reads it back on restore (read_committed).',
    ),
    deciderSendCommandDeadLetters: operation(
      'send',
      'commandsDlq',
      'The decider dead-letters commands it cannot decide, in the same transaction.',
    ),
    receiveEvents: operation(
      'receive',
      'events',
      `Downstream consumers (the sinks and yours) receive the decided events. ${READ_COMMITTED}`,
      readCommitted,
    ),
    ...Object.fromEntries(
      SINK_NAMES.map((sink) => [
        `${sink}SinkSendDeadLetters`,
        operation('send', sinkChannelId(sink), `The ${sink} sink dead-letters events it can never apply.`),
      ]),
    ),
  };

  return {
    asyncapi: '3.0.0',
    id: 'urn:slotstream:topics',
    info: {
      title: 'Slotstream topics',
      version: '1.0.0',
      description:
        'Every Kafka topic of Slotstream, generated from common/topics.ts, schemas/avro/*.avsc and ' +
        'schemas/cloudevents.ts (`npm run asyncapi`). Keys are resource ids; values of commands and events ' +
        `are Avro. ${WIRE_FORMAT} Every contract message carries the CloudEvents Kafka binding in binary mode. ` +
        `Transactional topics (${[...transactional].join(', ')}) must be read with \`isolation.level=read_committed\`. ` +
        `Topic names get the TOPIC_PREFIX prefix; commands, events and changelog have TOPIC_PARTITIONS ` +
        `partitions (${o.partitions} here) and must agree.`,
    },
    defaultContentType: AVRO_CONTENT_TYPE,
    servers: {
      local: {
        host: o.kafkaHost,
        protocol: 'kafka',
        description: 'The local stack (KRaft single node), with its Confluent-compatible schema registry.',
        bindings: {
          kafka: {
            schemaRegistryUrl: o.schemaRegistryUrl,
            schemaRegistryVendor: 'apicurio',
            bindingVersion: BINDING_VERSION,
          },
        },
      },
    },
    channels,
    operations,
    components: {
      schemas: {
        CloudEventHeaders: cloudEventHeaders(true),
        DeadLetterHeaders: deadLetterHeaders(),
      },
      messages,
    },
  };
}

/** The document as written to docs/asyncapi.json: two-space JSON with a final newline. */
export function renderAsyncApi(options: AsyncApiOptions = {}): string {
  return `${JSON.stringify(buildAsyncApi(options), null, 2)}\n`;
}
