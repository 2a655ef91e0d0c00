/**
 * Regression: a reservation whose customer.fullName held a NUL was accepted (202), decided and charged, but
 * the read model could not store its ReservationHeld. The API now refuses control characters in every text
 * of every POST and PUT, with the precise 400 naming the field.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app.ts';
import type { RequestReservation } from '../../../schemas/generated/types.ts';
import { auth, fakeDeps, reservationBody, SECRETS } from './fakes.ts';

const LINE = 'must not contain control characters (U+0000–U+001F, U+007F–U+009F)';
const PROSE = 'must not contain control characters other than tab, line feed and carriage return';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup() {
  const f = fakeDeps();
  app = await buildApp(f.deps);
  return { ...f, app };
}

const send = (
  a: FastifyInstance,
  method: 'POST' | 'PUT',
  url: string,
  payload: object,
  secret: string = SECRETS.admin,
) => a.inject({ method, url, headers: auth(secret), payload });

/** The API's 400 for problems, exactly: the error line lists each problem, details name each field. */
function expectValidationFailed(
  res: { statusCode: number; json(): unknown },
  problems: { path: string; message: string }[],
) {
  expect(res.statusCode).toBe(400);
  expect(res.json()).toEqual({
    error: `the request is not valid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
    code: 'VALIDATION_FAILED',
    details: { problems },
  });
}

const resource = { name: 'Room 9', capacity: 3, unitPrice: { amountMinor: 5000, currency: 'EUR' } };

describe('regression: a NUL in customer.fullName was accepted and broke the read model', () => {
  it('answers 400 naming body/customer/fullName and sends nothing', async () => {
    const { app, commands } = await setup();
    const res = await send(
      app,
      'POST',
      '/reservations',
      reservationBody({ customer: { fullName: 'Ada\u0000Lovelace', email: 'ada@example.com' } }),
      SECRETS.customer,
    );
    expectValidationFailed(res, [{ path: 'body/customer/fullName', message: LINE }]);
    expect(commands.sent).toHaveLength(0);
  });

  it('refuses every C0 control, DEL and C1 in names and emails; other Unicode passes', async () => {
    const { app, commands } = await setup();
    for (const bad of ['\u0001', '\t', '\n', '\r', '\u001b', '\u001f', '\u007f', '\u0085', '\u009f']) {
      const res = await send(
        app,
        'POST',
        '/reservations',
        reservationBody({ customer: { fullName: `Ada${bad}`, email: 'ada@example.com' } }),
        SECRETS.customer,
      );
      expectValidationFailed(res, [{ path: 'body/customer/fullName', message: LINE }]);
    }
    expect(commands.sent).toHaveLength(0);
    const fine = await send(
      app,
      'POST',
      '/reservations',
      reservationBody({ customer: { fullName: 'Zoë O’Brien 部屋 😀\u00a0Jr.', email: 'zoe@example.com' } }),
      SECRETS.customer,
    );
    expect(fine.statusCode).toBe(202);
    expect((commands.sent[0] as RequestReservation).customer.fullName).toBe('Zoë O’Brien 部屋 😀\u00a0Jr.');
  });

  it('names each bad field of a reservation request at once: customer id, resource id, email', async () => {
    const { app, commands } = await setup();
    const res = await send(app, 'POST', '/reservations', {
      ...reservationBody(),
      resourceId: 'room\u00001',
      customer: { id: 'cust\u00001', fullName: 'Ada\u0000', email: 'ada\u0000@example.com' },
    });
    expect(res.statusCode).toBe(400);
    const { problems } = (res.json() as { details: { problems: { path: string; message: string }[] } })
      .details;
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'body/resourceId', message: expect.stringMatching(/pattern/) },
        { path: 'body/customer/id', message: expect.stringMatching(/pattern/) },
        { path: 'body/customer/fullName', message: LINE },
        { path: 'body/customer/email', message: LINE },
      ]),
    );
    expect(commands.sent).toHaveLength(0);
  });
});

describe('control characters in the other POST and PUT routes', () => {
  it('POST /admin/resources: the name is one line; the description may break lines and indent, nothing else', async () => {
    const { app, commands } = await setup();
    expectValidationFailed(
      await send(app, 'POST', '/admin/resources', { ...resource, name: 'Room\u00009' }),
      [{ path: 'body/name', message: LINE }],
    );
    expectValidationFailed(await send(app, 'POST', '/admin/resources', { ...resource, name: 'Room\n9' }), [
      { path: 'body/name', message: LINE },
    ]);
    expectValidationFailed(
      await send(app, 'POST', '/admin/resources', { ...resource, description: 'Sea view\u0000' }),
      [{ path: 'body/description', message: PROSE }],
    );
    expectValidationFailed(
      await send(app, 'POST', '/admin/resources', { ...resource, description: 'Sea view\u007f' }),
      [{ path: 'body/description', message: PROSE }],
    );
    expect(commands.sent).toHaveLength(0);
    const description = 'Sea view.\r\n\t- two beds\n\t- balcony';
    const ok = await send(app, 'POST', '/admin/resources', { ...resource, id: 'room-9', description });
    expect(ok.statusCode).toBe(202);
    expect(commands.sent[0]).toMatchObject({ type: 'UpsertResource', description });
  });

  it('PUT /admin/resources/:id and POST /admin/resources/:id/retire', async () => {
    const { app, commands } = await setup();
    expectValidationFailed(
      await send(app, 'PUT', '/admin/resources/room-9', {
        ...resource,
        name: 'Room\u001b[31m',
        description: 'a\u0000',
      }),
      [
        { path: 'body/name', message: LINE },
        { path: 'body/description', message: PROSE },
      ],
    );
    expectValidationFailed(
      await send(app, 'POST', '/admin/resources/room-9/retire', { reason: 'closed\u0000' }),
      [{ path: 'body/reason', message: LINE }],
    );
    expect(commands.sent).toHaveLength(0);
    expect(
      (await send(app, 'PUT', '/admin/resources/room-9', { ...resource, description: null })).statusCode,
    ).toBe(202);
    expect((await send(app, 'POST', '/admin/resources/room-9/retire', { reason: 'closed' })).statusCode).toBe(
      202,
    );
    expect((await send(app, 'POST', '/admin/resources/room-9/retire', { reason: null })).statusCode).toBe(
      202,
    );
    expect(commands.sent).toMatchObject([
      { type: 'UpsertResource', description: null },
      { type: 'RetireResource', reason: 'closed' },
      { type: 'RetireResource', reason: null },
    ]);
  });

  it('POST /reservations/:id/cancel: the reason is one line', async () => {
    const { app, commands, readModel } = await setup();
    await send(app, 'POST', '/reservations', reservationBody(), SECRETS.customer);
    const request = commands.sent[0] as RequestReservation;
    readModel.hold(request);
    const url = `/reservations/${request.reservationId}/cancel`;
    for (const reason of ['plans\u0000changed', 'plans\nchanged']) {
      expectValidationFailed(await send(app, 'POST', url, { reason }, SECRETS.customer), [
        { path: 'body/reason', message: LINE },
      ]);
    }
    expect(commands.sent).toHaveLength(1);
    expect((await send(app, 'POST', url, { reason: 'plans changed' }, SECRETS.customer)).statusCode).toBe(
      202,
    );
  });

  it('keeps refusing an Idempotency-Key with control characters (visible ASCII only)', async () => {
    const { app, commands } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/reservations',
      headers: { ...auth(SECRETS.customer), 'idempotency-key': 'order\u00011' },
      payload: reservationBody(),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID' });
    expect(commands.sent).toHaveLength(0);
  });

  it('documents the rule in the OpenAPI document as a pattern', async () => {
    const { app } = await setup();
    const doc = (await app.inject('/docs/json')).json() as {
      paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: unknown }> } } }>;
    };
    const schema = JSON.stringify(doc.paths['/reservations']?.post?.requestBody);
    expect(schema).toContain('"pattern":"^[^\\\\u0000-\\\\u001F\\\\u007F-\\\\u009F]*$"');
  });
});
