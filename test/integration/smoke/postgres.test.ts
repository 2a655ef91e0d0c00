import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.ts';
import { uniqueIdentifier } from '../../helpers.ts';

describe('postgres smoke', () => {
  const config = loadConfig();
  const admin = new pg.Client({ connectionString: config.postgres.url });
  const database = uniqueIdentifier('smoke').toLowerCase();

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
  });

  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('creates a table in a database of its own, writes and reads back', async () => {
    const url = new URL(config.postgres.url);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query('CREATE TABLE t (id int PRIMARY KEY, at timestamptz NOT NULL)');
      await client.query('INSERT INTO t VALUES ($1, $2), ($3, $4)', [1, new Date(0), 2, new Date(1000)]);
      const { rows } = await client.query<{ id: number; at: Date }>('SELECT id, at FROM t ORDER BY id');
      expect(rows.map((r) => [r.id, r.at.getTime()])).toEqual([
        [1, 0],
        [2, 1000],
      ]);
      const version = await client.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Number(version.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(150000);
    } finally {
      await client.end();
    }
  });
});
