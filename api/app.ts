/**
 * The API as a fastify instance built from its dependencies, so tests drive it with `app.inject()` and
 * api/server.ts gives it real ones. Nothing here opens a connection of its own.
 */
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { CommandBuilder, MAX_ID_LENGTH } from '../producers/commands.ts';
import { outcomeOf } from '../producers/errors.ts';
import type { Provenance } from '../schemas/codec.ts';
import type { Command } from '../schemas/generated/types.ts';
import type { ApiConfig } from './config.ts';
import { ApiError } from './errors.ts';
import { type ApiMetrics, createMetrics } from './metrics.ts';
import { registerAuth } from './plugins/auth.ts';
import { answerFrameworkError, registerErrorHandling } from './plugins/errors.ts';
import { registerIdempotency } from './plugins/idempotency.ts';
import { adminRoutes, type ReportSource } from './routes/admin.ts';
import { asyncApiRoutes } from './routes/asyncapi.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';
import { reservationRoutes } from './routes/reservations.ts';
import { resourceRoutes } from './routes/resources.ts';
import { finiteNumbers } from './schemas.ts';
import { AddressLimiter } from './services/address-limiter.ts';
import type { KeyVerifier } from './services/api-keys.ts';
import type { IdempotencyStore } from './services/idempotency-store.ts';
import type { DecisionView, ReadModel } from './services/read-model.ts';
import { BatchWaiter, preferredWait } from './services/waiter.ts';

/** Where commands go: the CommandProducer in production, a fake in unit tests. */
export interface CommandSender {
  send(command: Command, provenance?: Partial<Provenance>): Promise<unknown>;
}

export interface AppDeps {
  readonly config: ApiConfig;
  readonly logger: Logger;
  readonly commands: CommandSender;
  readonly keys: KeyVerifier;
  readonly idempotency: IdempotencyStore;
  readonly readModel: ReadModel;
  /** ClickHouse report queries, when available. */
  readonly reports?: ReportSource;
  /** Dependency checks for /readyz, by name. */
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
  readonly metrics?: ApiMetrics;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** What route plugins share. */
export interface RouteContext {
  readonly deps: AppDeps;
  readonly builder: CommandBuilder;
  readonly metrics: ApiMetrics;
  /** Waits for the decision about a command, by command id. */
  readonly decisions: BatchWaiter<DecisionView>;
  /** Waits for the latest decision about a reservation, by reservation id. */
  readonly reservationDecisions: BatchWaiter<DecisionView>;
  /** Sends a command, recording for Idempotency-Key whether it may have reached Kafka. */
  send(request: FastifyRequest, command: Command): Promise<void>;
  /** Seconds this request asks to wait (`Prefer: wait=N` or `?wait=N`), capped; 0 when it does not. */
  waitSeconds(request: FastifyRequest, query?: number): { seconds: number; asked: boolean };
  /** Waits up to `seconds` for a value of `key`; gives up early when the client goes away. */
  waitFor<V>(
    reply: FastifyReply,
    waiter: BatchWaiter<V>,
    key: string,
    seconds: number,
  ): Promise<V | undefined>;
}

export const API_SOURCE = '/slotstream/api';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Longest path parameter the router takes: an id of MAX_ID_LENGTH characters, each percent-encoded (%XX). */
const MAX_PARAM_LENGTH = 3 * MAX_ID_LENGTH;

/** A route option that may hold one hook or several, as an array. */
export function toArray<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...value] : [value as T];
}

/**
 * The answer when a command may or may not have reached Kafka: 503 with Retry-After, saying so, with the
 * ids to look for. Under an Idempotency-Key a retry re-sends the very same command (the key keeps its ids),
 * which the decider decides once; without one, the reservation's link tells whether it arrived.
 */
function outcomeUnknown(request: FastifyRequest, command: Command): ApiError {
  const reservationId = 'reservationId' in command ? command.reservationId : undefined;
  const idempotencyKey = request.idempotency?.key;
  return new ApiError(
    503,
    'OUTCOME_UNKNOWN',
    idempotencyKey
      ? 'the request may or may not have been taken; repeat it with the same Idempotency-Key to learn its outcome'
      : 'the request may or may not have been taken; send it with an Idempotency-Key to retry it safely, or look it up by its id',
    {
      outcome: 'unknown',
      retryable: true,
      requestId: request.id,
      commandId: command.commandId,
      ...(reservationId ? { reservationId, links: { self: `/reservations/${reservationId}` } } : {}),
      resourceId: command.resourceId,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    },
    { 'retry-after': '1' },
  );
}

