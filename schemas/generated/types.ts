// generated, do not edit: produced by schemas/generate-types.ts from schemas/avro/*.avsc.
// Regenerate with `npm run schemas:types`; test/unit/schemas/generated-types.test.ts fails on drift.
// Timestamps are epoch milliseconds (number); the `type` discriminant is the Avro record name.

/** The customer a reservation belongs to, as known when the command was accepted. */
export interface Customer {
  /** Customer id, stable across reservations. */
  readonly id: string;
  /** Full name as given by the customer. */
  readonly fullName: string;
  /** Contact e-mail address. */
  readonly email: string;
  /** Contact phone number in E.164 form, when given. */
  readonly phone: string | null;
}

/** An amount of money in minor units (cents) of an ISO 4217 currency. */
export interface Money {
  /** Amount in minor units of the currency, e.g. 1250 for EUR 12.50. */
  readonly amountMinor: number;
  /** ISO 4217 alphabetic code, upper case, e.g. EUR. */
  readonly currency: string;
}

/** What the payment gateway answered. */
export type PaymentOutcome = 'SUCCEEDED' | 'FAILED';
/** Every symbol of PaymentOutcome, in schema order. */
export const PaymentOutcomeSymbols = ['SUCCEEDED', 'FAILED'] as const;

/** Why a reservation command was refused. OTHER is the reader default for reasons added later. */
export type ReservationRejectionReason = 'UNAVAILABLE' | 'UNKNOWN_RESOURCE' | 'RESOURCE_RETIRED' | 'INVALID_RANGE' | 'INVALID_QUANTITY' | 'ILLEGAL_TRANSITION' | 'UNKNOWN_RESERVATION' | 'DUPLICATE' | 'NOT_OWNER' | 'AMOUNT_MISMATCH' | 'OTHER';
/** Every symbol of ReservationRejectionReason, in schema order. */
export const ReservationRejectionReasonSymbols = ['UNAVAILABLE', 'UNKNOWN_RESOURCE', 'RESOURCE_RETIRED', 'INVALID_RANGE', 'INVALID_QUANTITY', 'ILLEGAL_TRANSITION', 'UNKNOWN_RESERVATION', 'DUPLICATE', 'NOT_OWNER', 'AMOUNT_MISMATCH', 'OTHER'] as const;

/** Lifecycle status of a reservation. Pending and Confirmed are live (they hold capacity). */
export type ReservationStatus = 'Pending' | 'Confirmed' | 'Cancelled' | 'Expired' | 'Completed';
/** Every symbol of ReservationStatus, in schema order. */
export const ReservationStatusSymbols = ['Pending', 'Confirmed', 'Cancelled', 'Expired', 'Completed'] as const;

/** Why a resource command was refused. OTHER is the reader default for reasons added later. */
export type ResourceRejectionReason = 'UNKNOWN_RESOURCE' | 'RESOURCE_RETIRED' | 'CAPACITY_BELOW_LOAD' | 'INVALID_NAME' | 'INVALID_CAPACITY' | 'INVALID_PRICE' | 'INVALID_HOLD_TIMEOUT' | 'DUPLICATE' | 'OTHER';
/** Every symbol of ResourceRejectionReason, in schema order. */
export const ResourceRejectionReasonSymbols = ['UNKNOWN_RESOURCE', 'RESOURCE_RETIRED', 'CAPACITY_BELOW_LOAD', 'INVALID_NAME', 'INVALID_CAPACITY', 'INVALID_PRICE', 'INVALID_HOLD_TIMEOUT', 'DUPLICATE', 'OTHER'] as const;

/** Asks to cancel a Pending or Confirmed reservation. */
export interface CancelReservation {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'CancelReservation';
  /** Unique id of this command, assigned when it was accepted. (uuid) */
  readonly commandId: string;
  /** Client-supplied idempotency key (Idempotency-Key header), scoped to the principal. */
  readonly idempotencyKey: string | null;
  /** When the API accepted the command (API clock; informational, never used for decisions). (epoch ms) */
  readonly acceptedAt: number;
  /** The resource the command is about; the Kafka key. */
  readonly resourceId: string;
  /** The reservation, id assigned by the API when the reservation was requested. (uuid) */
  readonly reservationId: string;
  /** The customer on whose behalf the command is made; must own the reservation. */
  readonly customerId: string;
  /** Free-text reason given by the customer or an administrator. */
  readonly reason: string | null;
}

