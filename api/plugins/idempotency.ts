/**
 * `Idempotency-Key` on every POST and PUT: the same key with the same request returns the original answer
 * (with `Idempotent-Replayed: true`), the same key with a different request is a 422, and a key whose first
 * request is still running is a 409. Keys are scoped to the API key that used them and live in PostgreSQL
 * (api/services/idempotency-store.ts), so they hold across restarts and instances.
 *
 * What is stored depends on what happened: an answer after a command was sent, or any 2xx, is kept; a 5xx
 * after a send whose outcome is unknown keeps the assigned ids and frees the key for a retry (which
 * re-sends the same command); any other refusal forgets the key, as nothing was done.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import type { AssignedIds, IdempotencyStore } from '../services/idempotency-store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the request holds an Idempotency-Key: the ids to use for the command it sends. */
    idempotency: { key: string; principal: string; ids: AssignedIds; replayed: boolean } | undefined;
    /** 'attempted' once a command was handed to the producer, 'sent' once Kafka acknowledged it. */
    commandSent: 'no' | 'attempted' | 'sent';
  }
}

const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;
const STORED_HEADERS = ['location', 'content-type', 'preference-applied'] as const;

/** Canonical JSON: keys sorted, so the same body in another key order has the same fingerprint. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function fingerprintOf(request: FastifyRequest, url: string): Buffer {
  return createHash('sha256')
    .update(request.method)
    .update('\u0000')
    .update(url)
    .update('\u0000')
    .update(canonicalJson(request.params ?? {}))
    .update('\u0000')
    .update(canonicalJson(request.body ?? null))
    .digest();
}

/** The ids a command of this request must use: the stored ones under an Idempotency-Key, new ones otherwise. */
export function assignedId(request: FastifyRequest, name: string): string {
  return request.idempotency?.ids[name] ?? randomUUID();
}

export function registerIdempotency(
  app: FastifyInstance,
  store: IdempotencyStore,
  options: { leaseMs: number },
): void {
  app.decorateRequest('idempotency', undefined);
  app.decorateRequest('commandSent', 'no');

  const claim = (url: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers['idempotency-key'];
    if (header === undefined || !request.principal) return;
    const key = Array.isArray(header) ? undefined : header;
    if (!key || !KEY_PATTERN.test(key)) {
      throw new ApiError(
        400,
        'IDEMPOTENCY_KEY_INVALID',
        'Idempotency-Key must be 1 to 200 visible ASCII characters, sent once',
        null,
      );
    }
    const principal = `key:${request.principal.keyId}`;
    // Ids every command of any route may need; a route uses those it needs.
    const ids = { commandId: randomUUID(), reservationId: randomUUID(), resourceId: randomUUID() };
    const claimed = await store.claim(principal, key, fingerprintOf(request, url), ids, options.leaseMs);
    switch (claimed.kind) {
      case 'claimed':
        request.idempotency = { key, principal, ids: claimed.ids, replayed: claimed.takenOver };
        return;
      case 'replay':
        reply
          .code(claimed.response.statusCode)
          .headers({ ...claimed.response.headers, 'idempotent-replayed': 'true' })
          .send(claimed.response.body);
        return reply;
      case 'mismatch':
        throw new ApiError(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used with a different request; use a new key for a new request',
          { idempotencyKey: key },
        );
      case 'in-progress':
        throw new ApiError(
          409,
          'IDEMPOTENCY_KEY_IN_USE',
          'a request with this Idempotency-Key is still being processed; retry shortly',
          { idempotencyKey: key },
          { 'retry-after': '1' },
        );
    }
  };

  const store_ = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const held = request.idempotency;
    if (!held) return payload;
    request.idempotency = undefined; // exactly once, even if onSend runs again for an error answer
    const status = reply.statusCode;
    try {
      if (status >= 500) {
        if (request.commandSent === 'no') await store.forget(held.principal, held.key);
        else await store.release(held.principal, held.key);
      } else if (request.commandSent === 'sent' || (status >= 200 && status < 300)) {
        const headers: Record<string, string> = {};
        for (const name of STORED_HEADERS) {
          const value = reply.getHeader(name);
          if (value !== undefined) headers[name] = String(value);
        }
        await store.complete(held.principal, held.key, {
          statusCode: status,
          headers,
          body:
            typeof payload === 'string'
              ? payload
              : payload === undefined || payload === null
                ? ''
                : String(payload),
        });
      } else {
        await store.forget(held.principal, held.key);
      }
    } catch (error) {
      // The key stays pending until its lease ends; a retry then takes it over with the same ids.
      request.log.error({ err: error, idempotencyKey: held.key }, 'storing the idempotent answer failed');
    }
    return payload;
  };

  // Only POST and PUT routes carry the hooks; other requests pay nothing for them.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.some((m) => m === 'POST' || m === 'PUT')) return;
    route.preHandler = [...toArray(route.preHandler), claim(route.url)];
    route.onSend = [...toArray(route.onSend), store_];
  });
}

function toArray<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...value] : [value as T];
}
