/**
 * The API's schemas, written once with TypeBox: fastify validates requests and serialises responses with
 * them, the handlers get their types from them, and @fastify/swagger turns them into the OpenAPI document.
 */
import type { FastifyServerOptions } from 'fastify';
import { type Static, Type } from 'typebox';
import { TEXT_RULES, type TextKind } from '../producers/commands.ts';
import {
  ReservationRejectionReasonSymbols,
  type ReservationStatusSymbols,
} from '../schemas/generated/types.ts';

const Id = (description: string) =>
  Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$', description });
/**
 * Text a client sends: no control characters — the command builders' rule (producers/commands.ts
 * TEXT_RULES), as a JSON Schema pattern; `prose` (a resource's description) may also hold TAB, LF and CR.
 * The error handler words a violation with the rule's message.
 */
type TextOptions = { minLength?: number; maxLength: number; format?: string };
const Text = (options: TextOptions, kind: TextKind = 'line') =>
  Type.String({ ...options, pattern: TEXT_RULES[kind].pattern });
/** Text or null as one schema (not anyOf), so a bad text gets one problem, not three. */
const NullableText = (options: TextOptions, kind: TextKind = 'line') =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], ...options, pattern: TEXT_RULES[kind].pattern });
/**
 * A whole number in a query string. ajv coerces the text `Infinity` (and `1e309`) to a number that its
 * numeric keywords skip, so `?limit=Infinity` would pass `maximum` and reach PostgreSQL (a 500 then);
 * `x-finite` (finiteNumbers, registered on the app's ajv) refuses it as a 400.
 */
const QueryInteger = (options: {
  minimum: number;
  maximum: number;
  default?: number;
  description?: string;
}) => Type.Integer({ ...options, 'x-finite': true });

type AjvPlugin = Extract<
  NonNullable<NonNullable<FastifyServerOptions['ajv']>['plugins']>[number],
  (...args: never[]) => unknown
>;

/** The ajv keyword behind `x-finite`: the number must be finite. One of fastify's `ajv.plugins`. */
export const finiteNumbers: AjvPlugin = (ajv) =>
  // Not a `type: 'number'` keyword: ajv runs those only for finite numbers, the very thing to refuse.
  ajv.addKeyword({
    keyword: 'x-finite',
    schemaType: 'boolean',
    validate: (schema: boolean, data: unknown) =>
      !schema || typeof data !== 'number' || Number.isFinite(data),
    errors: false,
  });

export const Uuid = Type.String({ format: 'uuid', description: 'A UUID' });
const Instant = (description: string) => Type.String({ format: 'date-time', description });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'What went wrong, for people' }),
    code: Type.String({ description: 'What went wrong, for programs: a stable code' }),
    details: Nullable(Type.Record(Type.String(), Type.Unknown())),
  },
  { description: 'Every 4xx and 5xx answer' },
);

