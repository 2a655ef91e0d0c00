/**
 * Avro serde in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body) against a
 * Confluent-compatible schema registry, through @kafkajs/confluent-schema-registry.
 *
 * Several record types share a topic, so subjects follow the topic-record-name strategy:
 * `<topic>-<fully.qualified.Name>`. Schema ids are looked up once per subject and cached; decoding
 * resolves the writer's schema (fetched by id, cached by the client) against this build's reader schema,
 * so a consumer reads records written with an older or newer compatible schema.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import {
  MalformedMessageError,
  RegistryUnavailableError,
  SlotstreamError,
  UnknownRecordTypeError,
  UnknownSchemaError,
} from '../common/errors.ts';
import { fullName, lookupSchemaId, registerSchema } from './registry-admin.ts';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/** The subject of one record type on one topic (topic-record-name strategy). */
export function subjectName(topic: string, recordFullName: string): string {
  return `${topic}-${recordFullName}`;
}

/**
 * An Avro record schema as written in its .avsc file. The registry gets exactly this JSON: avsc's
 * `Type#schema()` drops defaults and logical types, which would make the registry judge a different schema.
 */
export interface RecordSchema {
  readonly type: 'record';
  readonly name: string;
  readonly namespace?: string;
  readonly fields: readonly unknown[];
  readonly [attribute: string]: unknown;
}

/** A decoded message: the record's fully qualified name, its value, and the writer's schema id. */
export interface Decoded<T = unknown> {
  readonly name: string;
  readonly value: T;
  readonly schemaId: number;
}

/** Converts what the registry client throws into our errors: 404 means unknown, the rest may pass. */
function fromRegistryError(error: unknown, what: string, schemaId?: number): Error {
  if (error instanceof SlotstreamError) return error;
  const status = (error as { status?: number } | undefined)?.status;
  if (status === 404 && schemaId !== undefined) return new UnknownSchemaError(schemaId, error);
  if (status === undefined || status >= 500 || status === 429) {
    return new RegistryUnavailableError(`schema registry unavailable while ${what}`, error);
  }
  return error instanceof Error ? error : new Error(String(error));
}

export interface SerdeOptions {
  /** Registry API root, e.g. http://127.0.0.1:8081/apis/ccompat/v7 */
  readonly registryUrl: string;
  /** The record schemas each topic carries (this build's reader schemas), keyed by topic. */
  readonly topics: Readonly<Record<string, readonly RecordSchema[]>>;
  /**
   * Register a schema on first use when its subject does not have it yet. Off in production, where
   * `npm run schemas:register` does it deliberately; handy in tests. @default false
   */
  readonly autoRegister?: boolean;
}

/** Encodes and decodes the records of our topics. One instance per process; it caches ids and resolvers. */
export class AvroSerde {
  readonly registry: SchemaRegistry;
  private readonly types = new Map<string, Map<string, { type: avro.Type; text: string }>>();
  private readonly ids = new Map<string, number>();
  private readonly pendingIds = new Map<string, Promise<number>>();
  private readonly readers = new Map<string, { name: string; read: (body: Buffer) => unknown }>();

  constructor(private readonly options: SerdeOptions) {
    this.registry = new SchemaRegistry({
      host: options.registryUrl,
      retry: { retries: 2, initialRetryTimeInSecs: 0.05 },
    });
    for (const [topic, schemas] of Object.entries(options.topics)) {
      const entries = schemas.map(
        (s) =>
          [fullName(s), { type: avro.Type.forSchema(s as avro.Schema), text: JSON.stringify(s) }] as const,
      );
      this.types.set(topic, new Map(entries));
    }
  }

  /** The reader type of a record on a topic; throws UnknownRecordTypeError if the topic does not carry it. */
  typeOf(topic: string, recordFullName: string): avro.Type {
    return this.entry(topic, recordFullName).type;
  }

