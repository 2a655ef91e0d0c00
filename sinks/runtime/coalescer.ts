/**
 * Gathers the batches of the partitions handled at the same time into one call of the sink. kafkajs hands
 * one batch per partition to concurrent eachBatch calls and fetches again only when all have returned, so
 * once every call in progress has submitted (or left without submitting) nothing more can arrive: that is
 * the moment to flush, with no timer. Deliveries over `maxEvents` are applied in several calls.
 * Flushes run one at a time, so a sink never sees two of its own calls overlap.
 */
import { type ApplyOutcome, applyIsolating, type Refusal } from './apply.ts';
import type { Sink, SinkEvent } from './types.ts';

interface Submission {
  readonly events: readonly SinkEvent[];
  readonly resolve: (outcome: ApplyOutcome) => void;
}

export interface FlushStats {
  readonly events: number;
  readonly calls: number;
  readonly durationMs: number;
}

export class BatchCoalescer {
  private waiting = 0;
  private pending: Submission[] = [];
  private pendingEvents = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: Sink,
    private readonly maxEvents: number,
    private readonly onFlush: (stats: FlushStats) => void = () => {},
  ) {}

  /** A batch handler has started: it will submit or leave. */
  enter(): void {
    this.waiting += 1;
  }

  /** A handler that entered is done without submitting (nothing decodable, or stopping). */
  leave(): void {
    this.waiting -= 1;
    if (this.waiting === 0 && this.pending.length > 0) this.flush();
  }

  /** Submits a handler's events; resolves with their outcome once they are applied (or not). */
  submit(events: readonly SinkEvent[]): Promise<ApplyOutcome> {
    this.waiting -= 1;
    const outcome = new Promise<ApplyOutcome>((resolve) => this.pending.push({ events, resolve }));
    this.pendingEvents += events.length;
    if (this.waiting === 0 || this.pendingEvents >= this.maxEvents) this.flush();
    return outcome;
  }

  private flush(): void {
    const submissions = this.pending;
    this.pending = [];
    this.pendingEvents = 0;
    this.chain = this.chain.then(() => this.apply(submissions));
  }

  private async apply(submissions: readonly Submission[]): Promise<void> {
    const started = performance.now();
    const all = submissions.flatMap((s) => s.events);
    let failure: ApplyOutcome | undefined;
    const refused = new Map<SinkEvent, Refusal>();
    let calls = 0;
    for (let start = 0; start < all.length && !failure; start += this.maxEvents) {
      calls += 1;
      const outcome = await applyIsolating(this.sink, all.slice(start, start + this.maxEvents)).catch(
        (error: unknown): ApplyOutcome => ({ ok: false, error }),
      );
      if (!outcome.ok) failure = outcome;
      else for (const refusal of outcome.refused) refused.set(refusal.event, refusal);
    }
    this.onFlush({ events: all.length, calls, durationMs: performance.now() - started });
    for (const submission of submissions) {
      // A failure fails every submission, including those written by earlier calls: they are retried whole.
      if (failure) submission.resolve(failure);
      else {
        const mine = submission.events.flatMap((e) => refused.get(e) ?? []);
        submission.resolve({ ok: true, refused: mine });
      }
    }
  }
}
