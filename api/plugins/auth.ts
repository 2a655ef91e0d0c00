/**
 * API key authentication and role checks. Every route needs a key unless its config says `public: true`
 * (health, metrics, docs); a route's `roles` lists who may call it. The key comes as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`.
 *
 * Before a key is looked up, the request is charged to its client address (AddressLimiter): once an
 * address has spent its budget of requests without a valid key, it is answered 429 without a lookup.
 */
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../config.ts';
import { ApiError, forbidden, unauthenticated } from '../errors.ts';
import type { AddressLimiter } from '../services/address-limiter.ts';
import type { KeyVerifier, Principal } from '../services/api-keys.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set on every non-public route. */
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** No API key needed. */
    public?: boolean;
    /** Roles allowed to call the route. @default all roles */
    roles?: readonly Role[];
  }
}

/** The secret a request presents, undefined when none, or the 401 for a malformed Authorization header. */
function secretOf(request: FastifyRequest): string | undefined | ApiError {
  const authorization = request.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return unauthenticated('the Authorization header must be `Bearer <API key>`');
    return match[1];
  }
  const header = request.headers['x-api-key'];
  return Array.isArray(header) ? header[0] : header;
}

/** The principal of a request on a non-public route (the auth hook guarantees it). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthenticated('an API key is required');
  return request.principal;
}

/** The 429 of an address that spent its budget of requests without a valid key. */
function addressLimited(max: number, retryAfterSeconds: number): ApiError {
  return new ApiError(
    429,
    'RATE_LIMITED',
    `too many requests without a valid API key from this address: at most ${max} per minute; retry in ${retryAfterSeconds} seconds`,
    { limit: max, scope: 'address', retryAfterSeconds },
    { 'retry-after': String(retryAfterSeconds) },
  );
}

export function registerAuth(app: FastifyInstance, keys: KeyVerifier, addresses?: AddressLimiter): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRoute', (route) => {
    const config = route.config as FastifyContextConfig | undefined;
    if (config?.public) {
      // Health, metrics and docs: no key, and no rate limit either.
      route.config = { ...config, rateLimit: false };
      return;
    }
    const roles = config?.roles;
    const authenticate = async (request: FastifyRequest) => {
      const secret = secretOf(request);
      // A key verified recently is answered from memory and its address pays nothing, so clients with
      // valid keys keep working from an address (a NAT, a proxy) that someone else is flooding.
      let principal = secret === undefined || secret instanceof ApiError ? undefined : keys.cached?.(secret);
      if (!principal) {
        if (addresses) {
          const charge = addresses.charge(request.ip);
          if (!charge.allowed) throw addressLimited(addresses.max, charge.retryAfterSeconds);
        }
        if (secret instanceof ApiError) throw secret;
        if (!secret)
          throw unauthenticated('an API key is required (Authorization: Bearer <key> or X-API-Key)');
        principal = await keys.verify(secret);
        if (!principal) throw unauthenticated('the API key is not valid or has been revoked');
        // A valid key is limited per key, by role, after this hook: give its address back what it spent.
        addresses?.refund(request.ip);
      }
      request.principal = principal;
      if (roles && !roles.includes(principal.role)) {
        throw forbidden(`this route needs a key with role ${roles.join(' or ')}`, {
          role: principal.role,
          allowedRoles: roles,
        });
      }
    };
    const existing = route.onRequest;
    route.onRequest =
      existing === undefined
        ? [authenticate]
        : [...(Array.isArray(existing) ? existing : [existing]), authenticate];
  });
}

/** Refuses a customer key acting for another customer; other roles act for anyone. */
export function assertActsFor(principal: Principal, customerId: string): void {
  if (principal.role === 'customer' && principal.customerId !== customerId) {
    throw new ApiError(403, 'CUSTOMER_MISMATCH', 'a customer key acts only for its own customer', {
      customerId: principal.customerId,
    });
  }
}