/** Builds the app; call `ready()` (or `inject`, which does) before use and `close()` after. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const metrics = deps.metrics ?? createMetrics({ defaultMetrics: false });
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request log lines would cost more than the request at 10k/s; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // A client's X-Request-Id becomes the correlation id of the commands it causes, so only a sane one is
    // taken; anything else gets a fresh UUID.
    requestIdHeader: false,
    genReqId: (raw) => {
      const given = raw.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // Room for the longest id the API accepts (MAX_ID_LENGTH), even fully percent-encoded, so a too-long id
    // reaches the route's schema (400 VALIDATION_FAILED), not the router's 414; longer ones still get the
    // API's body (frameworkErrors).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: answerFrameworkError,
    ajv: {
      customOptions: {
        // Unknown properties are refused, not silently dropped: a typo ("quantitiy") must not pass.
        removeAdditional: false,
        allErrors: true,
        coerceTypes: true,
        useDefaults: true,
      },
      plugins: [finiteNumbers],
    },
  });

  const waiterError = (error: unknown) => deps.logger.warn({ err: error }, 'polling the read model failed');
  const decisions = new BatchWaiter<DecisionView>(
    (ids) => deps.readModel.decisionsByCommand(ids),
    config.waitPollIntervalMs,
    waiterError,
  );
  const reservationDecisions = new BatchWaiter<DecisionView>(
    (ids) => deps.readModel.latestDecisionsByReservation(ids),
    config.waitPollIntervalMs,
    waiterError,
  );
  app.addHook('onClose', async () => {
    decisions.close();
    reservationDecisions.close();
  });
  // While closing, answers in flight end their connection: a keep-alive socket would otherwise hold the
  // close for fastify's keepAliveTimeout (72 s).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  const context: RouteContext = {
    deps,
    metrics,
    builder: new CommandBuilder({ clock: deps.clock ?? Date.now }),
    decisions,
    reservationDecisions,
    async send(request, command) {
      request.commandSent = 'attempted';
      try {
        await deps.commands.send(command, {
          source: API_SOURCE,
          correlationId: request.id,
          causationId: request.id,
        });
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'UNKNOWN';
        metrics.produceErrors.inc({ code });
        if (outcomeOf(error) === 'unknown') throw outcomeUnknown(request, command);
        request.commandSent = 'no'; // refused before anything reached Kafka
        throw error;
      }
      request.commandSent = 'sent';
      metrics.commandsProduced.inc({ type: command.type });
    },
    waitSeconds(request, query) {
      const preferred = preferredWait(request.headers.prefer);
      const asked = query ?? preferred;
      if (asked === undefined) return { seconds: 0, asked: false };
      return { seconds: Math.min(asked, config.maxWaitSeconds), asked: true };
    },
    async waitFor(reply, waiter, key, seconds) {
      // The response's 'close' before it finished is the client going away (the request's 'close' only
      // says its body was read).
      const controller = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) controller.abort();
      };
      reply.raw.once('close', onClose);
      metrics.waiting.inc();
      try {
        return (await waiter.wait(key, () => true, seconds * 1000, controller.signal)).value;
      } finally {
        metrics.waiting.dec();
        reply.raw.off('close', onClose);
      }
    },
  };

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Slotstream API',
        version: '1.0.0',
        description:
          'Reservations decided on Kafka. Writes answer 202 with the reservation id as soon as Kafka holds the ' +
          'command; send `Prefer: wait=N` to wait up to N seconds for the decision (201 held, 409 refused). ' +
          'Every POST honours `Idempotency-Key`. Errors answer `{ error, code, details }`.',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (npm run api:keys -- create …)',
          },
        },
      },
      security: [{ apiKey: [] }],
      tags: [
        { name: 'reservations', description: 'Customer routes' },
        { name: 'resources', description: 'Resources and availability' },
        { name: 'admin', description: 'Administrator routes' },
        { name: 'operations', description: 'Health and metrics' },
      ],
    },
  });
  // Registered before the hooks below attach to routes: the documentation is public and not rate limited.
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });

  // No CORS unless origins are configured: without them a browser on another origin cannot read answers.
  if (config.corsOrigins.length > 0) await registerCors(app, config.corsOrigins);

  registerErrorHandling(app);
  // Authentication, rate limits, idempotency and metrics attach to each route as it is declared (onRoute),
  // with what they need captured then, so a request pays for no lookup of its route's settings.
  // Requests without a valid key are limited per client address before the key lookup (so invented keys
  // cost no database query once the address's budget is spent); requests with one per key, by role, after.
  registerAuth(
    app,
    deps.keys,
    new AddressLimiter({ max: config.rateLimitPerAddressPerMinute, clock: deps.clock }),
  );
  await app.register(rateLimit, {
    global: true,
    // After authentication, before body validation: the limit is per API key and by its role. Every route
    // that reaches this hook has a principal (public routes are not limited).
    hook: 'preValidation',
    timeWindow: 60_000,
    keyGenerator: (request) => (request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`),
    max: (request) =>
      request.principal
        ? config.rateLimitPerMinute[request.principal.role]
        : config.rateLimitPerAddressPerMinute,
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        'RATE_LIMITED',
        `too many requests: at most ${context.max} per minute for this key; retry in ${context.after}`,
        { limit: context.max, scope: 'key', retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        { 'retry-after': String(Math.ceil(context.ttl / 1000)) },
      ),
  });
  registerIdempotency(app, deps.idempotency, { leaseMs: (config.maxWaitSeconds + 30) * 1000 });

  app.addHook('onRoute', (route) => {
    const url = route.url;
    const observe = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const labels = { method: request.method, route: url, status_code: String(reply.statusCode) };
      metrics.requests.inc(labels);
      metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
      done();
    };
    route.onResponse = [...toArray(route.onResponse), observe];
  });

  await app.register(healthRoutes(context));
  await app.register(asyncApiRoutes(context));
  await app.register(reservationRoutes(context));
  await app.register(resourceRoutes(context));
  await app.register(adminRoutes(context));
  return app;
}

/** CORS for the configured origins ('*' for any). */
async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  await app.register(cors, {
    origin: origins.includes('*') ? true : [...origins],
    methods: ['GET', 'POST', 'PUT', 'OPTIONS'],
    allowedHeaders: [
      'authorization',
      'x-api-key',
      'content-type',
      'idempotency-key',
      'prefer',
      'x-request-id',
    ],
    exposedHeaders: ['location', 'preference-applied', 'idempotent-replayed', 'retry-after', 'x-request-id'],
    maxAge: 600,
  });
}
