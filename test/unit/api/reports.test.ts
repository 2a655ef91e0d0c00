import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app.ts';
import { clickhouseReports } from '../../../api/routes/reports.ts';
import { auth, fakeDeps, SECRETS } from './fakes.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function fakeClickHouse(behaviour: { rows?: unknown[]; fail?: Error } = {}) {
  const queries: { query: string; query_params: Record<string, unknown> }[] = [];
  const client = {
    query: async (q: { query: string; query_params: Record<string, unknown> }) => {
      queries.push(q);
      if (behaviour.fail) throw behaviour.fail;
      return { json: async () => behaviour.rows ?? [] };
    },
  } as unknown as ClickHouseClient;
  return { client, queries };
}

describe('report routes', () => {
  it('lists the reports and runs one with bound, typed parameters', async () => {
    const ch = fakeClickHouse({
      rows: [{ reason: 'UNAVAILABLE', command_type: 'RequestReservation', rejections: 3 }],
    });
    app = await buildApp(fakeDeps({ reports: clickhouseReports(ch.client) }).deps);
    const list = await app.inject({ url: '/admin/reports', headers: auth(SECRETS.admin) });
    expect(list.statusCode).toBe(200);
    expect((list.json() as { items: { name: string }[] }).items.map((r) => r.name)).toEqual(
      expect.arrayContaining(['occupancy', 'bookingsPerHour', 'revenue', 'rejectionReasons']),
    );
    const res = await app.inject({
      url: "/admin/reports/rejectionReasons?from=2026-11-01&to=2026-12-01&resourceId=room-1'%20OR%201=1",
      headers: auth(SECRETS.admin),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      report: 'rejectionReasons',
      rows: [{ reason: 'UNAVAILABLE', rejections: 3 }],
    });
    // The id travels as a bound parameter, never inside the SQL text.
    expect(ch.queries[0]?.query_params).toMatchObject({
      from: '2026-11-01',
      to: '2026-12-01',
      resourceId: "room-1' OR 1=1",
    });
    expect(ch.queries[0]?.query).not.toContain('OR 1=1');
  });

  it('answers precise 400s, 403 for non-admins and 503 when ClickHouse is down', async () => {
    const down = fakeClickHouse({
      fail: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    app = await buildApp(fakeDeps({ reports: clickhouseReports(down.client) }).deps);
    const backwards = await app.inject({
      url: '/admin/reports/revenue?from=2026-12-01&to=2026-11-01',
      headers: auth(SECRETS.admin),
    });
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { problems: [{ path: 'querystring/to' }] },
    });
    const badDate = await app.inject({
      url: '/admin/reports/revenue?from=yesterday&to=2026-11-01',
      headers: auth(SECRETS.admin),
    });
    expect(badDate.statusCode).toBe(400);
    const unknown = await app.inject({
      url: '/admin/reports/revenue?from=2026-11-01&to=2026-11-02&sql=DROP',
      headers: auth(SECRETS.admin),
    });
    expect(unknown.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { problems: [{ path: 'querystring/sql' }] },
    });
    const customer = await app.inject({
      url: '/admin/reports/revenue?from=2026-11-01&to=2026-11-02',
      headers: auth(SECRETS.customer),
    });
    expect(customer.statusCode).toBe(403);
    const unavailable = await app.inject({
      url: '/admin/reports/revenue?from=2026-11-01&to=2026-11-02',
      headers: auth(SECRETS.admin),
    });
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(unavailable.body).not.toMatch(/ECONNREFUSED/);
  });
});
