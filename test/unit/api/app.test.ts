import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app.ts';
import {
  DeliveryUnknownError,
  ProducerOverloadedError,
  ProducerUnavailableError,
} from '../../../producers/errors.ts';
import type { RequestReservation } from '../../../schemas/generated/types.ts';
import { auth, FakeReadModel, fakeDeps, reservationBody, SECRETS } from './fakes.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup(options: Parameters<typeof fakeDeps>[0] = {}) {
  const f = fakeDeps(options);
  app = await buildApp(f.deps);
  return { ...f, app };
}

const post = (a: FastifyInstance, secret: string, body: unknown, headers: Record<string, string> = {}) =>
  a.inject({
    method: 'POST',
    url: '/reservations',
    headers: { ...auth(secret), ...headers },
    payload: body as object,
  });

describe('public routes', () => {
  it('answers /healthz, /readyz and /metrics without a key, and serves the OpenAPI document', async () => {
    const { app } = await setup();
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { postgres: { ok: true } } });
    const doc = await app.inject('/docs/json');
    expect(doc.statusCode).toBe(200);
    const openapi = doc.json() as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/reservations', '/reservations/{reservationId}', '/admin/resources']),
    );
    expect((await app.inject('/docs')).statusCode).toBeLessThan(400);
    await app.inject({
      method: 'POST',
      url: '/reservations',
      headers: auth(SECRETS.customer),
      payload: reservationBody(),
    });
    const metrics = await app.inject('/metrics');
    expect(metrics.body).toMatch(
      /slotstream_api_http_requests_total\{method="POST",route="\/reservations",status_code="202"\} 1/,
    );
    expect(metrics.body).toMatch(/slotstream_api_commands_produced_total\{type="RequestReservation"\} 1/);
  });

  it('reports a failing dependency on /readyz with 503', async () => {
    const { app } = await setup({
      readiness: {
        postgres: async () => {},
        kafka: async () => {
          throw new Error('broker down');
        },
      },
    });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'not ready',
      checks: { kafka: { ok: false, error: 'broker down' } },
    });
  });
});

describe('authentication and roles', () => {
  it('refuses requests without a key or with an unknown one, with a precise body', async () => {
    const { app, commands } = await setup();
    const none = await app.inject({ method: 'POST', url: '/reservations', payload: reservationBody() });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/Bearer/);
    expect(none.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: null });
    const bad = await post(app, `slot_${'x'.repeat(43)}`, reservationBody());
    expect(bad.json()).toMatchObject({ code: 'UNAUTHENTICATED', error: expect.stringMatching(/not valid/) });
    const malformed = await app.inject({
      method: 'GET',
      url: '/reservations',
      headers: { authorization: 'Basic abc' },
    });
    expect(malformed.statusCode).toBe(401);
    const viaHeader = await app.inject({
      method: 'GET',
      url: '/reservations',
      headers: { 'x-api-key': SECRETS.customer },
    });
    expect(viaHeader.statusCode).toBe(200);
    expect(commands.sent).toHaveLength(0);
  });

  it('keeps admin routes from customer and producer keys', async () => {
    const { app } = await setup();
    for (const secret of [SECRETS.customer, SECRETS.producer]) {
      const res = await app.inject({
        method: 'POST',
        url: '/admin/resources',
        headers: auth(secret),
        payload: { name: 'Room', capacity: 2, unitPrice: { amountMinor: 100, currency: 'EUR' } },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN', details: { allowedRoles: ['admin'] } });
    }
    const customers = await app.inject({
      method: 'GET',
      url: '/admin/customers',
      headers: auth(SECRETS.customer),
    });
    expect(customers.statusCode).toBe(403);
  });
});

