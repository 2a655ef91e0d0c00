/**
 * The narrow Kafka port of the decider: what it needs from a Kafka client and nothing more. The
 * processor's logic talks to these interfaces only; `kafkajs/` implements them, and another client can
 * replace it without touching the processor.
 */

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type Headers = Record<string, HeaderValue>;

/** A record read from a topic. */
export interface InboundRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
}

/** A batch of records of one partition, in offset order. */
export interface InboundBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly InboundRecord[];
  /** The partition's high watermark when the batch was fetched (for lag). */
  readonly highWatermark: string;
}

/** A record to write; `partition` pins it (the changelog must sit beside its input partition). */
export interface OutboundRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** null writes a tombstone (compaction deletes the key). */
  readonly value: Buffer | null;
  readonly headers?: Record<string, string | Buffer>;
}

/** One open Kafka transaction. */
export interface TransactionPort {
  send(records: readonly OutboundRecord[]): Promise<void>;
  /** Commits the consumer group's next offset for a partition as part of this transaction. */
  sendOffsets(groupId: string, topic: string, partition: number, nextOffset: string): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A transactional producer with a fixed transactional id. `connect` runs initTransactions, which fences
 * every older producer with the same id and completes or aborts its open transaction.
 */
export interface TransactionalProducerPort {
  readonly transactionalId: string;
  connect(): Promise<void>;
  begin(): Promise<TransactionPort>;
  disconnect(): Promise<void>;
}

/** What a batch handler may do with its batch. */
export interface BatchControl {
  heartbeat(): Promise<void>;
  isStale(): boolean;
  /** The last offset the fetch covered (control records included); commit `lastOffset + 1`. */
  readonly lastOffset: string;
  /** Moves the fetch position past the batch; call only once its transaction has committed. */
  resolve(): void;
}

/** What the command source calls back with. */
export interface CommandSourceHandlers {
  /** The group gave this member these partitions (the full current set, after every rebalance). */
  onAssignment(partitions: readonly number[]): void;
  /** Decide one batch. `isStale` turns true when a seek or rebalance made the batch obsolete. */
  onBatch(batch: InboundBatch, control: BatchControl): Promise<void>;
}

/** The consumer group member that reads commands (read_committed, offsets committed only in transactions). */
export interface CommandSourcePort {
  start(handlers: CommandSourceHandlers): Promise<void>;
  /** Moves the next fetch of a partition to `offset` (after a failed transaction, back to the committed one). */
  seek(partition: number, offset: string): void;
  stop(): Promise<void>;
}

/** Reads changelog partitions from the beginning up to given end offsets (read_committed). */
export interface ChangelogReaderPort {
  read(
    topic: string,
    endOffsets: ReadonlyMap<number, string>,
    onRecord: (record: InboundRecord) => void,
  ): Promise<void>;
}

/** The few admin queries the decider needs. */
export interface AdminPort {
  /** The end offset (high watermark) of each partition of a topic. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  /** The group's committed offsets of a topic, per partition ('-1' when none). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, string>>;
  disconnect(): Promise<void>;
}
