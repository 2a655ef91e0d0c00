/**
 * The API process: real dependencies for buildApp (the command producer, PostgreSQL for keys, idempotency
 * and the read model), listen, and a graceful close on SIGTERM/SIGINT (close-with-grace): stop accepting,
 * let in-flight requests finish, flush the producer, close the pools. `npm run api` runs it; `startApi`
 * does the same in-process for tests and the benchmark.
 */
import { fileURLToPath } from 'node:url';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import type { Logger } from 'pino';
import { type Config, loadConfig } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { CommandProducer } from '../producers/producer.ts';
import { createClickHouseClient } from '../sinks/clickhouse/client.ts';
import { API_SOURCE, type AppDeps, buildApp } from './app.ts';
import { type ApiConfig, loadApiConfig } from './config.ts';
import { createMetrics } from './metrics.ts';
import { runApiMigrations } from './migrate.ts';
import { clickhouseReports } from './routes/reports.ts';
import { ApiKeyStore } from './services/api-keys.ts';
import { PgIdempotencyStore } from './services/idempotency-store.ts';
import { PgReadModel } from './services/read-model.ts';

export interface RunningApi {
  readonly app: FastifyInstance;
  /** e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly producer: CommandProducer;
  /** Graceful close: requests, then the producer, then the pools. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly config?: Config;
  readonly apiConfig?: ApiConfig;
  readonly logger?: Logger;
  /** Apply the API's migrations first. @default true */
  readonly migrate?: boolean;
  /** Register missing schemas in the registry (tests). @default false */
  readonly autoRegister?: boolean;
  readonly reports?: AppDeps['reports'];
}

const IDEMPOTENCY_PURGE_INTERVAL_MS = 10 * 60_000; // ten minutes

async function retry<T>(
  what: string,
  logger: Logger,
  attempt: () => Promise<T>,
  deadlineMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() + delay > deadline) throw error;
      logger.warn({ err: error, retryInMs: delay }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Starts the API with real dependencies and listens. */
export async function startApi(options: StartOptions = {}): Promise<RunningApi> {
  const config = options.config ?? loadConfig();
  const apiConfig = options.apiConfig ?? loadApiConfig();
  const logger = options.logger ?? createLogger(config, 'api');
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 20, idleTimeoutMillis: 30_000 });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
  if (options.migrate ?? true)
    await retry('API migrations', logger, () => runApiMigrations(config.postgres.url, logger));

  const metrics = createMetrics();
  const producer = CommandProducer.fromConfig(config, logger, {
    source: API_SOURCE,
    lingerMs: apiConfig.producerLingerMs,
    lanes: apiConfig.producerLanes,
    deliveryTimeoutMs: apiConfig.producerDeliveryTimeoutMs,
    autoRegister: options.autoRegister ?? false,
    observer: {
      batchSent: (messages, ms) => {
        metrics.produceBatchSize.observe(messages);
        metrics.produceBatchDuration.observe(ms / 1000);
      },
    },
  });
  await retry('connecting the command producer', logger, () => producer.connect());
  const kafkaAdmin = createKafka(config, logger, `${config.kafka.clientId}-api-admin`).admin();
  let adminConnected: Promise<void> | undefined;

  const idempotency = new PgIdempotencyStore(pool);
  // Reports read ClickHouse; it is not part of readiness, since writes and reads work without it.
  const clickhouse = options.reports
    ? undefined
    : createClickHouseClient({ url: config.clickhouse.url, database: config.clickhouse.database });
  const app = await buildApp({
    config: apiConfig,
    logger,
    commands: producer,
    keys: new ApiKeyStore(pool, { cacheTtlMs: apiConfig.keyCacheTtlMs }),
    idempotency,
    readModel: new PgReadModel(pool),
    metrics,
    reports: options.reports ?? clickhouseReports(clickhouse as NonNullable<typeof clickhouse>),
    readiness: {
      kafka: async () => {
        if (producer.state !== 'running') throw new Error(`producer is ${producer.state}`);
        adminConnected ??= kafkaAdmin.connect().catch((error: unknown) => {
          adminConnected = undefined;
          throw error;
        });
        await adminConnected;
        await kafkaAdmin.describeCluster();
      },
      registry: async () => {
        const res = await fetch(`${config.registry.url}/subjects`, { signal: AbortSignal.timeout(2_000) });
        if (!res.ok) throw new Error(`registry answered ${res.status}`);
      },
      postgres: async () => {
        await pool.query('SELECT 1');
      },
    },
  });

  const purge = setInterval(() => {
    idempotency
      .purge(apiConfig.idempotencyTtlHours * 3_600_000)
      .then((n) => n > 0 && logger.info({ purged: n }, 'expired idempotency keys deleted'))
      .catch((error: unknown) => logger.warn({ err: error }, 'purging idempotency keys failed'));
  }, IDEMPOTENCY_PURGE_INTERVAL_MS);
  purge.unref();

  await app.listen({ host: apiConfig.host, port: apiConfig.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : apiConfig.port;
  const host = apiConfig.host.includes(':') ? `[${apiConfig.host}]` : apiConfig.host;

  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    producer,
    close: () => {
      closing ??= (async () => {
        clearInterval(purge);
        await app.close(); // stops accepting, waits for in-flight requests (new ones get 503)
        await producer.disconnect(); // sends what is queued
        if (adminConnected) await kafkaAdmin.disconnect().catch(() => {});
        await clickhouse?.close().catch(() => {});
        await pool.end();
      })();
      return closing;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const apiConfig = loadApiConfig();
  const logger = createLogger(config, 'api');
  try {
    const api = await startApi({ config, apiConfig, logger });
    logger.info({ url: api.url, docs: `${api.url}/docs` }, 'Slotstream API listening');
    closeWithGrace({ delay: apiConfig.shutdownGraceMs }, async ({ signal, err }) => {
      if (err) logger.error({ err }, 'closing after an uncaught error');
      else logger.info({ signal }, 'closing');
      await api.close();
    });
  } catch (error) {
    logger.fatal({ err: error }, 'the API could not start');
    process.exit(1);
  }
}
