/** GET /docs/asyncapi.json: the AsyncAPI 3.0.0 document of every Kafka topic, beside the OpenAPI one. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildAsyncApi } from '../../schemas/asyncapi.ts';
import type { RouteContext } from '../app.ts';

/** Public, like /docs; built once, as docs/asyncapi.json is (`npm run asyncapi`). */
export function asyncApiRoutes(_context: RouteContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    const body = JSON.stringify(buildAsyncApi());
    app.get(
      '/docs/asyncapi.json',
      {
        config: { public: true },
        schema: {
          tags: ['operations'],
          summary: 'AsyncAPI 3.0.0 document of the Kafka topics, for generating consumers',
          security: [],
        },
      },
      async (_request, reply) => reply.type('application/json; charset=utf-8').send(body),
    );
  };
}
