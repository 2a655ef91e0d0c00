/**
 * An API to fuzz (ops/fuzz.sh): the real API with databases of its own (`slotstream_fuzz` in PostgreSQL,
 * read model and API tables migrated, and in ClickHouse, the reports' tables) and its own topics (`fuzz.` prefix), on a free loopback port, with an admin key. Prints
 * one JSON line `{ "url", "key" }` on stdout once it listens; closes on SIGTERM/SIGINT.
 */
import pg from 'pg';
import { loadConfig } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { ensureTopics, topicSpecs } from '../common/topics.ts';
import { migrateClickHouse } from '../sinks/clickhouse/migrate.ts';
import { migratePostgres } from '../sinks/postgres/migrate.ts';
import { loadApiConfig } from './config.ts';
import { runApiMigrations } from './migrate.ts';
import { startApi } from './server.ts';
import { ApiKeyStore } from './services/api-keys.ts';

const TOPIC_PREFIX = 'fuzz.';
const DATABASE = 'slotstream_fuzz';

const base = loadConfig();
const dbUrl = new URL(base.postgres.url);
dbUrl.pathname = `/${DATABASE}`;
const config = loadConfig({
  ...process.env,
  TOPIC_PREFIX,
  DATABASE_URL: dbUrl.toString(),
  CLICKHOUSE_DATABASE: DATABASE,
});
const logger = createLogger({ logLevel: 'warn' }, 'fuzz-api');

const admin = new pg.Client({ connectionString: base.postgres.url });
await admin.connect();
const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
await admin.end();
await migratePostgres(config.postgres.url, logger);
await runApiMigrations(config.postgres.url, logger);
await migrateClickHouse(config.clickhouse.url, config.clickhouse.database, logger);
const kafkaAdmin = createKafka(config, logger).admin();
await kafkaAdmin.connect();
await ensureTopics(kafkaAdmin, topicSpecs(config));
await kafkaAdmin.disconnect();

const keyPool = new pg.Pool({ connectionString: config.postgres.url, max: 1 });
const { secret } = await new ApiKeyStore(keyPool, { cacheTtlMs: 0 }).create({
  role: 'admin',
  name: `fuzz ${new Date().toISOString()}`,
});
await keyPool.end();

const apiConfig = loadApiConfig({
  ...process.env,
  API_HOST: '127.0.0.1',
  API_PORT: '0',
  // The fuzzer sends thousands of requests a minute with one key and waits for no decision.
  API_RATE_LIMIT_ADMIN: '100000000',
  API_RATE_LIMIT_PER_ADDRESS: '100000000',
  API_MAX_WAIT_SECONDS: '1',
});
const api = await startApi({ config, apiConfig, logger, autoRegister: true });
process.stdout.write(`${JSON.stringify({ url: api.url, key: secret })}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
