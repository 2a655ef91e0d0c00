/**
 * The checker's own view of a topic, sharing no code with the system's serde: every record read with
 * read_committed (a kafkajs consumer group of its own, `readUncommitted: false`) up to the end offsets taken
 * when reading starts, and decoded here — the Confluent wire header (magic byte 0, 4-byte schema id), the
 * writer's schema fetched from the registry by that id (`GET /schemas/ids/{id}`), the body decoded with
 * `avsc` against that very schema. A record that does not decode is reported, never skipped silently.
 */
import { randomUUID } from 'node:crypto';
import avro from 'avsc';
import type { Kafka } from 'kafkajs';

/** One decoded record: where it sits, its record name (e.g. ReservationHeld) and its fields. */
export interface DecodedRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string | null;
  /** The writer schema's record name without its namespace. */
  readonly type: string;
  // biome-ignore lint/suspicious/noExplicitAny: fields as the writer's schema has them; the checker reads them loosely
  readonly value: Record<string, any>;
}

export interface TopicContents {
  readonly records: DecodedRecord[];
  /** `partition:offset reason` of each record that could not be decoded. */
  readonly undecodable: string[];
  /** Set when reading stopped short of the end (e.g. a transaction left open holds the stable offset). */
  readonly incomplete?: string;
  /** The end offset of each partition, taken when reading started: what was read up to. */
  readonly ends: ReadonlyMap<number, bigint>;
}

/** Decodes Confluent-framed Avro with writer schemas from the registry, cached by id. */
export class IndependentDecoder {
  private readonly types = new Map<number, Promise<{ name: string; type: avro.Type }>>();

  constructor(private readonly registryUrl: string) {}

  async decode(value: Buffer | null): Promise<{ name: string; value: Record<string, unknown> }> {
    if (!value || value.length < 5)
      throw new Error(`${value?.length ?? 0} bytes: too short for the wire format`);
    if (value[0] !== 0) throw new Error(`magic byte ${value[0]}, expected 0`);
    const id = value.readInt32BE(1);
    const { name, type } = await this.writer(id);
    return { name, value: type.fromBuffer(value.subarray(5)) as Record<string, unknown> };
  }

  private writer(id: number): Promise<{ name: string; type: avro.Type }> {
    let pending = this.types.get(id);
    if (!pending) {
      pending = (async () => {
        const res = await fetch(`${this.registryUrl}/schemas/ids/${id}`, {
          signal: AbortSignal.timeout(10_000),
        });
        if (!res.ok) throw new Error(`registry answered ${res.status} for schema ${id}`);
        const { schema } = (await res.json()) as { schema: string };
        const parsed = JSON.parse(schema) as { name?: string };
        const type = avro.Type.forSchema(parsed as avro.Schema);
        const name =
          String(parsed.name ?? type.name ?? '')
            .split('.')
            .pop() ?? '';
        if (!name) throw new Error(`schema ${id} is not a named record`);
        return { name, type };
      })();
      pending.catch(() => this.types.delete(id));
      this.types.set(id, pending);
    }
    return pending;
  }
}

/** Reads every committed record of `topic` up to its current end, in partition order. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  decoder: IndependentDecoder,
  timeoutMs = 120_000,
): Promise<TopicContents> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect())).map((p) => [
      p.partition,
      BigInt(p.high),
    ]),
  );
  const reached = new Map<number, bigint>();
  const pending = () => [...ends].filter(([p, high]) => high > 0n && (reached.get(p) ?? 0n) < high);
  const raw: { partition: number; offset: bigint; key: Buffer | null; value: Buffer | null }[] = [];
  const seen = new Set<string>(); // a batch fetched again (after a rejoin) is not counted twice
  let incomplete: string | undefined;
  if (pending().length > 0) {
    const consumer = kafka.consumer({
      groupId: `chaos-checker-${randomUUID()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const behind = pending().map(([p, high]) => `partition ${p} at ${reached.get(p) ?? 0n} of ${high}`);
          incomplete = `read_committed did not reach the end in ${timeoutMs} ms: ${behind.join(', ')}`;
          resolve();
        }, timeoutMs);
        // Also fires for batches of only transaction markers, which never reach eachBatch.
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          const next = BigInt(payload.lastOffset) + 1n;
          if (next > (reached.get(payload.partition) ?? 0n)) reached.set(payload.partition, next);
          if (pending().length === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
        consumer
          .run({
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages) {
                const offset = BigInt(m.offset);
                if (offset >= (ends.get(batch.partition) ?? 0n)) continue; // written after we started
                const at = `${batch.partition}:${offset}`;
                if (seen.has(at)) continue;
                seen.add(at);
                raw.push({ partition: batch.partition, offset, key: m.key, value: m.value });
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }
  raw.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  const records: DecodedRecord[] = [];
  const undecodable: string[] = [];
  for (const r of raw) {
    try {
      const { name, value } = await decoder.decode(r.value);
      records.push({
        partition: r.partition,
        offset: r.offset,
        key: r.key?.toString('utf8') ?? null,
        type: name,
        value: { ...value },
      });
    } catch (error) {
      undecodable.push(`${r.partition}:${r.offset} ${(error as Error).message}`);
    }
  }
  return { records, undecodable, ends, ...(incomplete ? { incomplete } : {}) };
}
