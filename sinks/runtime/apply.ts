/**
 * Applies a batch to a sink and isolates the records it refuses. A sink writes a batch in one round trip,
 * so one bad record fails the whole call; on a non-retryable failure the batch is split in halves until the
 * refused records stand alone (log2(n) extra calls per bad record), and everything else is applied.
 * A retryable failure anywhere fails the whole batch: it is retried as a whole, which is safe because every
 * sink is idempotent.
 */
import { describe } from './errors.ts';
import type { Sink, SinkEvent } from './types.ts';

/** A record the sink refused, with the error it gave. */
export interface Refusal {
  readonly event: SinkEvent;
  readonly error: unknown;
}

export type ApplyOutcome =
  | { readonly ok: true; readonly refused: readonly Refusal[] }
  | { readonly ok: false; readonly error: unknown };

export async function applyIsolating(sink: Sink, events: readonly SinkEvent[]): Promise<ApplyOutcome> {
  if (events.length === 0) return { ok: true, refused: [] };
  try {
    await sink.handleBatch(events);
    return { ok: true, refused: [] };
  } catch (error) {
    if (describe(error).retryable) return { ok: false, error };
    const [only] = events;
    if (events.length === 1 && only) return { ok: true, refused: [{ event: only, error }] };
    const middle = Math.ceil(events.length / 2);
    const left = await applyIsolating(sink, events.slice(0, middle));
    if (!left.ok) return left;
    const right = await applyIsolating(sink, events.slice(middle));
    if (!right.ok) return right;
    return { ok: true, refused: [...left.refused, ...right.refused] };
  }
}
