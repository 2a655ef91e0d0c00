import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/config.ts';
import { MalformedMessageError, RegistryUnavailableError } from '../../../common/errors.ts';
import { applyIsolating } from '../../../sinks/runtime/apply.ts';
import { backoffMs } from '../../../sinks/runtime/backoff.ts';
import { BatchCoalescer } from '../../../sinks/runtime/coalescer.ts';
import {
  describe as describeError,
  RetriesExhaustedError,
  SinkRejectedError,
  SinkUnavailableError,
} from '../../../sinks/runtime/errors.ts';
import { compileOptions, defaults, optionsFromEnv } from '../../../sinks/runtime/options.ts';
import type { Sink, SinkEvent } from '../../../sinks/runtime/types.ts';
import { generateStream } from '../../support/events.ts';
import { sinkEvent } from './samples.ts';

const events = generateStream({ resources: 2, reservations: 20, seed: 1 }).events.map((e, i) =>
  sinkEvent(e, i),
);

/** A sink that refuses some events (non-retryable) and records its calls. */
function refusingSink(refuse: ReadonlySet<SinkEvent>, options: { unavailable?: boolean } = {}) {
  const calls: number[] = [];
  const applied: SinkEvent[] = [];
  const sink: Sink = {
    name: 'test',
    async handleBatch(batch) {
      calls.push(batch.length);
      if (options.unavailable) throw new SinkUnavailableError('test', 'down');
      if (batch.some((e) => refuse.has(e))) throw new SinkRejectedError('test', 'refused');
      applied.push(...batch);
    },
  };
  return { sink, calls, applied };
}

describe('backoffMs', () => {
  const options = { initialRetryMs: 100, maxRetryMs: 5_000, retryFactor: 2 };
  it('grows exponentially under a cap, with jitter between a tenth of the ceiling and the ceiling', () => {
    expect(backoffMs(1, options, () => 1)).toBe(100);
    expect(backoffMs(1, options, () => 0)).toBe(10);
    expect(backoffMs(4, options, () => 1)).toBe(800);
    expect(backoffMs(30, options, () => 1)).toBe(5_000);
    expect(backoffMs(30, options, () => 0)).toBe(500);
    for (let attempt = 1; attempt < 20; attempt++) {
      const wait = backoffMs(attempt, options);
      expect(wait).toBeGreaterThanOrEqual(10);
      expect(wait).toBeLessThanOrEqual(5_000);
    }
  });
});

describe('error classification', () => {
  it('reads the retryable flag of our errors and retries what nobody classified', () => {
    expect(describeError(new SinkUnavailableError('pg', 'down'))).toMatchObject({
      retryable: true,
      code: 'SINK_UNAVAILABLE',
      errorClass: 'SinkUnavailableError',
    });
    expect(describeError(new SinkRejectedError('pg', 'bad'))).toMatchObject({
      retryable: false,
      code: 'SINK_REJECTED',
    });
    expect(describeError(new MalformedMessageError('x'))).toMatchObject({ retryable: false });
    expect(describeError(new RegistryUnavailableError('x'))).toMatchObject({ retryable: true });
    expect(describeError(new RetriesExhaustedError(3, new Error('boom')))).toMatchObject({
      retryable: false,
      code: 'SINK_RETRIES_EXHAUSTED',
    });
    expect(describeError(new TypeError('bug'))).toMatchObject({ retryable: true, code: 'UNCLASSIFIED' });
    expect(describeError('a string')).toMatchObject({ retryable: true });
  });
});

