/** A ClickHouse database of the test's own, migrated, dropped afterwards. */
import type { ClickHouseClient } from '@clickhouse/client';
import { loadConfig } from '../../common/config.ts';
import { createClickHouseClient } from '../../sinks/clickhouse/client.ts';
import { migrateClickHouse } from '../../sinks/clickhouse/migrate.ts';
import { testLogger, uniqueIdentifier } from '../helpers.ts';

export interface TestClickHouse {
  readonly url: string;
  readonly database: string;
  readonly client: ClickHouseClient;
  /** Runs a query and returns its rows (64-bit integers as numbers). */
  rows<T>(query: string, params?: Record<string, unknown>): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createTestClickHouse(prefix = 'sink'): Promise<TestClickHouse> {
  const config = loadConfig();
  const database = uniqueIdentifier(prefix);
  await migrateClickHouse(config.clickhouse.url, database, testLogger);
  const client = createClickHouseClient({ url: config.clickhouse.url, database });
  return {
    url: config.clickhouse.url,
    database,
    client,
    async rows<T>(query: string, params: Record<string, unknown> = {}) {
      const result = await client.query({
        query,
        query_params: params,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      return result.json<T>();
    },
    async drop() {
      await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await client.close();
    },
  };
}
