/**
 * Long-polling without a query per waiting request: every waiter registers the key it waits for and a
 * condition; one timer asks the source for all waited-for keys at once (one query per tick, whatever the
 * number of waiters) and resolves the waiters whose condition holds. A waiter ends with the value that
 * satisfied it, or undefined at its deadline or when its request goes away.
 */

/** Fetches the current value of each key; keys without a value are absent from the map. */
export type BatchFetch<V> = (keys: readonly string[]) => Promise<ReadonlyMap<string, V>>;

interface Waiter<V> {
  readonly key: string;
  readonly done: (value: V) => boolean;
  readonly resolve: (value: V | undefined) => void;
  readonly timer: NodeJS.Timeout;
  last: V | undefined;
}

/** Waits for values to reach a condition, polling them in batches. */
export class BatchWaiter<V> {
  private readonly waiters = new Set<Waiter<V>>();
  private ticking: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(
    private readonly fetch: BatchFetch<V>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Number of requests waiting now. */
  get size(): number {
    return this.waiters.size;
  }

  /**
   * Resolves with the first value of `key` for which `done` holds, checked at once and then every
   * interval; with the last value seen (or undefined) after `timeoutMs` or when `signal` aborts.
   */
  async wait(
    key: string,
    done: (value: V) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ value: V | undefined; satisfied: boolean }> {
    const first = (await this.fetch([key])).get(key);
    if (first !== undefined && done(first)) return { value: first, satisfied: true };
    if (timeoutMs <= 0 || this.closed || signal?.aborted) return { value: first, satisfied: false };
    return new Promise((resolve) => {
      const finish = (value: V | undefined) => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
        resolve({ value, satisfied: value !== undefined && done(value) });
      };
      const onAbort = () => finish(waiter.last);
      const waiter: Waiter<V> = {
        key,
        done,
        resolve: finish,
        timer: setTimeout(() => finish(waiter.last), timeoutMs),
        last: first,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.arm();
    });
  }

  /** Ends every wait now (with the last value seen) and stops polling. */
  close(): void {
    this.closed = true;
    if (this.ticking) clearTimeout(this.ticking);
    for (const waiter of [...this.waiters]) waiter.resolve(waiter.last);
  }

  private arm(): void {
    if (this.ticking || this.polling || this.closed || this.waiters.size === 0) return;
    this.ticking = setTimeout(() => {
      this.ticking = undefined;
      void this.poll();
    }, this.intervalMs);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      const keys = [...new Set([...this.waiters].map((w) => w.key))];
      const values = await this.fetch(keys);
      for (const waiter of [...this.waiters]) {
        const value = values.get(waiter.key);
        if (value === undefined) continue;
        waiter.last = value;
        if (waiter.done(value)) waiter.resolve(value);
      }
    } catch (error) {
      this.onError(error);
    } finally {
      this.polling = false;
      this.arm();
    }
  }
}

/** Parses `Prefer: wait=N` (RFC 7240); undefined when absent or malformed. */
export function preferredWait(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return undefined;
  for (const part of text.split(/[,;]/)) {
    const match = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*$/i.exec(part);
    if (match) return Number(match[1]);
  }
  return undefined;
}
