/**
 * One error handler for the whole API: 4xx answers are precise (`{ error, code, details }`), 5xx answers
 * never show internals (only the request id to quote), and everything is logged once with its cause.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SlotstreamError } from '../../common/errors.ts';
import { MAX_ID_LENGTH, TEXT_RULES } from '../../producers/commands.ts';
import { InvalidCommandError } from '../../producers/errors.ts';
import { ApiError, type ErrorBody } from '../errors.ts';
import { InvalidCursorError } from '../services/read-model.ts';

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** JSON-pointer-ish path of a validation problem, with the missing property named for `required`. */
function pathOf(issue: ValidationIssue, context: string | undefined): string {
  let path = issue.instancePath ?? '';
  if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') {
    path = `${path}/${issue.params.missingProperty}`;
  }
  if (issue.keyword === 'additionalProperties' && typeof issue.params?.additionalProperty === 'string') {
    path = `${path}/${issue.params.additionalProperty}`;
  }
  return `${context ?? 'body'}${path || ''}`;
}

function messageOf(issue: ValidationIssue): string {
  if (issue.keyword === 'additionalProperties') return 'is not a known property';
  if (issue.keyword === 'required') return 'is required';
  if (issue.keyword === 'x-finite') return 'must be a finite number';
  if (issue.keyword === 'pattern') {
    // A text rule shared with the command builders: their words, not the pattern's.
    const rule = Object.values(TEXT_RULES).find((r) => r.pattern === issue.params?.pattern);
    if (rule) return rule.message;
  }
  return issue.message ?? 'is invalid';
}

function validationFailed(
  path: string,
  message: string,
): { statusCode: number; body: ErrorBody; headers: Record<string, string> } {
  return {
    statusCode: 400,
    body: {
      error: `the request is not valid: ${path} ${message}`,
      code: 'VALIDATION_FAILED',
      details: { problems: [{ path, message }] },
    },
    headers: {},
  };
}

/** Renders any error as the API's error body and status. */
export function toErrorAnswer(
  error: FastifyError | Error,
  requestId: string,
): { statusCode: number; body: ErrorBody; headers: Record<string, string> } {
  if (error instanceof ApiError)
    return { statusCode: error.statusCode, body: error.toBody(), headers: error.headers };
  const fastifyError = error as FastifyError & { validation?: ValidationIssue[]; validationContext?: string };
  if (fastifyError.validation) {
    const problems = fastifyError.validation.map((issue) => ({
      path: pathOf(issue, fastifyError.validationContext),
      message: messageOf(issue),
    }));
    return {
      statusCode: 400,
      body: {
        error: `the request is not valid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
        code: 'VALIDATION_FAILED',
        details: { problems },
      },
      headers: {},
    };
  }
  if (error instanceof InvalidCommandError) {
    return {
      statusCode: 400,
      body: {
        error: `the request is not valid: ${error.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
        code: 'VALIDATION_FAILED',
        details: {
          problems: error.problems.map((p) => ({
            path: `body/${p.path.replaceAll('.', '/')}`,
            message: p.message,
          })),
        },
      },
      headers: {},
    };
  }
  if (error instanceof InvalidCursorError) {
    return {
      statusCode: 400,
      body: {
        error: error.message,
        code: 'VALIDATION_FAILED',
        details: { problems: [{ path: 'querystring/after', message: error.message }] },
      },
      headers: {},
    };
  }
  switch (fastifyError.code) {
    // The router refuses a path parameter longer than maxParamLength (app.ts: room for any id the API
    // accepts, percent-encoded) or one that is not valid percent-encoding, before any route or schema.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return validationFailed('params', `must NOT have more than ${MAX_ID_LENGTH} characters`);
    case 'FST_ERR_BAD_URL':
      return validationFailed('params', 'must be valid percent-encoded UTF-8');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        statusCode: 413,
        body: { error: 'the request body is too large', code: 'BODY_TOO_LARGE', details: null },
        headers: {},
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        statusCode: 415,
        body: {
          error: 'the request body must be application/json',
          code: 'UNSUPPORTED_MEDIA_TYPE',
          details: { contentType: 'application/json' },
        },
        headers: {},
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        statusCode: 400,
        body: { error: 'the request body is not valid JSON', code: 'MALFORMED_JSON', details: null },
        headers: {},
      };
  }
  // Kafka or the registry is unreachable or overloaded, and nothing was sent: the client may try again.
  if (error instanceof SlotstreamError && error.retryable) {
    return {
      statusCode: 503,
      body: {
        error: 'the service cannot take the request right now; nothing was done; try again shortly',
        code: 'SERVICE_UNAVAILABLE',
        details: { requestId, retryable: true, outcome: 'not-sent' },
      },
      headers: { 'retry-after': '1' },
    };
  }
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // A 4xx fastify raised itself (e.g. a malformed header); its message is about the request.
    return {
      statusCode: status,
      body: { error: error.message, code: fastifyError.code ?? 'BAD_REQUEST', details: null },
      headers: {},
    };
  }
  return {
    statusCode: 500,
    body: { error: 'internal error', code: 'INTERNAL', details: { requestId } },
    headers: {},
  };
}

/**
 * fastify's `frameworkErrors` option: errors the router raises before any route matched (a path parameter
 * too long or badly encoded) get the API's error body instead of fastify's own.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const answer = toErrorAnswer(error, request.id);
  request.log.debug({ code: answer.body.code }, 'request refused by the router');
  reply
    .code(answer.statusCode)
    .headers({ ...answer.headers, 'x-request-id': request.id })
    .send(answer.body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const answer = toErrorAnswer(error, request.id);
    if (answer.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.debug({ code: answer.body.code }, 'request refused');
    return reply.code(answer.statusCode).headers(answer.headers).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: `no route ${request.method} ${request.url.split('?')[0]}`,
      code: 'ROUTE_NOT_FOUND',
      details: null,
    } satisfies ErrorBody),
  );
}
