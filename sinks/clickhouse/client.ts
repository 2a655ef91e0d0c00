/** The ClickHouse HTTP client as the sinks and reports use it: errors logged by us, not by the client. */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';

/** A database name is spliced into DDL only after this check (ClickHouse cannot bind it there). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function checkDatabaseName(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(`CLICKHOUSE_DATABASE: expected letters, digits and underscores, got '${name}'`);
  }
  return name;
}

export interface ClickHouseClientOptions {
  readonly url: string;
  /** The default database of every query; omit for server-level statements (CREATE DATABASE). */
  readonly database?: string;
  /** @default 30_000 */
  readonly requestTimeoutMs?: number;
}

export function createClickHouseClient(options: ClickHouseClientOptions): ClickHouseClient {
  return createClient({
    url: options.url,
    ...(options.database ? { database: checkDatabaseName(options.database) } : {}),
    request_timeout: options.requestTimeoutMs ?? 30_000,
    max_open_connections: 4,
    log: { level: ClickHouseLogLevel.OFF },
  });
}
