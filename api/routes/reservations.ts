/**
 * Customer routes: request, view, list, cancel and reopen reservations.
 *
 * Writes validate, produce a command keyed by the resource id and answer 202 with the reservation id and
 * its link as soon as Kafka acknowledged it (acks=all). `Prefer: wait=N` waits up to N seconds (capped) for
 * the decision to be visible in the read model: 201 when held, 409 with the reason when refused, 202 when
 * not visible yet. `GET /reservations/:id?wait=N` long-polls the same way.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { RouteContext } from '../app.ts';
import { ApiError } from '../errors.ts';
import { assertActsFor, principalOf } from '../plugins/auth.ts';
import { assignedId } from '../plugins/idempotency.ts';
import {
  Accepted,
  CancelBody,
  CreateReservationBody,
  ErrorBody,
  PreferHeaders,
  Reservation,
  ReservationList,
  ReservationListQuery,
  ReservationParams,
  WaitQuery,
} from '../schemas.ts';
import type { Principal } from '../services/api-keys.ts';
import type { DecisionView, ReservationView } from '../services/read-model.ts';

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

export const reservationPath = (id: string) => `/reservations/${id}`;

/** A reservation as the API shows it, with links to what can be done next. */
export function presentReservation(view: ReservationView) {
  const self = reservationPath(view.id);
  const links: { self: string; cancel?: string; reopen?: string } = { self };
  if (view.status === 'Pending' || view.status === 'Confirmed') links.cancel = `${self}/cancel`;
  if (view.status === 'Cancelled') links.reopen = `${self}/reopen`;
  return { ...view, links };
}

export function rejected(decision: DecisionView, what: 'RESERVATION_REJECTED' | 'RESOURCE_CHANGE_REJECTED') {
  return new ApiError(409, what, `refused: ${decision.detail ?? decision.reason ?? 'no reason given'}`, {
    reason: decision.reason,
    detail: decision.detail,
    commandId: decision.commandId,
    reservationId: decision.reservationId,
    resourceId: decision.resourceId,
    decidedAt: decision.decidedAt,
  });
}

/** Whether the principal may see a reservation of `customerId`: customers see only their own. */
function canSee(principal: Principal, customerId: string | null): boolean {
  return principal.role !== 'customer' || principal.customerId === customerId;
}

