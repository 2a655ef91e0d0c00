/**
 * Runs one sink as its own process: `npx tsx sinks/run.ts <name>` (a name of sinks/catalog.ts).
 * Settings come from the environment (common/config.ts and SINK_* in runtime/options.ts); /metrics and
 * /healthz listen on SINK_METRICS_PORT (default per sink: postgres 9464, clickhouse 9465).
 * SIGTERM or SIGINT drains (in-flight batches finish and are committed) and exits 0; a worker that fails, or
 * a drain that outlives SINK_SHUTDOWN_GRACE_MS, exits 1 so a supervisor restarts it.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { type Config, loadConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { sinkCatalog, sinkEntry } from './catalog.ts';
import { DEFAULT_METRICS_PORTS, type SinkRuntimeOptions } from './runtime/options.ts';
import { SinkWorker } from './runtime/worker.ts';

export interface StartSinkParams {
  readonly config?: Config;
  readonly logger?: Logger;
  /** Overrides on top of the defaults, the sink's defaults and the environment. */
  readonly options?: Partial<SinkRuntimeOptions>;
}

/** Starts a catalogued sink in this process (tests, tools); resolves once it is running. */
export async function startSink(name: string, params: StartSinkParams = {}): Promise<SinkWorker> {
  const entry = sinkEntry(name);
  const config = params.config ?? loadConfig();
  const logger = params.logger ?? createLogger(config, `sink-${name}`);
  const worker = new SinkWorker({
    config,
    logger,
    sink: entry.create(config, logger),
    sinkDefaults: { metricsPort: DEFAULT_METRICS_PORTS[name] ?? null, ...entry.defaults },
    options: params.options,
  });
  await worker.start();
  return worker;
}

async function main(argv: readonly string[]): Promise<void> {
  const name = argv[0];
  if (!name || argv.length > 1) {
    console.error(`usage: tsx sinks/run.ts <sink>   (${Object.keys(sinkCatalog).join(' | ')})`);
    process.exit(2);
  }
  const config = loadConfig();
  const logger = createLogger(config, `sink-${name}`);
  let worker: SinkWorker;
  try {
    worker = await startSink(name, { config, logger });
  } catch (error) {
    logger.fatal({ err: error }, 'sink could not start');
    process.exit(1);
  }
  logger.info({ group: worker.groupId, metricsPort: worker.metricsPort }, 'sink running');
  worker.onStateChange((state) => {
    if (state === 'failed') process.exitCode = 1;
    if (state === 'failed' || state === 'stopped') setTimeout(() => process.exit(), 100).unref();
  });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'draining');
    void worker.stop();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void main(process.argv.slice(2));
}