/** Reports the outcome of the payment for a Pending reservation. */
export interface RecordPaymentResult {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'RecordPaymentResult';
  /** Unique id of this command, assigned when it was accepted. (uuid) */
  readonly commandId: string;
  /** Client-supplied idempotency key (Idempotency-Key header), scoped to the principal. */
  readonly idempotencyKey: string | null;
  /** When the API accepted the command (API clock; informational, never used for decisions). (epoch ms) */
  readonly acceptedAt: number;
  /** The resource the command is about; the Kafka key. */
  readonly resourceId: string;
  /** The reservation, id assigned by the API when the reservation was requested. (uuid) */
  readonly reservationId: string;
  /** The customer on whose behalf the command is made; must own the reservation. */
  readonly customerId: string;
  /** Whether the gateway captured the payment. */
  readonly outcome: PaymentOutcome;
  /** Gateway reference of the payment attempt. */
  readonly paymentReference: string | null;
  /** Amount the gateway captured; when given it must equal the held price. */
  readonly amount: Money | null;
  /** Gateway failure reason when outcome is FAILED. */
  readonly failureReason: string | null;
}

/** Asks to bring a Cancelled reservation back to Pending, if still available. */
export interface ReopenReservation {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReopenReservation';
  /** Unique id of this command, assigned when it was accepted. (uuid) */
  readonly commandId: string;
  /** Client-supplied idempotency key (Idempotency-Key header), scoped to the principal. */
  readonly idempotencyKey: string | null;
  /** When the API accepted the command (API clock; informational, never used for decisions). (epoch ms) */
  readonly acceptedAt: number;
  /** The resource the command is about; the Kafka key. */
  readonly resourceId: string;
  /** The reservation, id assigned by the API when the reservation was requested. (uuid) */
  readonly reservationId: string;
  /** The customer on whose behalf the command is made; must own the reservation. */
  readonly customerId: string;
}

/** Asks to hold quantity units of a resource over [start, end) for a customer. */
export interface RequestReservation {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'RequestReservation';
  /** Unique id of this command, assigned when it was accepted. (uuid) */
  readonly commandId: string;
  /** Client-supplied idempotency key (Idempotency-Key header), scoped to the principal. */
  readonly idempotencyKey: string | null;
  /** When the API accepted the command (API clock; informational, never used for decisions). (epoch ms) */
  readonly acceptedAt: number;
  /** The resource the command is about; the Kafka key. */
  readonly resourceId: string;
  /** The reservation, id assigned by the API when the reservation was requested. (uuid) */
  readonly reservationId: string;
  /** The customer booking; customer.id is the principal for idempotency and ownership. */
  readonly customer: Customer;
  /** Start of the period, inclusive. (epoch ms) */
  readonly start: number;
  /** End of the period, exclusive. (epoch ms) */
  readonly end: number;
  /** Number of units of capacity requested, at least 1. */
  readonly quantity: number;
}

/** A Pending or Confirmed reservation was cancelled; its capacity is free. */
export interface ReservationCancelled {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReservationCancelled';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The reservation. (uuid) */
  readonly reservationId: string;
  /** Reservation version after this event: 1 when held, +1 per transition. */
  readonly reservationVersion: number;
  /** The customer owning the reservation. */
  readonly customerId: string;
  /** Status before cancelling; Confirmed means a refund is due. */
  readonly previousStatus: ReservationStatus;
  /** Free-text reason from the command. */
  readonly reason: string | null;
}

/** The period of a Confirmed reservation has ended. */
export interface ReservationCompleted {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReservationCompleted';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The reservation. (uuid) */
  readonly reservationId: string;
  /** Reservation version after this event: 1 when held, +1 per transition. */
  readonly reservationVersion: number;
  /** The customer owning the reservation. */
  readonly customerId: string;
  /** End of the period. (epoch ms) */
  readonly end: number;
}

/** Payment was received; the reservation is Confirmed. */
export interface ReservationConfirmed {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReservationConfirmed';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The reservation. (uuid) */
  readonly reservationId: string;
  /** Reservation version after this event: 1 when held, +1 per transition. */
  readonly reservationVersion: number;
  /** The customer owning the reservation. */
  readonly customerId: string;
  /** Amount paid. */
  readonly price: Money;
  /** Gateway reference of the payment. */
  readonly paymentReference: string | null;
}

/** A Pending hold was not paid in time; its capacity is free. */
export interface ReservationExpired {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReservationExpired';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The reservation. (uuid) */
  readonly reservationId: string;
  /** Reservation version after this event: 1 when held, +1 per transition. */
  readonly reservationVersion: number;
  /** The customer owning the reservation. */
  readonly customerId: string;
  /** When the hold was due to expire. (epoch ms) */
  readonly holdExpiresAt: number;
}