describe('POST /reservations', () => {
  it('produces a RequestReservation for the key’s customer and answers 202 with the id and a link', async () => {
    const { app, commands } = await setup({ clock: () => 1_790_000_000_000 });
    const res = await post(app, SECRETS.customer, reservationBody({ quantity: 2 }));
    expect(res.statusCode).toBe(202);
    const body = res.json() as { reservationId: string; commandId: string; links: { self: string } };
    expect(body).toMatchObject({ status: 'Accepted', resourceId: 'room-1' });
    expect(res.headers.location).toBe(`/reservations/${body.reservationId}`);
    expect(body.links.self).toBe(res.headers.location);
    expect(commands.sent).toEqual([
      expect.objectContaining({
        type: 'RequestReservation',
        commandId: body.commandId,
        reservationId: body.reservationId,
        resourceId: 'room-1',
        acceptedAt: 1_790_000_000_000,
        customer: { id: 'cust-1', fullName: 'Ada Lovelace', email: 'ada@example.com', phone: null },
        start: Date.parse('2026-12-01T10:00:00Z'),
        end: Date.parse('2026-12-01T12:00:00Z'),
        quantity: 2,
        idempotencyKey: null,
      }),
    ]);
  });

  it('takes a sane X-Request-Id as the correlation id and answers with it', async () => {
    const { app } = await setup();
    const given = await post(app, SECRETS.customer, reservationBody(), { 'x-request-id': 'web-42.abc' });
    expect(given.headers['x-request-id']).toBe('web-42.abc');
    const insane = await post(app, SECRETS.customer, reservationBody(), { 'x-request-id': 'a b<script>' });
    expect(insane.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a customer key booking for another customer; producer keys must name the customer', async () => {
    const { app, commands } = await setup();
    const other = await post(
      app,
      SECRETS.customer,
      reservationBody({ customer: { id: 'cust-2', fullName: 'B', email: 'b@example.com' } }),
    );
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ code: 'CUSTOMER_MISMATCH' });
    const unnamed = await post(app, SECRETS.producer, reservationBody());
    expect(unnamed.statusCode).toBe(400);
    expect(unnamed.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { problems: [{ path: 'body/customer/id', message: expect.any(String) }] },
    });
    const named = await post(
      app,
      SECRETS.producer,
      reservationBody({ customer: { id: 'cust-9', fullName: 'C', email: 'c@example.com' } }),
    );
    expect(named.statusCode).toBe(202);
    expect((commands.sent[0] as RequestReservation).customer.id).toBe('cust-9');
  });

  it('answers precise 400s: every problem with its path, unknown fields refused, end after start', async () => {
    const { app, commands } = await setup();
    const res = await post(app, SECRETS.customer, {
      resourceId: 'room 1',
      start: 'tomorrow',
      end: '2026-12-01T12:00:00Z',
      quantity: 0,
      quantitiy: 3,
      customer: { fullName: 'Ada', email: 'not-an-email' },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { code: string; details: { problems: { path: string }[] } };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.details.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        'body/quantitiy',
        'body/resourceId',
        'body/start',
        'body/quantity',
        'body/customer/email',
      ]),
    );
    const backwards = await post(app, SECRETS.customer, reservationBody({ start: '2026-12-02T00:00:00Z' }));
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { problems: [{ path: 'body/end' }] },
    });
    expect(commands.sent).toHaveLength(0);
  });

  it('answers malformed JSON, wrong media types and oversized bodies precisely', async () => {
    const { app } = await setup({ env: { API_BODY_LIMIT_BYTES: '1024' } });
    const headers = { ...auth(SECRETS.customer), 'content-type': 'application/json' };
    const malformed = await app.inject({
      method: 'POST',
      url: '/reservations',
      headers,
      payload: '{"resourceId":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'MALFORMED_JSON' });
    const text = await app.inject({
      method: 'POST',
      url: '/reservations',
      headers: { ...auth(SECRETS.customer), 'content-type': 'application/xml' },
      payload: '<hello/>',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const big = await post(
      app,
      SECRETS.customer,
      reservationBody({ customer: { fullName: 'x'.repeat(2000), email: 'a@b.co' } }),
    );
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'BODY_TOO_LARGE' });
    const unknown = await app.inject({ method: 'GET', url: '/nowhere', headers: auth(SECRETS.customer) });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('answers 503 with Retry-After when Kafka cannot take the command, and 500 without internals', async () => {
    const { app, commands } = await setup();
    commands.failWith = new ProducerOverloadedError(50_000);
    const busy = await post(app, SECRETS.customer, reservationBody());
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { retryable: true } });
    commands.failWith = new Error('secret connection string postgres://u:p@host');
    const broken = await post(app, SECRETS.customer, reservationBody());
    expect(broken.statusCode).toBe(500);
    expect(broken.body).not.toMatch(/secret|postgres/);
    expect(broken.json()).toEqual({
      error: 'internal error',
      code: 'INTERNAL',
      details: { requestId: expect.any(String) },
    });
  });
});

