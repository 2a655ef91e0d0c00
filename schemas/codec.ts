/**
 * The message codec: typed commands and events ⇄ Kafka messages (key = resource id, Avro value in the
 * Confluent wire format, CloudEvents headers). The one place where the contract meets the wire; the API,
 * producers, the decider and the sinks all go through it.
 */
import type { IHeaders } from 'kafkajs';
import type { Config } from '../common/config.ts';
import { MalformedHeadersError, UnknownRecordTypeError } from '../common/errors.ts';
import { type TopicNames, topicNames } from '../common/topics.ts';
import {
  fromAvroValue,
  fullNameOf,
  isCommandType,
  isEventType,
  type Message,
  type MessageType,
  schemas,
  toAvroValue,
} from './catalog.ts';
import { buildHeaders, type CloudEventAttributes, parseHeaders } from './cloudevents.ts';
import type { Command, CommandType, Event, EventType } from './generated/types.ts';
import { AvroSerde, type RecordSchema } from './serde.ts';

/** A message ready for kafkajs's `send`. */
export interface WireMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

/** Who sent a message and what set it off; the rest of the CloudEvents attributes come from the record. */
export interface Provenance {
  /** e.g. `/slotstream/api`, `/slotstream/processor`. */
  readonly source: string;
  readonly correlationId: string;
  readonly causationId: string;
}

/** A decoded message with its CloudEvents attributes. */
export interface Received<T> {
  readonly message: T;
  readonly attributes: CloudEventAttributes;
}

const FULL_NAME_TO_TYPE = new Map<string, MessageType>(
  [...schemas.keys()].map((name) => [fullNameOf(name), name] as const),
);

function subjectOf(message: Message): string {
  return 'reservationId' in message && typeof message.reservationId === 'string'
    ? message.reservationId
    : message.resourceId;
}

function timeOf(message: Message): number {
  return 'decidedAt' in message ? message.decidedAt : message.acceptedAt;
}

function idOf(message: Message): string {
  return 'eventId' in message ? message.eventId : message.commandId;
}

/** Encodes and decodes the contract's messages for one set of topic names. */
export class MessageCodec {
  readonly topics: TopicNames;
  readonly serde: AvroSerde;

  constructor(options: { registryUrl: string; topics: TopicNames; autoRegister?: boolean }) {
    this.topics = options.topics;
    const commandSchemas: RecordSchema[] = [];
    const eventSchemas: RecordSchema[] = [];
    for (const [name, schema] of schemas) {
      (isCommandType(name) ? commandSchemas : eventSchemas).push(schema as RecordSchema);
    }
    this.serde = new AvroSerde({
      registryUrl: options.registryUrl,
      topics: { [this.topics.commands]: commandSchemas, [this.topics.events]: eventSchemas },
      autoRegister: options.autoRegister ?? false,
    });
  }

  static fromConfig(config: Pick<Config, 'kafka' | 'registry'>, options: { autoRegister?: boolean } = {}) {
    return new MessageCodec({
      registryUrl: config.registry.url,
      topics: topicNames(config.kafka.topicPrefix),
      ...options,
    });
  }

  /** Looks up every schema id once, so the hot path never waits on the registry. */
  async warmUp(): Promise<void> {
    await Promise.all(
      [...schemas.keys()].map((name) =>
        this.serde.schemaId(
          isCommandType(name) ? this.topics.commands : this.topics.events,
          fullNameOf(name),
        ),
      ),
    );
  }

  encodeCommand(command: Command, provenance: Provenance): Promise<WireMessage> {
    return this.encode(this.topics.commands, command, provenance);
  }

  encodeEvent(event: Event, provenance: Provenance): Promise<WireMessage> {
    return this.encode(this.topics.events, event, provenance);
  }

  private async encode(topic: string, message: Message, provenance: Provenance): Promise<WireMessage> {
    const fullName = fullNameOf(message.type);
    const value = await this.serde.encode(topic, fullName, toAvroValue(message));
    const headers = buildHeaders({
      id: idOf(message),
      source: provenance.source,
      type: fullName,
      time: timeOf(message),
      subject: subjectOf(message),
      correlationId: provenance.correlationId,
      causationId: provenance.causationId,
    });
    return { key: message.resourceId, value, headers };
  }

  /** Decodes a command; throws the serde's typed errors or MalformedHeadersError. */
  async decodeCommand(value: Buffer | null, headers: IHeaders | undefined): Promise<Received<Command>> {
    const received = await this.decode(this.topics.commands, value, headers);
    if (!isCommandType(received.message.type))
      throw new UnknownRecordTypeError(received.message.type, this.topics.commands);
    return received as Received<Command>;
  }

  async decodeEvent(value: Buffer | null, headers: IHeaders | undefined): Promise<Received<Event>> {
    const received = await this.decode(this.topics.events, value, headers);
    if (!isEventType(received.message.type))
      throw new UnknownRecordTypeError(received.message.type, this.topics.events);
    return received as Received<Event>;
  }

  private async decode(
    topic: string,
    value: Buffer | null,
    headers: IHeaders | undefined,
  ): Promise<Received<Message>> {
    const attributes = parseHeaders(headers);
    const decoded = await this.serde.decode<object>(topic, value);
    const type = FULL_NAME_TO_TYPE.get(decoded.name);
    if (!type) throw new UnknownRecordTypeError(decoded.name, topic);
    if (attributes.type !== decoded.name) {
      throw new MalformedHeadersError([
        `ce_type '${attributes.type}' does not match the record ${decoded.name}`,
      ]);
    }
    return { message: fromAvroValue(type, decoded.value), attributes };
  }
}

export type { CommandType, EventType };
