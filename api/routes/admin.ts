/** Administrator routes: customers (details and their reservations) and reports. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteContext } from '../app.ts';
import { ApiError } from '../errors.ts';
import { CustomerDetail, CustomerList, CustomerParams, ErrorBody, ListQuery } from '../schemas.ts';
import { presentReservation } from './reservations.ts';

const errors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  429: ErrorBody,
  503: ErrorBody,
};

/** The report queries the admin routes serve (ClickHouse, typed parameters only). */
export interface ReportSource {
  readonly routes: FastifyPluginAsyncTypebox;
}

export function adminRoutes(context: RouteContext): FastifyPluginAsyncTypebox {
  const { deps } = context;
  return async (app) => {
    app.get(
      '/admin/customers',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['admin'],
          summary: 'List customers by id',
          querystring: ListQuery,
          response: { 200: CustomerList, ...errors },
        },
      },
      async (request) =>
        deps.readModel.customers({
          limit: request.query.limit,
          ...(request.query.after !== undefined ? { after: request.query.after } : {}),
        }),
    );

    app.get(
      '/admin/customers/:customerId',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['admin'],
          summary: 'A customer with their reservations, newest first',
          params: CustomerParams,
          querystring: ListQuery,
          response: { 200: CustomerDetail, ...errors },
        },
      },
      async (request) => {
        const id = request.params.customerId;
        const customer = await deps.readModel.customer(id);
        if (!customer) throw new ApiError(404, 'CUSTOMER_NOT_FOUND', `no customer ${id}`, { customerId: id });
        const page = await deps.readModel.reservations({
          customerId: id,
          limit: request.query.limit,
          ...(request.query.after !== undefined ? { after: request.query.after } : {}),
        });
        return { customer, reservations: { items: page.items.map(presentReservation), next: page.next } };
      },
    );

    if (deps.reports) await app.register(deps.reports.routes);
  };
}
