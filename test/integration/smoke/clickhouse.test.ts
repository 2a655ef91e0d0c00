/**
 * Smoke test of the ClickHouse service (ops/services/clickhouse.sh): the real HTTP interface answers
 * as the `default` user without a password, and the features the sinks rely on work end to end:
 * JSONEachRow inserts, ReplacingMergeTree + FINAL, `{name:Type}` query parameters, DateTime64.
 * It works in a database of its own and drops it afterwards.
 */
import { randomUUID } from 'node:crypto';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const url = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const database = `test_${randomUUID().replaceAll('-', '_')}`;
const table = `${database}.bookings`;

interface BookingRow {
  id: string; // UInt64 comes quoted in JSON (output_format_json_quote_64bit_integers = 1)
  resource: string;
  status: string;
  version: number;
  updated_at: string; // DateTime64(3, 'UTC') as 'YYYY-MM-DD hh:mm:ss.sss'
}

describe('ClickHouse (local stack)', () => {
  let client: ClickHouseClient;

  beforeAll(async () => {
    client = createClient({
      url,
      request_timeout: 30_000,
      // 64-bit integers as JSON strings whatever the server's default, so JS loses no precision.
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    await client.command({ query: `CREATE DATABASE ${database}` });
    await client.command({
      query: `CREATE TABLE ${table} (
          id UInt64,
          resource String,
          status LowCardinality(String),
          version UInt32,
          updated_at DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY (resource, id)`,
    });
    // Keeps the duplicate in its own part, so that collapsing it is FINAL's work and not a merge's.
    await client.command({ query: `SYSTEM STOP MERGES ${table}` });
  });

  afterAll(async () => {
    await client?.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` });
    await client?.close();
  });

  it('answers ping and SELECT 1 as the default user', async () => {
    expect((await client.ping()).success).toBe(true);
    const rs = await client.query({ query: 'SELECT 1 AS one, currentUser() AS user', format: 'JSONEachRow' });
    expect(await rs.json<{ one: number; user: string }>()).toEqual([{ one: 1, user: 'default' }]);
  });

  it('returns the latest version of each row with FINAL, selected through typed parameters', async () => {
    await client.insert({
      table,
      format: 'JSONEachRow',
      values: [
        { id: 1, resource: 'room-a', status: 'held', version: 1, updated_at: '2026-03-01 10:00:00.123' },
        { id: 2, resource: 'room-a', status: 'held', version: 1, updated_at: '2026-03-01 10:05:00.000' },
        { id: 3, resource: 'room-b', status: 'held', version: 1, updated_at: '2026-03-01 10:06:00.000' },
      ],
    });
    // A second insert (a second part) with a newer version of booking 1.
    await client.insert({
      table,
      format: 'JSONEachRow',
      values: [
        { id: 1, resource: 'room-a', status: 'confirmed', version: 2, updated_at: '2026-03-01 10:10:00.456' },
      ],
    });

    const counts = await client.query({
      query: `SELECT (SELECT count() FROM ${table}) AS stored, (SELECT count() FROM ${table} FINAL) AS final`,
      format: 'JSONEachRow',
    });
    expect(await counts.json<{ stored: string; final: string }>()).toEqual([{ stored: '4', final: '3' }]);

    const rs = await client.query({
      query: `SELECT id, resource, status, version, updated_at
        FROM ${table} FINAL
        WHERE resource = {resource:String} AND updated_at >= {since:DateTime64(3, 'UTC')}
        ORDER BY id`,
      query_params: { resource: 'room-a', since: '2026-03-01 10:00:00.000' },
      format: 'JSONEachRow',
    });
    expect(await rs.json<BookingRow>()).toEqual([
      { id: '1', resource: 'room-a', status: 'confirmed', version: 2, updated_at: '2026-03-01 10:10:00.456' },
      { id: '2', resource: 'room-a', status: 'held', version: 1, updated_at: '2026-03-01 10:05:00.000' },
    ]);

    // DateTime64 keeps the milliseconds through a typed parameter, too.
    const exact = await client.query({
      query: `SELECT count() AS n FROM ${table} FINAL WHERE updated_at = {at:DateTime64(3, 'UTC')}`,
      query_params: { at: '2026-03-01 10:10:00.456' },
      format: 'JSONEachRow',
    });
    expect(await exact.json<{ n: string }>()).toEqual([{ n: '1' }]);
  });
});