export function reservationRoutes(context: RouteContext): FastifyPluginAsyncTypebox {
  const { deps, builder } = context;

  /** Waits for the decision about a command; answers 202 (not visible yet) or calls `decided`. */
  async function answerAfterWait(
    reply: FastifyReply,
    wait: { seconds: number; asked: boolean },
    commandId: string,
    accepted: Record<string, unknown> & { links: Record<string, string> },
    decided: (decision: DecisionView) => Promise<unknown>,
  ): Promise<void> {
    if (wait.asked) reply.header('preference-applied', `wait=${wait.seconds}`);
    if (wait.seconds > 0) {
      const value = await context.waitFor(reply, context.decisions, commandId, wait.seconds);
      if (value) {
        await decided(value);
        return;
      }
    }
    await reply.code(202).header('location', accepted.links.self).send(accepted);
  }

  return async (app) => {
    app.post(
      '/reservations',
      {
        config: { roles: ['customer', 'producer', 'admin'] },
        schema: {
          tags: ['reservations'],
          summary: 'Request a reservation',
          description:
            'Answers 202 with the reservation id once Kafka holds the request. With `Prefer: wait=N`: 201 and ' +
            'the reservation when held, 409 with the reason when refused, 202 if not decided within N seconds.',
          headers: PreferHeaders,
          body: CreateReservationBody,
          response: { 201: Reservation, 202: Accepted, ...errors },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const body = request.body;
        let customerId = body.customer.id;
        if (principal.role === 'customer') {
          if (customerId !== undefined) assertActsFor(principal, customerId);
          customerId = principal.customerId ?? undefined;
        }
        if (!customerId) {
          throw new ApiError(
            400,
            'VALIDATION_FAILED',
            'the request is not valid: body/customer/id is required',
            {
              problems: [{ path: 'body/customer/id', message: 'is required with a producer or admin key' }],
            },
          );
        }
        const command = builder.requestReservation({
          resourceId: body.resourceId,
          reservationId: assignedId(request, 'reservationId'),
          commandId: assignedId(request, 'commandId'),
          idempotencyKey: request.idempotency?.key ?? null,
          customer: { ...body.customer, id: customerId },
          start: Date.parse(body.start),
          end: Date.parse(body.end),
          quantity: body.quantity,
        });
        const wait = context.waitSeconds(request);
        await context.send(request, command);
        const accepted = {
          status: 'Accepted' as const,
          reservationId: command.reservationId,
          resourceId: command.resourceId,
          commandId: command.commandId,
          links: { self: reservationPath(command.reservationId) },
        };
        await answerAfterWait(reply, wait, command.commandId, accepted, async (decision) => {
          if (decision.rejected) throw rejected(decision, 'RESERVATION_REJECTED');
          const view = await deps.readModel.reservation(command.reservationId);
          if (!view) return reply.code(202).header('location', accepted.links.self).send(accepted);
          return reply.code(201).header('location', accepted.links.self).send(presentReservation(view));
        });
        return reply;
      },
    );

    app.get(
      '/reservations/:reservationId',
      {
        config: { roles: ['customer', 'producer', 'admin'] },
        schema: {
          tags: ['reservations'],
          summary: 'View a reservation',
          description:
            'With `?wait=N`, a reservation not decided yet is waited for up to N seconds: 200 once held, 409 ' +
            'with the reason if its request was refused, 202 if still undecided. Without it, 404.',
          params: ReservationParams,
          querystring: WaitQuery,
          response: { 200: Reservation, 202: Accepted, ...errors },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const id = request.params.reservationId;
        const notFound = () =>
          new ApiError(404, 'RESERVATION_NOT_FOUND', `no reservation ${id}`, { reservationId: id });
        const show = (view: ReservationView) => {
          if (!canSee(principal, view.customerId)) throw notFound();
          return reply.code(200).send(presentReservation(view));
        };
        const view = await deps.readModel.reservation(id);
        if (view) return show(view);
        const wait = context.waitSeconds(request, request.query.wait);
        if (wait.asked) reply.header('preference-applied', `wait=${wait.seconds}`);
        const decision = await context.waitFor(reply, context.reservationDecisions, id, wait.seconds);
        if (decision) {
          if (!canSee(principal, decision.customerId)) throw notFound();
          if (decision.rejected) throw rejected(decision, 'RESERVATION_REJECTED');
          const after = await deps.readModel.reservation(id);
          if (after) return show(after);
        }
        if (!wait.asked) throw notFound();
        return reply
          .code(202)
          .send({ status: 'Accepted' as const, reservationId: id, links: { self: reservationPath(id) } });
      },
    );

    app.get(
      '/reservations',
      {
        config: { roles: ['customer', 'producer', 'admin'] },
        schema: {
          tags: ['reservations'],
          summary: 'List reservations, newest first',
          description:
            'A customer key lists its own reservations; producer and admin keys may filter by customer.',
          querystring: ReservationListQuery,
          response: { 200: ReservationList, ...errors },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const query = request.query;
        let customerId = query.customerId;
        if (principal.role === 'customer') {
          if (customerId !== undefined) assertActsFor(principal, customerId);
          customerId = principal.customerId ?? undefined;
        }
        const page = await deps.readModel.reservations({
          limit: query.limit,
          ...(query.after !== undefined ? { after: query.after } : {}),
          ...(customerId !== undefined ? { customerId } : {}),
          ...(query.resourceId !== undefined ? { resourceId: query.resourceId } : {}),
          ...(query.status !== undefined ? { status: query.status } : {}),
        });
        return { items: page.items.map(presentReservation), next: page.next };
      },
    );

    for (const action of ['cancel', 'reopen'] as const) {
      app.post(
        `/reservations/:reservationId/${action}`,
        {
          config: { roles: ['customer', 'producer', 'admin'] },
          schema: {
            tags: ['reservations'],
            summary: action === 'cancel' ? 'Cancel a reservation' : 'Reopen a cancelled reservation',
            description:
              'Answers 202 once Kafka holds the command. With `Prefer: wait=N`: 200 and the reservation once ' +
              'decided, 409 with the reason when refused (e.g. ILLEGAL_TRANSITION, UNAVAILABLE).',
            headers: PreferHeaders,
            params: ReservationParams,
            ...(action === 'cancel' ? { body: CancelBody } : {}),
            response: { 200: Reservation, 202: Accepted, ...errors },
          },
        },
        async (request, reply) => {
          const principal = principalOf(request);
          const id = request.params.reservationId;
          const view = await deps.readModel.reservation(id);
          if (!view || !canSee(principal, view.customerId)) {
            throw new ApiError(404, 'RESERVATION_NOT_FOUND', `no reservation ${id}`, { reservationId: id });
          }
          const common = {
            resourceId: view.resourceId,
            reservationId: id,
            customerId: view.customerId,
            commandId: assignedId(request, 'commandId'),
            idempotencyKey: request.idempotency?.key ?? null,
          };
          const command =
            action === 'cancel'
              ? builder.cancelReservation({
                  ...common,
                  reason: (request.body as { reason?: string | null } | undefined)?.reason ?? null,
                })
              : builder.reopenReservation(common);
          const wait = context.waitSeconds(request);
          await context.send(request, command);
          const accepted = {
            status: 'Accepted' as const,
            reservationId: id,
            resourceId: view.resourceId,
            commandId: command.commandId,
            links: { self: reservationPath(id) },
          };
          await answerAfterWait(reply, wait, command.commandId, accepted, async (decision) => {
            if (decision.rejected) throw rejected(decision, 'RESERVATION_REJECTED');
            const after = await deps.readModel.reservation(id);
            if (!after) return reply.code(202).header('location', accepted.links.self).send(accepted);
            return reply.code(200).send(presentReservation(after));
          });
          return reply;
        },
      );
    }
  };
}
