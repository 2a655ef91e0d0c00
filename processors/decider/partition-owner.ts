/**
 * What the decider holds for one input partition it owns: the transactional producer (its id is fixed per
 * partition, so a new owner fences the old one), the resource states restored from the changelog, the
 * next offset to decide, and a queue that runs the partition's work (batches, timers) one at a time.
 */
import type { ResourceStore } from '../core/index.ts';
import type { TransactionalProducerPort } from '../ports.ts';

export type OwnerStatus = 'initializing' | 'ready' | 'closed';

export class PartitionOwner {
  status: OwnerStatus = 'initializing';
  store: ResourceStore;
  /** Offsets below this are decided and committed; records below it are skipped if fetched again. */
  nextOffset = 0n;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly partition: number,
    readonly producer: TransactionalProducerPort,
    store: ResourceStore,
  ) {
    this.store = store;
  }

  /** Runs `work` after everything queued before it, so one partition is never decided concurrently. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for queued work, then disconnects the producer. Idempotent. */
  async close(): Promise<void> {
    if (this.status === 'closed') return;
    this.status = 'closed';
    await this.queue;
    await this.producer.disconnect().catch(() => undefined);
  }
}
