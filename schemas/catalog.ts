/**
 * The message catalog: which records travel on which topic, their parsed Avro types and their
 * registry subjects. The serde module builds on this; the .avsc files stay the source of truth.
 */
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import {
  avroFullNames,
  type Command,
  type CommandType,
  commandTypes,
  type Event,
  type EventType,
  eventTypes,
} from './generated/types.ts';

/** Topic names owned by the contract. */
export const topics = {
  commands: 'reservations.commands',
  events: 'reservations.events',
} as const;

/** A topic of the contract. */
export type Topic = (typeof topics)[keyof typeof topics];

/** Any message of the contract. */
export type Message = Command | Event;
/** Record name (the `type` discriminant) of any message. */
export type MessageType = Message['type'];
/** The message interface for a record name. */
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Record names carried by each topic. */
export const recordNamesByTopic: { readonly [T in Topic]: readonly MessageType[] } = {
  [topics.commands]: commandTypes,
  [topics.events]: eventTypes,
};

/** Parsed .avsc schema (plain JSON) of each record, as registered in the schema registry. */
export const schemas: ReadonlyMap<MessageType, object> = new Map(
  [...commandTypes, ...eventTypes].map((name) => [
    name,
    JSON.parse(readFileSync(new URL(`./avro/${name}.avsc`, import.meta.url), 'utf8')) as object,
  ]),
);

/** avsc Type of each record; each file is parsed alone because each is a standalone schema. */
export const avroTypes: ReadonlyMap<MessageType, avro.Type> = new Map(
  [...schemas].map(([name, schema]) => [name, avro.Type.forSchema(schema as avro.Schema)]),
);

/** avsc Types of the records each topic carries: the reader schemas of this build, for the serde. */
export const avroTypesByTopic: { readonly [T in Topic]: readonly avro.Type[] } = {
  [topics.commands]: commandTypes.map(avroTypeOf),
  [topics.events]: eventTypes.map(avroTypeOf),
};

const commandSet: ReadonlySet<string> = new Set(commandTypes);
const eventSet: ReadonlySet<string> = new Set(eventTypes);

/** True if the record name is a command. */
export function isCommandType(name: string): name is CommandType {
  return commandSet.has(name);
}

/** True if the record name is an event. */
export function isEventType(name: string): name is EventType {
  return eventSet.has(name);
}

/** The topic a record is written to. */
export function topicFor(name: MessageType): Topic {
  return isCommandType(name) ? topics.commands : topics.events;
}

/** Fully qualified Avro name, e.g. `slotstream.events.ReservationHeld`. */
export function fullNameOf(name: MessageType): string {
  return avroFullNames[name];
}

const byFullName: ReadonlyMap<string, MessageType> = new Map(
  (Object.entries(avroFullNames) as [MessageType, string][]).map(([name, full]) => [full, name]),
);

/** The record name (`type` discriminant) for a fully qualified Avro name, or undefined if not ours. */
export function messageTypeOf(fullName: string): MessageType | undefined {
  return byFullName.get(fullName);
}

/** Registry subject under the TopicRecordNameStrategy: `<topic>-<fully qualified record name>`. */
export function subjectFor(name: MessageType): string {
  return `${topicFor(name)}-${fullNameOf(name)}`;
}

/** The avsc Type of a record name; throws for a name outside the contract. */
export function avroTypeOf(name: string): avro.Type {
  const type = avroTypes.get(name as MessageType);
  if (!type) throw new Error(`not a record of the contract: ${name}`);
  return type;
}

/** The value to encode: the message without its `type` discriminant (not a field on the wire). */
export function toAvroValue(message: Message): Record<string, unknown> {
  const { type: _type, ...fields } = message;
  return fields;
}

/**
 * The typed message for a decoded value: the record's fields plus the `type` discriminant. A shallow copy:
 * nested records stay avsc's record instances, which serialise and compare like plain objects. (A deep copy
 * here halved the decode rate of the sinks.)
 */
export function fromAvroValue<T extends MessageType>(name: T, value: object): MessageOf<T> {
  return { type: name, ...value } as MessageOf<T>;
}