describe('applyIsolating', () => {
  it('applies a clean batch in one call', async () => {
    const { sink, calls } = refusingSink(new Set());
    expect(await applyIsolating(sink, events)).toEqual({ ok: true, refused: [] });
    expect(calls).toEqual([events.length]);
  });

  it('isolates refused records by halving, applies all the others, in order', async () => {
    const bad = new Set([events[3], events[17]] as SinkEvent[]);
    const { sink, calls, applied } = refusingSink(bad);
    const outcome = await applyIsolating(sink, events);
    expect(outcome.ok && outcome.refused.map((r) => r.event)).toEqual([events[3], events[17]]);
    expect(applied).toEqual(events.filter((e) => !bad.has(e)));
    expect(calls.length).toBeLessThan(4 * Math.ceil(Math.log2(events.length)) + 2);
  });

  it('fails the whole batch on a retryable error', async () => {
    const { sink, calls } = refusingSink(new Set(), { unavailable: true });
    const outcome = await applyIsolating(sink, events);
    expect(outcome.ok).toBe(false);
    expect(calls).toEqual([events.length]);
  });
});

describe('BatchCoalescer', () => {
  it('flushes once every handler in progress has submitted, in one call', async () => {
    const { sink, calls } = refusingSink(new Set());
    const coalescer = new BatchCoalescer(sink, 1_000);
    coalescer.enter();
    coalescer.enter();
    coalescer.enter();
    const a = coalescer.submit(events.slice(0, 5));
    const b = coalescer.submit(events.slice(5, 9));
    expect(calls).toEqual([]);
    coalescer.leave(); // the third had nothing to submit
    expect(await a).toEqual({ ok: true, refused: [] });
    expect(await b).toEqual({ ok: true, refused: [] });
    expect(calls).toEqual([9]);
  });

  it('splits large deliveries, returns each handler its own refusals, and fails all on a retryable error', async () => {
    const bad = new Set([events[7]] as SinkEvent[]);
    const { sink, calls } = refusingSink(bad);
    const stats: number[] = [];
    const coalescer = new BatchCoalescer(sink, 4, (s) => stats.push(s.events));
    coalescer.enter();
    coalescer.enter();
    const first = coalescer.submit(events.slice(0, 6));
    const second = coalescer.submit(events.slice(6, 10));
    const [a, b] = await Promise.all([first, second]);
    expect(a).toEqual({ ok: true, refused: [] });
    expect(b.ok && b.refused.map((r) => r.event)).toEqual([events[7]]);
    expect(calls.filter((n) => n > 1).every((n) => n <= 4)).toBe(true);
    expect(stats).toEqual([6, 4]);

    const down = refusingSink(new Set(), { unavailable: true });
    const failing = new BatchCoalescer(down.sink, 4);
    failing.enter();
    failing.enter();
    const results = await Promise.all([
      failing.submit(events.slice(0, 3)),
      failing.submit(events.slice(3, 9)),
    ]);
    expect(results.every((r) => !r.ok)).toBe(true);
    expect(down.calls).toEqual([4]); // the first call of 4 failed: the other 5 events were not tried
  });
});

describe('runtime options', () => {
  it('layers defaults, sink defaults, the environment and overrides', () => {
    const options = compileOptions(
      { fetchMaxWaitMs: 500, maxBatchEvents: 50 },
      optionsFromEnv({ SINK_MAX_BATCH_EVENTS: '70', SINK_METRICS_PORT: '9999' }),
      { metricsPort: 0 },
    );
    expect(options).toMatchObject({ fetchMaxWaitMs: 500, maxBatchEvents: 70, metricsPort: 0 });
    expect(options.maxAttempts).toBe(defaults.maxAttempts);
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('fails naming the key on a malformed value', () => {
    expect(() => optionsFromEnv({ SINK_MAX_ATTEMPTS: 'many' })).toThrow(ConfigError);
    expect(() => optionsFromEnv({ SINK_MAX_ATTEMPTS: 'many' })).toThrow(/SINK_MAX_ATTEMPTS/);
    expect(() => optionsFromEnv({ SINK_METRICS_PORT: '70000' })).toThrow(/SINK_METRICS_PORT/);
    expect(() =>
      compileOptions(optionsFromEnv({ SINK_RETRY_INITIAL_MS: '5000', SINK_RETRY_MAX_MS: '100' })),
    ).toThrow(/SINK_RETRY_MAX_MS/);
  });
});