/** A reservation was accepted and holds capacity, Pending payment. */
export interface ReservationHeld {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReservationHeld';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The reservation. (uuid) */
  readonly reservationId: string;
  /** Reservation version after this event: 1 when held, +1 per transition. */
  readonly reservationVersion: number;
  /** The customer, for the payment and notification sinks and the read model. */
  readonly customer: Customer;
  /** Start of the period, inclusive. (epoch ms) */
  readonly start: number;
  /** End of the period, exclusive. (epoch ms) */
  readonly end: number;
  /** Units held. */
  readonly quantity: number;
  /** Unit price at the time of the hold. */
  readonly unitPrice: Money;
  /** Amount to charge: unitPrice x quantity. */
  readonly price: Money;
  /** When the hold expires unless paid: min(decidedAt + hold timeout, end). (epoch ms) */
  readonly holdExpiresAt: number;
  /** Display name of the resource at the time of the hold. */
  readonly resourceName: string;
}

/** Payment failed; the hold is released and the reservation is Cancelled (reopenable). */
export interface ReservationPaymentFailed {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReservationPaymentFailed';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The reservation. (uuid) */
  readonly reservationId: string;
  /** Reservation version after this event: 1 when held, +1 per transition. */
  readonly reservationVersion: number;
  /** The customer owning the reservation. */
  readonly customerId: string;
  /** Gateway reference of the failed attempt. */
  readonly paymentReference: string | null;
  /** Gateway failure reason. */
  readonly failureReason: string | null;
}

/** A reservation command was refused; nothing changed. */
export interface ReservationRejected {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReservationRejected';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The reservation. (uuid) */
  readonly reservationId: string;
  /** The customer named by the refused command. */
  readonly customerId: string;
  /** Record name of the refused command, e.g. RequestReservation. */
  readonly commandType: string;
  /** Machine-readable reason. */
  readonly reason: ReservationRejectionReason;
  /** Human-readable explanation. */
  readonly detail: string;
  /** Status of the reservation when the command was refused, if the customer owns it. */
  readonly currentStatus: ReservationStatus | null;
  /** For DUPLICATE: the command that was decided first. (uuid) */
  readonly duplicateOf: string | null;
}

/** A Cancelled reservation is Pending again with a new hold (re-priced at the current unit price). */
export interface ReservationReopened {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ReservationReopened';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The reservation. (uuid) */
  readonly reservationId: string;
  /** Reservation version after this event: 1 when held, +1 per transition. */
  readonly reservationVersion: number;
  /** The customer, for the payment and notification sinks. */
  readonly customer: Customer;
  /** Start of the period, inclusive. (epoch ms) */
  readonly start: number;
  /** End of the period, exclusive. (epoch ms) */
  readonly end: number;
  /** Units held. */
  readonly quantity: number;
  /** Unit price at the time of the hold. */
  readonly unitPrice: Money;
  /** Amount to charge: unitPrice x quantity. */
  readonly price: Money;
  /** When the hold expires unless paid: min(decidedAt + hold timeout, end). (epoch ms) */
  readonly holdExpiresAt: number;
  /** Display name of the resource at the time of the hold. */
  readonly resourceName: string;
}

/** A resource command was refused; nothing changed. */
export interface ResourceChangeRejected {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ResourceChangeRejected';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The principal that issued the command. */
  readonly actorId: string;
  /** Record name of the refused command, e.g. UpsertResource. */
  readonly commandType: string;
  /** Machine-readable reason. */
  readonly reason: ResourceRejectionReason;
  /** Human-readable explanation. */
  readonly detail: string;
  /** For DUPLICATE: the command that was decided first. (uuid) */
  readonly duplicateOf: string | null;
}

/** A resource no longer takes new reservations; live ones are honoured. */
export interface ResourceRetired {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ResourceRetired';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The principal that issued the command. */
  readonly actorId: string;
  /** Resource version after this event: 1 when created, +1 per change. */
  readonly resourceVersion: number;
  /** Free-text reason. */
  readonly reason: string | null;
  /** Live (Pending or Confirmed) reservations still to be honoured. */
  readonly liveReservations: number;
}

/** A resource was created or its settings changed. */
export interface ResourceUpserted {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'ResourceUpserted';
  /** Unique id of this event; sinks deduplicate by it. (uuid) */
  readonly eventId: string;
  /** The command (or internal timer) that caused this event. (uuid) */
  readonly causationCommandId: string;
  /** Idempotency key of the causing command, if it had one. */
  readonly idempotencyKey: string | null;
  /** When the decider decided (processor clock). (epoch ms) */
  readonly decidedAt: number;
  /** The resource; the Kafka key. */
  readonly resourceId: string;
  /** The principal that issued the command. */
  readonly actorId: string;
  /** Resource version after this event: 1 when created, +1 per change. */
  readonly resourceVersion: number;
  /** True when this event created the resource. */
  readonly created: boolean;
  /** Display name. */
  readonly name: string;
  /** Longer description. */
  readonly description: string | null;
  /** Units that may be reserved at any instant. */
  readonly capacity: number;
  /** Price of one unit for one reservation. */
  readonly unitPrice: Money;
  /** Hold timeout in ms as configured; null means the system default. */
  readonly holdTimeoutMs: number | null;
}

