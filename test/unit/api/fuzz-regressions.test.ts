/**
 * Regressions found by fuzzing every route of the served OpenAPI document (npm run fuzz, ops/fuzz.sh): each
 * request that answered a 5xx or an undocumented status, with the documented answer it gets now.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app.ts';
import {
  CURSOR_PARTS,
  decodeCursor,
  encodeCursor,
  InvalidCursorError,
} from '../../../api/services/read-model.ts';
import { MAX_ID_LENGTH } from '../../../producers/commands.ts';
import { auth, fakeDeps, SECRETS } from './fakes.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup() {
  app = await buildApp(fakeDeps().deps);
  return app;
}

const admin = auth(SECRETS.admin);

function expectValidationFailed(
  response: { statusCode: number; json(): unknown; headers: Record<string, unknown> },
  problem: { path: string; message?: string },
) {
  expect(response.statusCode).toBe(400);
  expect(response.json()).toEqual({
    error: expect.stringContaining('the request is not valid'),
    code: 'VALIDATION_FAILED',
    details: { problems: [expect.objectContaining(problem)] },
  });
}

describe('non-finite numbers in query strings (were 500: PostgreSQL refused LIMIT Infinity)', () => {
  for (const url of ['/reservations', '/resources', '/admin/customers']) {
    for (const value of ['Infinity', '-Infinity', '1e309']) {
      it(`GET ${url}?limit=${value} → 400 VALIDATION_FAILED`, async () => {
        const a = await setup();
        const response = await a.inject({ url: `${url}?limit=${value}`, headers: admin });
        expectValidationFailed(response, { path: 'querystring/limit', message: 'must be a finite number' });
      });
    }
  }

  it('GET /reservations/:id?wait=Infinity → 400 VALIDATION_FAILED', async () => {
    const a = await setup();
    const response = await a.inject({
      url: '/reservations/7b0c8f4e-5b7a-4c1e-9a57-0d5d7c0c9f11?wait=Infinity',
      headers: admin,
    });
    expectValidationFailed(response, { path: 'querystring/wait' });
  });

  it('still takes every finite spelling of a whole number in range', async () => {
    const a = await setup();
    for (const value of ['1', '200', '2e2', '200.0', '+5']) {
      const response = await a.inject({ url: `/resources?limit=${value}`, headers: admin });
      expect(response.statusCode, value).toBe(200);
    }
  });
});

describe('ids longer than the router took (were 414 with fastify’s own body)', () => {
  const longest = 'r'.repeat(MAX_ID_LENGTH);
  const tooLong = 'r'.repeat(MAX_ID_LENGTH + 1);

  it('routes an id of MAX_ID_LENGTH characters, even fully percent-encoded', async () => {
    const a = await setup();
    const plain = await a.inject({ url: `/resources/${longest}`, headers: admin });
    expect(plain.statusCode).toBe(404);
    expect(plain.json()).toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
    const encoded = await a.inject({ url: `/resources/${'%3A'.repeat(MAX_ID_LENGTH)}`, headers: admin });
    // ':' may not start an id: the schema answers, not the router.
    expectValidationFailed(encoded, { path: 'params/resourceId' });
  });

  for (const [method, url] of [
    ['GET', `/resources/${tooLong}`],
    ['GET', `/resources/${tooLong}/availability?from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z`],
    ['GET', `/admin/customers/${tooLong}`],
    ['PUT', `/admin/resources/${tooLong}`],
    ['POST', `/admin/resources/${tooLong}/retire`],
  ] as const) {
    it(`${method} ${url.slice(0, 40)}… (${MAX_ID_LENGTH + 1} characters) → 400 VALIDATION_FAILED`, async () => {
      const a = await setup();
      const response = await a.inject({
        method,
        url,
        headers: admin,
        payload: method === 'GET' ? undefined : {},
      });
      expectValidationFailed(response, { path: expect.stringMatching(/^params/) as unknown as string });
    });
  }

  it('answers an id longer than the router takes with the API’s body, not 414', async () => {
    const a = await setup();
    const response = await a.inject({
      url: `/resources/${'r'.repeat(3 * MAX_ID_LENGTH + 1)}`,
      headers: admin,
    });
    expectValidationFailed(response, {
      path: 'params',
      message: `must NOT have more than ${MAX_ID_LENGTH} characters`,
    });
    expect(response.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('answers a path parameter that is not valid percent-encoding with the API’s body', async () => {
    const a = await setup();
    const response = await a.inject({ url: '/resources/%E0%A4%A', headers: admin });
    expectValidationFailed(response, { path: 'params' });
  });
});

describe('cursors whose sort key PostgreSQL cannot take (were 500 on the list routes)', () => {
  const reservationCursor = [CURSOR_PARTS.instant, CURSOR_PARTS.uuid];

  it('takes the cursors the API writes', () => {
    const parts = ['2027-01-10T10:00:00.000Z', '7b0c8f4e-5b7a-4c1e-9a57-0d5d7c0c9f11'];
    expect(decodeCursor(encodeCursor(parts), reservationCursor)).toEqual(parts);
    expect(decodeCursor(encodeCursor(['room-1']), [CURSOR_PARTS.id])).toEqual(['room-1']);
  });

  for (const parts of [
    ['294277-01-01T00:00:00.000Z', '7b0c8f4e-5b7a-4c1e-9a57-0d5d7c0c9f11'],
    ['2027-13-45T10:00:00.000Z', '7b0c8f4e-5b7a-4c1e-9a57-0d5d7c0c9f11'],
    ['2027-01-10T10:00:00.000Z', 'not-a-uuid'],
  ]) {
    it(`refuses a reservations cursor of ${JSON.stringify(parts)}`, () => {
      expect(() => decodeCursor(encodeCursor(parts), reservationCursor)).toThrow(InvalidCursorError);
    });
  }

  it('refuses an id cursor holding NUL or longer than an id', () => {
    expect(() => decodeCursor(encodeCursor(['a\u0000b']), [CURSOR_PARTS.id])).toThrow(InvalidCursorError);
    expect(() => decodeCursor(encodeCursor(['a'.repeat(201)]), [CURSOR_PARTS.id])).toThrow(
      InvalidCursorError,
    );
  });
});
