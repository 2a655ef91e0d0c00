/**
 * Report routes for administrators: one GET route per ClickHouse report of sinks/clickhouse/reports.ts,
 * its query string typed from the report's parameters. Parameters are validated by the report definitions
 * and bound as ClickHouse query parameters; no client text reaches the SQL.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from 'typebox';
import { InvalidReportParameterError, type ParamType } from '../../sinks/clickhouse/params.ts';
import { type ReportName, reports, runReport } from '../../sinks/clickhouse/reports.ts';
import { ApiError } from '../errors.ts';
import { ErrorBody } from '../schemas.ts';
import type { ReportSource } from './admin.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody, 503: ErrorBody };

function querySchema(params: Record<string, ParamType<unknown>>): TSchema {
  const properties: Record<string, TSchema> = {};
  for (const [name, type] of Object.entries(params)) {
    const description = `${type.description}`;
    const schema =
      type.clickhouse === 'Date'
        ? Type.String({ format: 'date', description })
        : type.clickhouse === 'UInt32'
          ? Type.Integer({ minimum: 0, description })
          : Type.String({ maxLength: 200, description });
    // from and to are always required; the others have defaults or mean "all" when absent.
    properties[name] = name === 'from' || name === 'to' ? schema : Type.Optional(schema);
  }
  return Type.Object(properties, { additionalProperties: false });
}

/** Network failures of ClickHouse mean "try again later"; anything else is a bug to log as such. */
function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    /timeout|socket hang up/i.test((error as Error).message ?? '')
  );
}

/** The report routes over a ClickHouse client pointed at the reports database. */
export function clickhouseReports(client: ClickHouseClient): ReportSource {
  const routes: FastifyPluginAsyncTypebox = async (app) => {
    app.get(
      '/admin/reports',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['admin'],
          summary: 'The reports and their parameters',
          response: {
            200: Type.Object({
              items: Type.Array(
                Type.Object({
                  name: Type.String(),
                  title: Type.String(),
                  description: Type.String(),
                  path: Type.String(),
                  maxDays: Type.Integer(),
                  parameters: Type.Record(Type.String(), Type.String()),
                }),
              ),
            }),
            ...errors,
          },
        },
      },
      async () => ({
        items: Object.entries(reports).map(([name, report]) => ({
          name,
          title: report.title,
          description: report.description,
          path: `/admin/reports/${name}`,
          maxDays: report.maxDays,
          parameters: Object.fromEntries(
            Object.entries(report.params as Record<string, ParamType<unknown>>).map(([k, t]) => [
              k,
              t.description,
            ]),
          ),
        })),
      }),
    );

    for (const [name, report] of Object.entries(reports) as [ReportName, (typeof reports)[ReportName]][]) {
      app.get(
        `/admin/reports/${name}`,
        {
          config: { roles: ['admin'] },
          schema: {
            tags: ['admin'],
            summary: report.title,
            description: `${report.description} Ranges are [from, to) in whole UTC days, at most ${report.maxDays} days.`,
            querystring: querySchema(report.params as Record<string, ParamType<unknown>>),
            response: {
              200: Type.Object({
                report: Type.String(),
                parameters: Type.Record(Type.String(), Type.Unknown()),
                rows: Type.Array(Type.Record(Type.String(), Type.Unknown())),
              }),
              ...errors,
            },
          },
        },
        async (request) => {
          const raw = Object.fromEntries(
            Object.entries(request.query as Record<string, unknown>).map(([k, v]) => [
              k,
              typeof v === 'number' ? String(v) : v,
            ]),
          );
          try {
            const rows = await runReport(client, name, raw);
            return { report: name, parameters: raw, rows: rows as unknown as Record<string, unknown>[] };
          } catch (error) {
            if (error instanceof InvalidReportParameterError) {
              throw new ApiError(400, 'VALIDATION_FAILED', `the request is not valid: ${error.message}`, {
                problems: [{ path: `querystring/${error.parameter}`, message: `expected ${error.expected}` }],
              });
            }
            if (isUnreachable(error)) {
              request.log.warn({ err: error, report: name }, 'ClickHouse is not reachable');
              throw new ApiError(
                503,
                'SERVICE_UNAVAILABLE',
                'the reports database is not reachable; try again shortly',
                {
                  requestId: request.id,
                  retryable: true,
                },
                { 'retry-after': '5' },
              );
            }
            throw error;
          }
        },
      );
    }
  };
  return { routes };
}
