/** Starting sink workers in tests: quick retries, a short session, and a wait for "caught up". */
import type { Config } from '../../common/config.ts';
import type { SinkRuntimeOptions } from '../../sinks/runtime/options.ts';
import type { Sink } from '../../sinks/runtime/types.ts';
import { SinkWorker } from '../../sinks/runtime/worker.ts';
import { eventually, testLogger } from '../helpers.ts';

export const testRuntimeOptions = {
  initialRetryMs: 100,
  maxRetryMs: 1_000,
  sessionTimeoutMs: 10_000,
  fetchMaxWaitMs: 100,
  fetchMinBytes: 1,
  shutdownGraceMs: 15_000,
  metricsPort: null,
} satisfies Partial<SinkRuntimeOptions>;

export async function startTestWorker(
  config: Config,
  sink: Sink,
  options: Partial<SinkRuntimeOptions> = {},
): Promise<SinkWorker> {
  const worker = new SinkWorker({
    config,
    sink,
    logger: testLogger,
    options: { ...testRuntimeOptions, ...options },
    env: {},
  });
  await worker.start();
  return worker;
}

/**
 * Waits until the worker has committed every record of the events topic that a read_committed reader can
 * see (EventWriter.write returns once what it wrote is visible).
 */
export async function caughtUp(worker: SinkWorker, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const lag = await worker.lag();
      return [...lag.values()].every((v) => v === 0) ? true : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `sink ${worker.name} to catch up` },
  );
}
