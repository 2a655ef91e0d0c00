/**
 * How far the payment sink has read the events topic, as the reconciler needs to know it: a result whose
 * decision the ledger has not recorded is lost only if the sink has read every event written after the
 * decider had time to decide it. Wall-clock time alone cannot tell lag from loss (a sink an hour behind
 * would send an hour of results again); offsets can.
 *
 * A `mark` is where the topic ends now (per partition, the last stable offset: what read_committed readers
 * see). The sink has `reached` a mark when its consumer group has committed at least that far on every
 * partition, whichever instance of the sink holds which partition.
 */
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { createKafka } from '../../common/kafka.ts';
import { topicNames } from '../../common/topics.ts';

/** Where the events topic ended when it was taken: partition → offset. */
export type EventsMark = ReadonlyMap<number, bigint>;

/** The port the reconciler uses. */
export interface SinkProgress {
  /** Where the events topic ends now. */
  mark(): Promise<EventsMark>;
  /** Whether the sink's consumer group has applied and committed everything before `mark`. */
  reached(mark: EventsMark): Promise<boolean>;
  close(): Promise<void>;
}

export interface GroupProgressOptions {
  readonly config: Pick<Config, 'kafka'>;
  readonly logger: Logger;
  /** The payment sink's consumer group (the sink worker's `groupId`). */
  readonly groupId: string;
}

/** The committed offsets of the sink's consumer group, read with an admin client. */
export class GroupProgress implements SinkProgress {
  private readonly admin: Admin;
  private readonly topic: string;
  private readonly groupId: string;
  private connected: Promise<void> | undefined;

  constructor(options: GroupProgressOptions) {
    this.admin = createKafka(options.config, options.logger, 'payment-reconciler').admin();
    this.topic = topicNames(options.config.kafka.topicPrefix).events;
    this.groupId = options.groupId;
  }

  private connect(): Promise<void> {
    this.connected ??= this.admin.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    return this.connected;
  }

  async mark(): Promise<EventsMark> {
    await this.connect();
    const offsets = await this.admin.fetchTopicOffsets(this.topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)] as const));
  }

  async reached(mark: EventsMark): Promise<boolean> {
    await this.connect();
    const [committed, offsets] = await Promise.all([
      this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
      this.admin.fetchTopicOffsets(this.topic),
    ]);
    const done = new Map(
      (committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)] as const),
    );
    const low = new Map(offsets.map((o) => [o.partition, BigInt(o.low)] as const));
    for (const [partition, end] of mark) {
      const at = done.get(partition) ?? -1n;
      // Nothing committed yet: only what retention already deleted counts as read.
      if ((at >= 0n ? at : (low.get(partition) ?? 0n)) < end) return false;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect().catch(() => undefined);
    this.connected = undefined;
  }
}
