import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app.ts';
import { asyncApiPath } from '../../../schemas/asyncapi.ts';
import { fakeDeps } from './fakes.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('GET /docs/asyncapi.json', () => {
  it('serves the committed AsyncAPI document without a key', async () => {
    app = await buildApp(fakeDeps().deps);
    const response = await app.inject('/docs/asyncapi.json');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const document = response.json() as { asyncapi: string; channels: Record<string, { address: string }> };
    expect(document.asyncapi).toBe('3.0.0');
    expect(document.channels.events?.address).toBe('reservations.events');
    expect(document).toEqual(JSON.parse(readFileSync(asyncApiPath, 'utf8')));
  });

  it('is listed in the OpenAPI document as a public operations route', async () => {
    app = await buildApp(fakeDeps().deps);
    const openapi = (await app.inject('/docs/json')).json() as {
      paths: Record<string, { get?: { security?: unknown[] } }>;
    };
    expect(openapi.paths['/docs/asyncapi.json']?.get?.security).toEqual([]);
  });
});