/** Stops selling a resource; live reservations are still honoured. */
export interface RetireResource {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'RetireResource';
  /** Unique id of this command, assigned when it was accepted. (uuid) */
  readonly commandId: string;
  /** Client-supplied idempotency key (Idempotency-Key header), scoped to the principal. */
  readonly idempotencyKey: string | null;
  /** When the API accepted the command (API clock; informational, never used for decisions). (epoch ms) */
  readonly acceptedAt: number;
  /** The resource the command is about; the Kafka key. */
  readonly resourceId: string;
  /** The administrator or system principal that issued the command. */
  readonly actorId: string;
  /** Free-text reason. */
  readonly reason: string | null;
}

/** Creates a resource or changes its settings. */
export interface UpsertResource {
  /** Record name: the discriminant, not a field on the wire. */
  readonly type: 'UpsertResource';
  /** Unique id of this command, assigned when it was accepted. (uuid) */
  readonly commandId: string;
  /** Client-supplied idempotency key (Idempotency-Key header), scoped to the principal. */
  readonly idempotencyKey: string | null;
  /** When the API accepted the command (API clock; informational, never used for decisions). (epoch ms) */
  readonly acceptedAt: number;
  /** The resource the command is about; the Kafka key. */
  readonly resourceId: string;
  /** The administrator or system principal that issued the command. */
  readonly actorId: string;
  /** Display name, not empty. */
  readonly name: string;
  /** Longer description. */
  readonly description: string | null;
  /** Units that may be reserved at any instant, at least 0. */
  readonly capacity: number;
  /** Price of one unit for one reservation (the held price is unitPrice x quantity). */
  readonly unitPrice: Money;
  /** How long a Pending hold waits for payment, in ms; null means the system default. */
  readonly holdTimeoutMs: number | null;
}

/** Every command record (namespace slotstream.commands, topic reservations.commands). */
export type Command =
  | CancelReservation
  | RecordPaymentResult
  | ReopenReservation
  | RequestReservation
  | RetireResource
  | UpsertResource;
/** Discriminant of a Command. */
export type CommandType = Command['type'];
/** Every command record name, sorted. */
export const commandTypes = ['CancelReservation', 'RecordPaymentResult', 'ReopenReservation', 'RequestReservation', 'RetireResource', 'UpsertResource'] as const;

/** Every event record (namespace slotstream.events, topic reservations.events). */
export type Event =
  | ReservationCancelled
  | ReservationCompleted
  | ReservationConfirmed
  | ReservationExpired
  | ReservationHeld
  | ReservationPaymentFailed
  | ReservationRejected
  | ReservationReopened
  | ResourceChangeRejected
  | ResourceRetired
  | ResourceUpserted;
/** Discriminant of an Event. */
export type EventType = Event['type'];
/** Every event record name, sorted. */
export const eventTypes = ['ReservationCancelled', 'ReservationCompleted', 'ReservationConfirmed', 'ReservationExpired', 'ReservationHeld', 'ReservationPaymentFailed', 'ReservationRejected', 'ReservationReopened', 'ResourceChangeRejected', 'ResourceRetired', 'ResourceUpserted'] as const;

/** Fully qualified Avro name of each top-level record. */
export const avroFullNames = {
  CancelReservation: 'slotstream.commands.CancelReservation',
  RecordPaymentResult: 'slotstream.commands.RecordPaymentResult',
  ReopenReservation: 'slotstream.commands.ReopenReservation',
  RequestReservation: 'slotstream.commands.RequestReservation',
  ReservationCancelled: 'slotstream.events.ReservationCancelled',
  ReservationCompleted: 'slotstream.events.ReservationCompleted',
  ReservationConfirmed: 'slotstream.events.ReservationConfirmed',
  ReservationExpired: 'slotstream.events.ReservationExpired',
  ReservationHeld: 'slotstream.events.ReservationHeld',
  ReservationPaymentFailed: 'slotstream.events.ReservationPaymentFailed',
  ReservationRejected: 'slotstream.events.ReservationRejected',
  ReservationReopened: 'slotstream.events.ReservationReopened',
  ResourceChangeRejected: 'slotstream.events.ResourceChangeRejected',
  ResourceRetired: 'slotstream.events.ResourceRetired',
  ResourceUpserted: 'slotstream.events.ResourceUpserted',
  RetireResource: 'slotstream.commands.RetireResource',
  UpsertResource: 'slotstream.commands.UpsertResource',
} as const;
