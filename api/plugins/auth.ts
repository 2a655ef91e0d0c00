/**
 * API key authentication and role checks. Every route needs a key unless its config says `public: true`
 * (health, metrics, docs); a route's `roles` lists who may call it. The key comes as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`.
 */
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../config.ts';
import { ApiError, forbidden, unauthenticated } from '../errors.ts';
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

function secretOf(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw unauthenticated('the Authorization header must be `Bearer <API key>`');
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

export function registerAuth(app: FastifyInstance, keys: KeyVerifier): void {
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
      if (!secret) throw unauthenticated('an API key is required (Authorization: Bearer <key> or X-API-Key)');
      const principal = await keys.verify(secret);
      if (!principal) throw unauthenticated('the API key is not valid or has been revoked');
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