export const Money = Type.Object(
  {
    amountMinor: Type.Integer({ minimum: 0, description: 'Amount in minor units, e.g. 1250 for EUR 12.50' }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. EUR' }),
  },
  { additionalProperties: false },
);

export const ReservationStatus = Type.Union(
  [
    Type.Literal('Pending'),
    Type.Literal('Confirmed'),
    Type.Literal('Cancelled'),
    Type.Literal('Expired'),
    Type.Literal('Completed'),
  ],
  { description: 'Pending and Confirmed hold capacity' },
);
// The literals above must stay the contract's statuses.
const _statusesMatch: Static<typeof ReservationStatus> extends (typeof ReservationStatusSymbols)[number]
  ? true
  : false = true;
void _statusesMatch;

export const CustomerInput = Type.Object(
  {
    id: Type.Optional(Id('Customer id; omitted with a customer key (the key names the customer)')),
    fullName: Text({ minLength: 1, maxLength: 200 }),
    email: Text({ format: 'email', maxLength: 320 }),
    phone: Type.Optional(Nullable(Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$', description: 'E.164' }))),
  },
  { additionalProperties: false },
);

export const CreateReservationBody = Type.Object(
  {
    resourceId: Id('The resource to reserve'),
    start: Instant('Start of the period, inclusive (RFC 3339)'),
    end: Instant('End of the period, exclusive (RFC 3339)'),
    quantity: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
    customer: CustomerInput,
  },
  { additionalProperties: false },
);
export type CreateReservationBody = Static<typeof CreateReservationBody>;

export const ReservationLinks = Type.Object({
  self: Type.String(),
  cancel: Type.Optional(Type.String()),
  reopen: Type.Optional(Type.String()),
});

export const Accepted = Type.Object(
  {
    status: Type.Literal('Accepted', {
      description: 'Written to Kafka; not decided yet (or not visible yet)',
    }),
    reservationId: Type.Optional(Uuid),
    resourceId: Type.Optional(Type.String()),
    commandId: Type.Optional(Uuid),
    links: Type.Object({ self: Type.String({ description: 'Where the outcome will be visible' }) }),
  },
  { description: 'Accepted: the command is in Kafka, the decision is not visible yet' },
);

export const Reservation = Type.Object(
  {
    id: Uuid,
    resourceId: Type.String(),
    resourceName: Nullable(Type.String()),
    customerId: Type.String(),
    status: ReservationStatus,
    version: Type.Integer(),
    start: Nullable(Type.String({ format: 'date-time' })),
    end: Nullable(Type.String({ format: 'date-time' })),
    quantity: Nullable(Type.Integer()),
    unitPrice: Nullable(Money),
    price: Nullable(Money),
    holdExpiresAt: Nullable(Type.String({ format: 'date-time' })),
    paymentReference: Nullable(Type.String()),
    confirmedAt: Nullable(Type.String({ format: 'date-time' })),
    cancelledAt: Nullable(Type.String({ format: 'date-time' })),
    cancelReason: Nullable(Type.String()),
    paymentFailureReason: Nullable(Type.String()),
    expiredAt: Nullable(Type.String({ format: 'date-time' })),
    completedAt: Nullable(Type.String({ format: 'date-time' })),
    createdAt: Nullable(Type.String({ format: 'date-time' })),
    updatedAt: Type.String({ format: 'date-time' }),
    links: ReservationLinks,
  },
  { description: 'A reservation as the read model shows it' },
);

export const ReservationList = Type.Object({
  items: Type.Array(Reservation),
  next: Nullable(Type.String({ description: 'Cursor of the next page; null on the last page' })),
});

export const ListQuery = Type.Object(
  {
    limit: QueryInteger({ minimum: 1, maximum: 200, default: 50 }),
    after: Type.Optional(Type.String({ maxLength: 500, description: 'Cursor from the previous page' })),
  },
  { additionalProperties: false },
);

export const ReservationListQuery = Type.Object(
  {
    limit: QueryInteger({ minimum: 1, maximum: 200, default: 50 }),
    after: Type.Optional(Type.String({ maxLength: 500 })),
    status: Type.Optional(ReservationStatus),
    resourceId: Type.Optional(Id('Only reservations of this resource')),
    customerId: Type.Optional(Id('Only reservations of this customer (producer and admin keys)')),
  },
  { additionalProperties: false },
);

export const ReservationParams = Type.Object({ reservationId: Uuid });
export const ResourceParams = Type.Object({ resourceId: Id('Resource id') });
export const CustomerParams = Type.Object({ customerId: Id('Customer id') });

export const WaitQuery = Type.Object(
  {
    wait: Type.Optional(
      QueryInteger({ minimum: 0, maximum: 300, description: 'Seconds to wait for a decision (capped)' }),
    ),
  },
  { additionalProperties: false },
);

export const CancelBody = Type.Object(
  { reason: Type.Optional(NullableText({ maxLength: 1000 })) },
  { additionalProperties: false },
);

export const Rejection = Type.Object({
  reason: Type.String({ description: `One of ${ReservationRejectionReasonSymbols.join(', ')}` }),
  detail: Nullable(Type.String()),
});

export const Resource = Type.Object(
  {
    id: Type.String(),
    name: Nullable(Type.String()),
    description: Nullable(Type.String()),
    capacity: Nullable(Type.Integer()),
    unitPrice: Nullable(Money),
    holdTimeoutMs: Nullable(Type.Integer()),
    retired: Type.Boolean(),
    retiredAt: Nullable(Type.String({ format: 'date-time' })),
    version: Type.Integer(),
    createdAt: Nullable(Type.String({ format: 'date-time' })),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { description: 'A resource as the read model shows it' },
);

export const ResourceList = Type.Object({ items: Type.Array(Resource), next: Nullable(Type.String()) });

export const ResourceListQuery = Type.Object(
  {
    limit: QueryInteger({ minimum: 1, maximum: 200, default: 50 }),
    after: Type.Optional(Type.String({ maxLength: 500 })),
    includeRetired: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

export const UpsertResourceBody = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(NullableText({ maxLength: 2000 }, 'prose')),
    capacity: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }),
    unitPrice: Money,
    holdTimeoutMs: Type.Optional(Nullable(Type.Integer({ minimum: 1_000, maximum: 7 * 24 * 3_600_000 }))),
  },
  { additionalProperties: false },
);
export type UpsertResourceBody = Static<typeof UpsertResourceBody>;

export const CreateResourceBody = Type.Object(
  {
    id: Type.Optional(Id('Resource id; generated when omitted')),
    name: Text({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(NullableText({ maxLength: 2000 }, 'prose')),
    capacity: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }),
    unitPrice: Money,
    holdTimeoutMs: Type.Optional(Nullable(Type.Integer({ minimum: 1_000, maximum: 7 * 24 * 3_600_000 }))),
  },
  { additionalProperties: false },
);

export const RetireBody = Type.Object(
  { reason: Type.Optional(NullableText({ maxLength: 1000 })) },
  { additionalProperties: false },
);

export const AvailabilityQuery = Type.Object(
  {
    from: Instant('Start of the range, inclusive'),
    to: Instant('End of the range, exclusive'),
  },
  { additionalProperties: false },
);

export const Availability = Type.Object({
  resourceId: Type.String(),
  capacity: Type.Integer(),
  retired: Type.Boolean(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  intervals: Type.Array(
    Type.Object({
      start: Type.String({ format: 'date-time' }),
      end: Type.String({ format: 'date-time' }),
      reserved: Type.Integer(),
      free: Type.Integer(),
    }),
  ),
});

export const Customer = Type.Object({
  id: Type.String(),
  fullName: Type.String(),
  email: Type.String(),
  phone: Nullable(Type.String()),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const CustomerList = Type.Object({ items: Type.Array(Customer), next: Nullable(Type.String()) });

export const CustomerDetail = Type.Object({
  customer: Customer,
  reservations: ReservationList,
});

export const PreferHeaders = Type.Object({
  prefer: Type.Optional(
    Type.String({ description: 'wait=N: wait up to N seconds for the decision (RFC 7240)' }),
  ),
  'idempotency-key': Type.Optional(
    // Checked by the idempotency hook, which answers IDEMPOTENCY_KEY_INVALID.
    Type.String({ description: '1–200 visible ASCII characters. Same key, same body → the original answer' }),
  ),
});
