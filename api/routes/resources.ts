/**
 * Resources: any key may list them, view one and see its availability; administrators create, change and
 * retire them (commands on the same topic, keyed by the same resource id, so capacity changes and
 * bookings are decided in one order).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Command } from '../../schemas/generated/types.ts';
import type { RouteContext } from '../app.ts';
import { ApiError } from '../errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { assignedId } from '../plugins/idempotency.ts';
import {
  Accepted,
  Availability,
  AvailabilityQuery,
  CreateResourceBody,
  ErrorBody,
  PreferHeaders,
  Resource,
  ResourceList,
  ResourceListQuery,
  ResourceParams,
  RetireBody,
  UpsertResourceBody,
} from '../schemas.ts';
import { rejected } from './reservations.ts';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
  503: ErrorBody,
};

/** Longest range an availability query may cover: a year keeps the answer small. */
const MAX_AVAILABILITY_RANGE_MS = 366 * 24 * 3_600_000;

export const resourcePath = (id: string) => `/resources/${id}`;

export function resourceRoutes(context: RouteContext): FastifyPluginAsyncTypebox {
  const { deps, builder } = context;

  async function sendAndAnswer(
    request: FastifyRequest,
    reply: FastifyReply,
    command: Command,
    createdStatus: 200 | 201,
  ) {
    const wait = context.waitSeconds(request);
    await context.send(request, command);
    const self = resourcePath(command.resourceId);
    const accepted = {
      status: 'Accepted' as const,
      resourceId: command.resourceId,
      commandId: command.commandId,
      links: { self },
    };
    if (wait.asked) reply.header('preference-applied', `wait=${wait.seconds}`);
    if (wait.seconds > 0) {
      const value = await context.waitFor(reply, context.decisions, command.commandId, wait.seconds);
      if (value) {
        if (value.rejected) throw rejected(value, 'RESOURCE_CHANGE_REJECTED');
        const view = await deps.readModel.resource(command.resourceId);
        if (view) return reply.code(createdStatus).header('location', self).send(view);
      }
    }
    return reply.code(202).header('location', self).send(accepted);
  }

  return async (app) => {
    app.get(
      '/resources',
      {
        schema: {
          tags: ['resources'],
          summary: 'List resources by id',
          querystring: ResourceListQuery,
          response: { 200: ResourceList, ...errors },
        },
      },
      async (request) => {
        const q = request.query;
        return deps.readModel.resources({
          limit: q.limit,
          includeRetired: q.includeRetired,
          ...(q.after !== undefined ? { after: q.after } : {}),
        });
      },
    );

    app.get(
      '/resources/:resourceId',
      {
        schema: {
          tags: ['resources'],
          summary: 'View a resource',
          params: ResourceParams,
          response: { 200: Resource, ...errors },
        },
      },
      async (request) => {
        const view = await deps.readModel.resource(request.params.resourceId);
        if (!view) {
          throw new ApiError(404, 'RESOURCE_NOT_FOUND', `no resource ${request.params.resourceId}`, {
            resourceId: request.params.resourceId,
          });
        }
        return view;
      },
    );

    app.get(
      '/resources/:resourceId/availability',
      {
        schema: {
          tags: ['resources'],
          summary: 'Free capacity over a range, per interval where it does not change',
          description:
            'From the read model: live reservations (Pending and Confirmed) overlapping [from, to). A slot ' +
            'offered as free may still be taken by a concurrent request; the decider has the last word.',
          params: ResourceParams,
          querystring: AvailabilityQuery,
          response: { 200: Availability, ...errors },
        },
      },
      async (request) => {
        const from = Date.parse(request.query.from);
        const to = Date.parse(request.query.to);
        if (!(to > from) || to - from > MAX_AVAILABILITY_RANGE_MS) {
          throw new ApiError(
            400,
            'VALIDATION_FAILED',
            'the request is not valid: querystring/to must be after from, within a year',
            {
              problems: [
                { path: 'querystring/to', message: 'must be after from and at most 366 days later' },
              ],
            },
          );
        }
        const answer = await deps.readModel.availability(request.params.resourceId, from, to);
        if (!answer) {
          throw new ApiError(404, 'RESOURCE_NOT_FOUND', `no resource ${request.params.resourceId}`, {
            resourceId: request.params.resourceId,
          });
        }
        return {
          resourceId: answer.resource.id,
          capacity: answer.resource.capacity ?? 0,
          retired: answer.resource.retired,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          intervals: answer.intervals,
        };
      },
    );

    app.post(
      '/admin/resources',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['admin'],
          summary: 'Create a resource',
          description:
            'Answers 202 once Kafka holds the command; with `Prefer: wait=N`, 201 and the resource once created.',
          headers: PreferHeaders,
          body: CreateResourceBody,
          response: { 201: Resource, 202: Accepted, ...errors },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const { id, ...settings } = request.body;
        const command = builder.upsertResource({
          ...settings,
          resourceId: id ?? assignedId(request, 'resourceId'),
          commandId: assignedId(request, 'commandId'),
          idempotencyKey: request.idempotency?.key ?? null,
          actorId: `key:${principal.keyId}`,
        });
        return sendAndAnswer(request, reply, command, 201);
      },
    );

    app.put(
      '/admin/resources/:resourceId',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['admin'],
          summary: 'Create or change a resource',
          headers: PreferHeaders,
          params: ResourceParams,
          body: UpsertResourceBody,
          response: { 200: Resource, 202: Accepted, ...errors },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const command = builder.upsertResource({
          ...request.body,
          resourceId: request.params.resourceId,
          commandId: assignedId(request, 'commandId'),
          idempotencyKey: request.idempotency?.key ?? null,
          actorId: `key:${principal.keyId}`,
        });
        return sendAndAnswer(request, reply, command, 200);
      },
    );

    app.post(
      '/admin/resources/:resourceId/retire',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['admin'],
          summary: 'Retire a resource: no new reservations, live ones are honoured',
          headers: PreferHeaders,
          params: ResourceParams,
          body: RetireBody,
          response: { 200: Resource, 202: Accepted, ...errors },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const command = builder.retireResource({
          resourceId: request.params.resourceId,
          commandId: assignedId(request, 'commandId'),
          idempotencyKey: request.idempotency?.key ?? null,
          actorId: `key:${principal.keyId}`,
          reason: request.body?.reason ?? null,
        });
        return sendAndAnswer(request, reply, command, 200);
      },
    );
  };
}