describe('Idempotency-Key', () => {
  it('returns the original answer for the same key and body, once produced', async () => {
    const { app, commands } = await setup();
    const first = await post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'order-1' });
    // Same body with its keys in another order is the same request.
    const { customer, ...rest } = reservationBody();
    const second = await post(app, SECRETS.customer, { customer, ...rest }, { 'idempotency-key': 'order-1' });
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.body).toBe(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers.location).toBe(first.headers.location);
    expect(commands.sent).toHaveLength(1);
    expect(commands.sent[0]?.idempotencyKey).toBe('order-1');
  });

  it('answers 422 for the same key with a different body, and scopes keys to the API key', async () => {
    const { app, commands } = await setup();
    await post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'k' });
    const changed = await post(app, SECRETS.customer, reservationBody({ quantity: 2 }), {
      'idempotency-key': 'k',
    });
    expect(changed.statusCode).toBe(422);
    expect(changed.json()).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      details: { idempotencyKey: 'k' },
    });
    const otherKey = await post(app, SECRETS.otherCustomer, reservationBody(), { 'idempotency-key': 'k' });
    expect(otherKey.statusCode).toBe(202);
    expect(commands.sent).toHaveLength(2);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    const { app, commands } = await setup();
    commands.delayMs = 100;
    const [a, b] = await Promise.all([
      post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'slow' }),
      new Promise((r) => setTimeout(r, 20)).then(() =>
        post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'slow' }),
      ),
    ]);
    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(409);
    expect(b.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE' });
    expect(b.headers['retry-after']).toBe('1');
  });

  it('re-sends the very same command (same ids) after a send whose outcome is unknown', async () => {
    const { app, commands } = await setup();
    commands.failWith = new DeliveryUnknownError('any', new Error('request timed out'));
    const failed = await post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'retry-me' });
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe('1');
    const unknown = failed.json() as { code: string; details: Record<string, unknown> };
    expect(unknown).toMatchObject({
      code: 'OUTCOME_UNKNOWN',
      details: { outcome: 'unknown', retryable: true, idempotencyKey: 'retry-me' },
    });
    commands.failWith = undefined;
    const retried = await post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'retry-me' });
    expect(retried.statusCode).toBe(202);
    const again = await post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'retry-me' });
    expect(again.body).toBe(retried.body);
    expect(commands.sent).toHaveLength(1);
    // The same ids as the first attempt would have used: the idempotency store assigned them.
    const body = retried.json() as { reservationId: string; commandId: string };
    expect(commands.sent[0]).toMatchObject({ reservationId: body.reservationId, commandId: body.commandId });
    expect(unknown.details).toMatchObject({ reservationId: body.reservationId, commandId: body.commandId });
  });

  it('answers 503 "not sent" and frees the key when Kafka could not be reached before the timeout', async () => {
    const { app, commands } = await setup();
    commands.failWith = new ProducerUnavailableError('any', 15_000);
    const refused = await post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'later' });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      details: { outcome: 'not-sent', retryable: true },
    });
    commands.failWith = undefined;
    const retried = await post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'later' });
    expect(retried.statusCode).toBe(202);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
  });

  it('answers 503 with Retry-After, never 500, for a resource change whose outcome is unknown', async () => {
    const { app, commands } = await setup();
    commands.failWith = new DeliveryUnknownError('any', new Error('Connection error: ECONNREFUSED'));
    const res = await app.inject({
      method: 'PUT',
      url: '/admin/resources/room-7',
      headers: auth(SECRETS.admin),
      payload: { name: 'Room 7', capacity: 2, unitPrice: { amountMinor: 100, currency: 'EUR' } },
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({
      code: 'OUTCOME_UNKNOWN',
      details: { outcome: 'unknown', resourceId: 'room-7' },
    });
  });

  it('forgets a key whose request was refused before anything was sent', async () => {
    const { app, commands } = await setup();
    const refused = await post(
      app,
      SECRETS.customer,
      reservationBody({ customer: { id: 'cust-2', fullName: 'B', email: 'b@example.com' } }),
      { 'idempotency-key': 'x' },
    );
    expect(refused.statusCode).toBe(403);
    const invalid = await post(app, SECRETS.customer, reservationBody(), {
      'idempotency-key': 'x'.repeat(201),
    });
    expect(invalid.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID' });
    // The refused request was forgotten: the key is free for a new body.
    const ok = await post(app, SECRETS.customer, reservationBody(), { 'idempotency-key': 'x' });
    expect(ok.statusCode).toBe(202);
    expect(commands.sent).toHaveLength(1);
  });
});

describe('Prefer: wait and long polls', () => {
  it('answers 201 with the reservation when it is held within the wait', async () => {
    const { app, commands, readModel } = await setup();
    setTimeout(() => readModel.hold(commands.sent[0] as RequestReservation), 40);
    const res = await post(app, SECRETS.customer, reservationBody(), { prefer: 'wait=5' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['preference-applied']).toBe('wait=5');
    expect(res.json()).toMatchObject({
      status: 'Pending',
      customerId: 'cust-1',
      links: { cancel: expect.any(String) },
    });
  });

  it('answers 409 with the reason when the request is refused', async () => {
    const { app, commands, readModel } = await setup();
    setTimeout(() => readModel.decide(commands.sent[0] as RequestReservation, true, 'UNAVAILABLE'), 20);
    const res = await post(app, SECRETS.customer, reservationBody(), { prefer: 'respond-async, wait=5' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: 'RESERVATION_REJECTED',
      details: {
        reason: 'UNAVAILABLE',
        reservationId: (commands.sent[0] as RequestReservation).reservationId,
      },
    });
  });

  it('answers 202 when nothing is decided within the wait, capped by API_MAX_WAIT_SECONDS', async () => {
    const { app } = await setup({ env: { API_MAX_WAIT_SECONDS: '1', API_WAIT_POLL_INTERVAL_MS: '10' } });
    const started = Date.now();
    const res = await post(app, SECRETS.customer, reservationBody(), { prefer: 'wait=60' });
    expect(res.statusCode).toBe(202);
    expect(res.headers['preference-applied']).toBe('wait=1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(10_000); // far below the 60 s asked for: the cap held
  });

  it('stops waiting when the client goes away', async () => {
    const { app } = await setup();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address() as { port: number };
    const controller = new AbortController();
    const pending = fetch(`http://127.0.0.1:${address.port}/reservations`, {
      method: 'POST',
      headers: { ...auth(SECRETS.customer), 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify(reservationBody()),
      signal: controller.signal,
    }).catch(() => 'aborted');
    const waiting = async () =>
      (await app.inject('/metrics')).body.match(/slotstream_api_waiting_requests (\d+)/)?.[1];
    for (let i = 0; i < 50 && (await waiting()) !== '1'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await waiting()).toBe('1');
    controller.abort();
    expect(await pending).toBe('aborted');
    for (let i = 0; i < 50 && (await waiting()) !== '0'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await waiting()).toBe('0');
  });

  it('long-polls GET /reservations/:id, and hides other customers’ reservations', async () => {
    const { app, commands, readModel } = await setup();
    const created = (await post(app, SECRETS.customer, reservationBody())).json() as {
      reservationId: string;
    };
    const url = `/reservations/${created.reservationId}`;
    expect((await app.inject({ url, headers: auth(SECRETS.customer) })).statusCode).toBe(404);
    setTimeout(() => readModel.hold(commands.sent[0] as RequestReservation), 30);
    const polled = await app.inject({ url: `${url}?wait=5`, headers: auth(SECRETS.customer) });
    expect(polled.statusCode).toBe(200);
    expect(polled.json()).toMatchObject({ id: created.reservationId, status: 'Pending' });
    const other = await app.inject({ url, headers: auth(SECRETS.otherCustomer) });
    expect(other.statusCode).toBe(404);
    expect((await app.inject({ url, headers: auth(SECRETS.admin) })).statusCode).toBe(200);
    const list = await app.inject({ url: '/reservations', headers: auth(SECRETS.otherCustomer) });
    expect(list.json()).toEqual({ items: [], next: null });
  });

  it('cancels through the read model’s resource id and waits for the outcome', async () => {
    const { app, commands, readModel } = await setup();
    await post(app, SECRETS.customer, reservationBody());
    const request = commands.sent[0] as RequestReservation;
    readModel.hold(request);
    const url = `/reservations/${request.reservationId}/cancel`;
    const res = await app.inject({
      method: 'POST',
      url,
      headers: auth(SECRETS.customer),
      payload: { reason: 'plans changed' },
    });
    expect(res.statusCode).toBe(202);
    expect(commands.sent[1]).toMatchObject({
      type: 'CancelReservation',
      resourceId: 'room-1',
      reservationId: request.reservationId,
      customerId: 'cust-1',
      reason: 'plans changed',
    });
    const stranger = await app.inject({
      method: 'POST',
      url,
      headers: auth(SECRETS.otherCustomer),
      payload: {},
    });
    expect(stranger.statusCode).toBe(404);
  });
});

describe('rate limits', () => {
  it('limits each key by its role and answers 429 with Retry-After', async () => {
    const { app } = await setup({ env: { API_RATE_LIMIT_CUSTOMER: '2' } });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) codes.push((await post(app, SECRETS.customer, reservationBody())).statusCode);
    expect(codes).toEqual([202, 202, 429]);
    const limited = await post(app, SECRETS.customer, reservationBody());
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 2 } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another key has its own budget, and health checks have none.
    expect((await post(app, SECRETS.otherCustomer, reservationBody())).statusCode).toBe(202);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });
});

describe('CORS', () => {
  it('answers preflights for the configured origins only', async () => {
    const { app } = await setup({ env: { API_CORS_ORIGINS: 'http://localhost:5173' } });
    const ok = await app.inject({
      method: 'OPTIONS',
      url: '/reservations',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    const other = await app.inject({
      method: 'OPTIONS',
      url: '/reservations',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('resources', () => {
  it('lets admins create resources and anyone read availability', async () => {
    const { app, commands, readModel } = await setup();
    const created = await app.inject({
      method: 'POST',
      url: '/admin/resources',
      headers: auth(SECRETS.admin),
      payload: {
        id: 'room-9',
        name: 'Room 9',
        capacity: 3,
        unitPrice: { amountMinor: 5000, currency: 'EUR' },
      },
    });
    expect(created.statusCode).toBe(202);
    expect(created.headers.location).toBe('/resources/room-9');
    expect(commands.sent[0]).toMatchObject({
      type: 'UpsertResource',
      resourceId: 'room-9',
      capacity: 3,
      actorId: 'key:k-admin',
    });
    readModel.resourceRows.set('room-9', {
      id: 'room-9',
      name: 'Room 9',
      description: null,
      capacity: 3,
      unitPrice: { amountMinor: 5000, currency: 'EUR' },
      holdTimeoutMs: null,
      retired: false,
      retiredAt: null,
      version: 1,
      createdAt: null,
      updatedAt: new Date().toISOString(),
    });
    const availability = await app.inject({
      url: '/resources/room-9/availability?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z',
      headers: auth(SECRETS.customer),
    });
    expect(availability.statusCode).toBe(200);
    expect(availability.json()).toMatchObject({
      capacity: 3,
      intervals: [
        { start: '2026-12-01T00:00:00.000Z', end: '2026-12-02T00:00:00.000Z', reserved: 0, free: 3 },
      ],
    });
    const missing = await app.inject({
      url: '/resources/nope/availability?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z',
      headers: auth(SECRETS.customer),
    });
    expect(missing.json()).toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
  });
});

void FakeReadModel;