  private entry(topic: string, recordFullName: string) {
    const entry = this.types.get(topic)?.get(recordFullName);
    if (!entry) throw new UnknownRecordTypeError(recordFullName, topic);
    return entry;
  }

  /** The registry id of this build's schema for a record on a topic (cached after the first call). */
  async schemaId(topic: string, recordFullName: string): Promise<number> {
    const subject = subjectName(topic, recordFullName);
    const cached = this.ids.get(subject);
    if (cached !== undefined) return cached;
    let pending = this.pendingIds.get(subject);
    if (!pending) {
      pending = this.lookupId(subject, this.entry(topic, recordFullName).text).finally(() =>
        this.pendingIds.delete(subject),
      );
      this.pendingIds.set(subject, pending);
    }
    const id = await pending;
    this.ids.set(subject, id);
    return id;
  }

  private async lookupId(subject: string, schema: string): Promise<number> {
    const id = await lookupSchemaId(this.options.registryUrl, subject, schema);
    if (id !== undefined) return id;
    if (this.options.autoRegister) return registerSchema(this.options.registryUrl, subject, schema);
    throw new UnknownSchemaError(
      -1,
      new Error(`${subject} does not have this schema: run npm run schemas:register`),
    );
  }

  /** Encodes a record for a topic. The first call per record type asks the registry for its id. */
  async encode(topic: string, recordFullName: string, value: unknown): Promise<Buffer> {
    const id = await this.schemaId(topic, recordFullName);
    return this.encodeWithId(id, this.typeOf(topic, recordFullName), value);
  }

  /** Encodes without any await when the id is already known (the hot path of a batch). */
  encodeWithId(schemaId: number, type: avro.Type, value: unknown): Buffer {
    const body = type.toBuffer(value);
    const framed = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    framed.writeUInt8(MAGIC_BYTE, 0);
    framed.writeInt32BE(schemaId, 1);
    body.copy(framed, HEADER_BYTES);
    return framed;
  }

  /**
   * Decodes a message of a topic. Throws MalformedMessageError for bytes that are not a framed Avro
   * record, UnknownSchemaError for an id the registry lacks, UnknownRecordTypeError for a record type the
   * topic does not carry, RegistryUnavailableError (retryable) when the registry cannot be asked.
   */
  async decode<T = unknown>(topic: string, message: Buffer | null): Promise<Decoded<T>> {
    if (!message || message.length < HEADER_BYTES) {
      throw new MalformedMessageError(
        `message of ${message?.length ?? 0} bytes is too short for the wire format`,
      );
    }
    if (message.readUInt8(0) !== MAGIC_BYTE) {
      throw new MalformedMessageError(`unknown magic byte ${message.readUInt8(0)} (expected ${MAGIC_BYTE})`);
    }
    const schemaId = message.readInt32BE(1);
    const reader = await this.readerFor(topic, schemaId);
    try {
      return { name: reader.name, value: reader.read(message.subarray(HEADER_BYTES)) as T, schemaId };
    } catch (error) {
      throw new MalformedMessageError(`body does not decode with schema ${schemaId} (${reader.name})`, error);
    }
  }

  private async readerFor(topic: string, schemaId: number) {
    const key = `${topic}\u0000${schemaId}`;
    const cached = this.readers.get(key);
    if (cached) return cached;
    let writer: avro.Type;
    try {
      writer = (await this.registry.getSchema(schemaId)) as unknown as avro.Type;
    } catch (error) {
      throw fromRegistryError(error, `fetching schema ${schemaId}`, schemaId);
    }
    const name = writer.name;
    if (!name) throw new UnknownRecordTypeError('(unnamed schema)', topic);
    const readerType = this.typeOf(topic, name);
    const resolver = readerType.equals(writer) ? undefined : readerType.createResolver(writer);
    const reader = { name, read: (body: Buffer) => readerType.fromBuffer(body, resolver) };
    this.readers.set(key, reader);
    return reader;
  }
}
