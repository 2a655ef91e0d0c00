/** /healthz (the process answers), /readyz (its dependencies answer) and /metrics (Prometheus). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RouteContext } from '../app.ts';

/** Resolves when the dependency answers; throws (with a short message) when it does not. */
export type ReadinessCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: ReadinessCheck): Promise<{ ok: boolean; ms: number; error?: string }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(context: RouteContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });

    app.get(
      '/healthz',
      {
        config: { public: true },
        schema: {
          tags: ['operations'],
          summary: 'Liveness: the process is up',
          security: [],
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config: { public: true },
        schema: {
          tags: ['operations'],
          summary: 'Readiness: Kafka, the schema registry and PostgreSQL answer',
          security: [],
          response: {
            200: Type.Object({
              status: Type.String(),
              checks: Type.Record(
                Type.String(),
                Type.Object({ ok: Type.Boolean(), ms: Type.Integer(), error: Type.Optional(Type.String()) }),
              ),
            }),
            503: Type.Object({
              status: Type.String(),
              checks: Type.Record(
                Type.String(),
                Type.Object({ ok: Type.Boolean(), ms: Type.Integer(), error: Type.Optional(Type.String()) }),
              ),
            }),
          },
        },
      },
      async (_request, reply) => {
        const entries = Object.entries(context.deps.readiness ?? {});
        const results = await Promise.all(
          entries.map(async ([name, check]) => [name, await runCheck(check)] as const),
        );
        const checks = Object.fromEntries(results);
        const ready = !closing && results.every(([, r]) => r.ok);
        return reply
          .code(ready ? 200 : 503)
          .send({ status: closing ? 'closing' : ready ? 'ready' : 'not ready', checks });
      },
    );

    app.get(
      '/metrics',
      {
        config: { public: true },
        schema: { tags: ['operations'], summary: 'Prometheus metrics', security: [], hide: false },
      },
      async (_request, reply) => {
        const body = await context.metrics.registry.metrics();
        return reply.type(context.metrics.registry.contentType).send(body);
      },
    );
  };
}
