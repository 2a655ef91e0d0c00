/** A read-model database of the test's own, migrated, dropped afterwards. */
import pg from 'pg';
import { loadConfig } from '../../common/config.ts';
import { migratePostgres } from '../../sinks/postgres/migrate.ts';
import { testLogger, uniqueIdentifier } from '../helpers.ts';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** A URL to the same database through another host and port (e.g. a fault-injecting proxy). */
  via(host: string, port: number): string;
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'sink'): Promise<TestDatabase> {
  const config = loadConfig();
  const name = uniqueIdentifier(prefix).toLowerCase().slice(0, 63);
  const admin = new pg.Client({ connectionString: config.postgres.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(config.postgres.url);
  url.pathname = `/${name}`;
  await migratePostgres(url.toString(), testLogger);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  return {
    name,
    url: url.toString(),
    via(host, port) {
      const proxied = new URL(url);
      proxied.hostname = host;
      proxied.port = String(port);
      return proxied.toString();
    },
    async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      return (await pool.query<T>(sql, params)).rows;
    },
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: config.postgres.url });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
