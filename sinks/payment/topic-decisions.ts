/**
 * Reading the events topic back, independently of any sink's consumer group: once from the beginning to
 * where it ends when the read starts, with read_committed (only the decider's committed transactions), in
 * a throw-away consumer group of its own. `payments:check` (./check.ts) reads every payment decision this
 * way; the reconciler (./reconciler.ts) looks up the original decision of a result the decider called a
 * DUPLICATE when the ledger never saw that decision (TopicDecisionLookup).
 *
 * Only records whose `ce_type` header names one of the wanted types are decoded, so a scan costs a fetch
 * of the topic and the decoding of the few records it is about.
 */
import { randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { createKafka } from '../../common/kafka.ts';
import { topicNames } from '../../common/topics.ts';
import { fullNameOf } from '../../schemas/catalog.ts';
import { CE_HEADERS } from '../../schemas/cloudevents.ts';
import { MessageCodec } from '../../schemas/codec.ts';
import type { Event } from '../../schemas/generated/types.ts';
import { RESULT_DECISION_TYPES, resultDecisionOf } from './decisions.ts';

/** Where an event was read. */
export interface EventPosition {
  readonly partition: number;
  readonly offset: string;
}

export interface ScanOptions {
  readonly config: Pick<Config, 'kafka' | 'registry'>;
  readonly logger: Logger;
  /** Only events of these types are decoded and handed to `each`. */
  readonly types: readonly Event['type'][];
  /** The scan fails if it has not reached the end by then. @default 300_000 */
  readonly timeoutMs?: number;
}

/** What a scan read. */
export interface ScanSummary {
  /** Records read (every type). */
  readonly records: number;
  /** Records of the wanted types, decoded. */
  readonly decoded: number;
}

function headerOf(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/**
 * Reads the events topic from the beginning up to its end as of the start of the scan, calling `each` for
 * every event of the wanted types, each partition in offset order.
 */
export async function scanEvents(
  options: ScanOptions,
  each: (event: Event, at: EventPosition) => void,
): Promise<ScanSummary> {
  const { config, logger } = options;
  const prefix = config.kafka.topicPrefix;
  const topic = topicNames(prefix).events;
  const kafka = createKafka(config, logger, 'payment-events-scan');
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${prefix}slotstream-payment-scan-${randomUUID()}`;
  let joined = false;
  try {
    // The admin client lists offsets read_committed: `high` is the last stable offset.
    const offsets = await admin.fetchTopicOffsets(topic);
    const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)] as const));
    const pending = new Set(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition));
    if (pending.size === 0) return { records: 0, decoded: 0 };

    const wanted = new Set(options.types.map((t) => fullNameOf(t)));
    const codec = MessageCodec.fromConfig(config);
    let records = 0;
    let decoded = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    // Also emitted for a batch of only transaction markers, which never reaches eachBatch.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (BigInt(payload.lastOffset) + 1n < (ends.get(payload.partition) ?? 0n)) return;
      pending.delete(payload.partition);
      if (pending.size === 0) finish();
    });
    let failure: unknown;
    try {
      await consumer.connect();
      joined = true;
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const end = ends.get(batch.partition) ?? 0n;
          for (const message of batch.messages) {
            if (BigInt(message.offset) >= end) break;
            records += 1;
            const type = headerOf(message.headers, CE_HEADERS.type);
            if (type === undefined || !wanted.has(type)) continue;
            try {
              const { message: event } = await codec.decodeEvent(message.value, message.headers);
              decoded += 1;
              each(event, { partition: batch.partition, offset: message.offset });
            } catch (error) {
              failure ??= error;
              finish();
              throw error;
            }
          }
        },
      });
      const timeoutMs = options.timeoutMs ?? 300_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([finished.then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      if (failure !== undefined) throw failure;
      if (outcome === 'timeout') {
        throw new Error(`reading ${topic} did not reach its end within ${timeoutMs} ms`);
      }
      return { records, decoded };
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  } finally {
    if (joined) await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/** Finds decisions about payment results on the events topic. */
export interface DecisionLookup {
  /**
   * The decisions other than DUPLICATE about these result commands, each command's in topic order;
   * commands with none found are absent.
   */
  find(commandIds: ReadonlySet<string>): Promise<Map<string, Event[]>>;
}

/** Looks decisions up by reading the whole events topic (rare: see the reconciler). */
export class TopicDecisionLookup implements DecisionLookup {
  constructor(
    private readonly config: Pick<Config, 'kafka' | 'registry'>,
    private readonly logger: Logger,
  ) {}

  async find(commandIds: ReadonlySet<string>): Promise<Map<string, Event[]>> {
    const found = new Map<string, Event[]>();
    if (commandIds.size === 0) return found;
    await scanEvents(
      { config: this.config, logger: this.logger, types: [...RESULT_DECISION_TYPES] },
      (event) => {
        const decision = resultDecisionOf(event);
        if (!decision || decision.kind === 'duplicate' || !commandIds.has(decision.commandId)) return;
        const list = found.get(decision.commandId);
        if (list) list.push(event);
        else found.set(decision.commandId, [event]);
      },
    );
    return found;
  }
}
