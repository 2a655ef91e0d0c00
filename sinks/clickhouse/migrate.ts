/**
 * The reporting store's schema: numbered DDL steps applied once each and recorded in
 * `<database>.schema_migrations`. Run by `npm run ch:migrate`, which `npm start` calls; safe to run again.
 *
 * `events` is the fact table: one row per event. ReplacingMergeTree collapses rows with the same sorting
 * key when parts merge; every column of the key is a function of the event (type, decision date, resource,
 * event id), so redelivered copies of an event share it — and the same partition (month of decision) — and
 * collapse. Until a merge has happened, reports read with FINAL or aggregate with argMax (./reports.ts).
 * The key leads with the event type and the day because every report filters on both.
 */
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { loadConfig } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { checkDatabaseName, createClickHouseClient } from './client.ts';

export const MIGRATIONS: readonly {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}[] = [
  {
    version: 1,
    name: 'events fact table',
    sql: `CREATE TABLE IF NOT EXISTS events (
      event_id UUID COMMENT 'Unique id of the event; copies of one event collapse',
      event_type LowCardinality(String) COMMENT 'Record name, e.g. ReservationHeld',
      decided_at DateTime64(3, 'UTC') COMMENT 'When the decider decided',
      resource_id String,
      resource_name String COMMENT 'Display name (held, reopened, upserted events)',
      reservation_id Nullable(UUID),
      customer_id String,
      status LowCardinality(String) COMMENT 'Reservation status after the event; empty for other events',
      previous_status LowCardinality(String) COMMENT 'For cancellations: the status before',
      version UInt32 COMMENT 'reservationVersion or resourceVersion after the event; 0 for rejections',
      start_at Nullable(DateTime64(3, 'UTC')) COMMENT 'Period start (held, reopened)',
      end_at Nullable(DateTime64(3, 'UTC')) COMMENT 'Period end, exclusive (held, reopened, completed)',
      hold_expires_at Nullable(DateTime64(3, 'UTC')),
      quantity UInt32 COMMENT 'Units held (held, reopened)',
      capacity UInt32 COMMENT 'Resource capacity (upserted)',
      unit_price_minor Int64,
      amount_minor Int64 COMMENT 'Price (held, reopened) or amount paid (confirmed), minor units',
      currency LowCardinality(String),
      reason LowCardinality(String) COMMENT 'Machine-readable rejection reason',
      detail String COMMENT 'Rejection detail, cancellation, payment failure or retirement reason',
      command_type LowCardinality(String) COMMENT 'For rejections: the refused command',
      causation_command_id UUID,
      idempotency_key String,
      kafka_partition UInt32,
      kafka_offset UInt64,
      ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
    )
    ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(decided_at)
    ORDER BY (event_type, toDate(decided_at), resource_id, event_id)`,
  },
];

/** Creates the database if needed and applies the steps it lacks; returns the versions applied. */
export async function migrateClickHouse(url: string, database: string, logger: Logger): Promise<number[]> {
  const name = checkDatabaseName(database);
  const server = createClickHouseClient({ url });
  try {
    await server.command({ query: `CREATE DATABASE IF NOT EXISTS ${name}` });
  } finally {
    await server.close();
  }
  const client = createClickHouseClient({ url, database: name });
  try {
    return await applyMigrations(client, logger);
  } finally {
    await client.close();
  }
}

async function applyMigrations(client: ClickHouseClient, logger: Logger): Promise<number[]> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  });
  const result = await client.query({
    query: 'SELECT version FROM schema_migrations FINAL',
    format: 'JSONEachRow',
  });
  const done = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    if (done.has(migration.version)) continue;
    logger.info({ version: migration.version, name: migration.name }, 'applying ClickHouse migration');
    await client.command({ query: migration.sql });
    await client.insert({
      table: 'schema_migrations',
      values: [{ version: migration.version, name: migration.name }],
      format: 'JSONEachRow',
    });
    applied.push(migration.version);
  }
  return applied;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const logger = createLogger(config, 'ch-migrate');
  migrateClickHouse(config.clickhouse.url, config.clickhouse.database, logger).then(
    (versions) => logger.info({ applied: versions }, versions.length ? 'migrations applied' : 'up to date'),
    (error: unknown) => {
      logger.error({ err: error }, 'migration failed');
      process.exitCode = 1;
    },
  );
}
