/**
 * Streams of events as the decider would write them, for sink tests and the benchmark: resources, then
 * reservations that walk legal lifecycles (versions +1 per transition), rejections in between; per resource
 * in order, as on the events topic. The generator also returns what a correct read model and report
 * must show, computed here independently of the sinks.
 */
import { randomUUID } from 'node:crypto';
import type {
  Customer,
  Event,
  ReservationHeld,
  ReservationRejectionReason,
  ReservationStatus,
  ResourceUpserted,
} from '../../schemas/generated/types.ts';

/** A small deterministic PRNG (mulberry32), so a failing stream can be regenerated from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ExpectedReservation {
  readonly id: string;
  readonly resourceId: string;
  readonly customerId: string;
  readonly status: ReservationStatus;
  readonly version: number;
  readonly start: number;
  readonly end: number;
  readonly quantity: number;
  readonly priceMinor: number;
  readonly currency: string;
  /** Events that made it, in order. */
  readonly path: readonly Event['type'][];
}

export interface GeneratedStream {
  readonly events: Event[];
  readonly resources: ResourceUpserted[];
  readonly reservations: Map<string, ExpectedReservation>;
  readonly rejections: Map<ReservationRejectionReason, number>;
}

export interface StreamOptions {
  readonly resources?: number;
  readonly reservations?: number;
  readonly customers?: number;
  readonly seed?: number;
  /** The first decision's time; the stream advances about a minute per reservation. */
  readonly startMs?: number;
  readonly currencies?: readonly string[];
  /** Share of reservations refused with a rejection instead of held. @default 0.1 */
  readonly rejectionRate?: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Lifecycles a reservation may walk after its hold, as the decider allows them. */
const PATHS: readonly (readonly Event['type'][])[] = [
  ['ReservationConfirmed'],
  ['ReservationConfirmed', 'ReservationCompleted'],
  ['ReservationCancelled'],
  ['ReservationExpired'],
  ['ReservationConfirmed', 'ReservationCancelled'],
  ['ReservationPaymentFailed', 'ReservationReopened', 'ReservationConfirmed'],
  ['ReservationCancelled', 'ReservationReopened'],
  [],
];

const REJECTIONS: readonly ReservationRejectionReason[] = [
  'UNAVAILABLE',
  'INVALID_RANGE',
  'UNKNOWN_RESOURCE',
];

export function generateStream(options: StreamOptions = {}): GeneratedStream {
  const random = prng(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const currencies = options.currencies ?? ['EUR', 'USD'];
  const startMs = options.startMs ?? Date.UTC(2026, 10, 2, 8, 0, 0);
  let clock = startMs;
  const tick = () => {
    clock += 1 + Math.floor(random() * 60_000);
    return clock;
  };
  const events: Event[] = [];
  const resources: ResourceUpserted[] = [];
  for (let i = 0; i < (options.resources ?? 5); i++) {
    const resource: ResourceUpserted = {
      type: 'ResourceUpserted',
      eventId: randomUUID(),
      causationCommandId: randomUUID(),
      idempotencyKey: null,
      decidedAt: tick(),
      resourceId: `res-${i}-${randomUUID().slice(0, 8)}`,
      actorId: 'admin-1',
      resourceVersion: 1,
      created: true,
      name: `Room ${i}`,
      description: i % 2 === 0 ? `A room with ${i} windows` : null,
      capacity: 1_000_000,
      unitPrice: { amountMinor: 1000 + i * 250, currency: currencies[i % currencies.length] as string },
      holdTimeoutMs: 600_000,
    };
    resources.push(resource);
    events.push(resource);
  }
  const customers: Customer[] = Array.from({ length: options.customers ?? 20 }, (_, i) => ({
    id: `cust-${i}`,
    fullName: `Customer ${i}`,
    email: `customer${i}@example.com`,
    phone: i % 3 === 0 ? null : `+4930${String(i).padStart(6, '0')}`,
  }));
  const reservations = new Map<string, ExpectedReservation>();
  const rejections = new Map<ReservationRejectionReason, number>();
  for (let i = 0; i < (options.reservations ?? 100); i++) {
    const resource = pick(resources);
    const customer = pick(customers);
    const reservationId = randomUUID();
    const common = {
      causationCommandId: randomUUID(),
      idempotencyKey: random() < 0.5 ? `idem-${i}` : null,
      resourceId: resource.resourceId,
      reservationId,
    };
    if (random() < (options.rejectionRate ?? 0.1)) {
      const reason = pick(REJECTIONS);
      rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
      events.push({
        type: 'ReservationRejected',
        eventId: randomUUID(),
        decidedAt: tick(),
        ...common,
        customerId: customer.id,
        commandType: 'RequestReservation',
        reason,
        detail: `refused: ${reason}`,
        currentStatus: null,
        duplicateOf: null,
      });
      continue;
    }
    // Periods start on whole hours within two weeks of the stream's start, 1 to 5 hours long; some cross midnight.
    const start =
      Math.floor((startMs + Math.floor(random() * 14) * DAY_MS) / HOUR_MS) * HOUR_MS +
      Math.floor(random() * 24) * HOUR_MS;
    const end = start + (1 + Math.floor(random() * 5)) * HOUR_MS;
    const quantity = 1 + Math.floor(random() * 3);
    const unitPrice = resource.unitPrice;
    const price = { amountMinor: unitPrice.amountMinor * quantity, currency: unitPrice.currency };
    let version = 1;
    const heldAt = tick();
    const held: ReservationHeld = {
      type: 'ReservationHeld',
      eventId: randomUUID(),
      decidedAt: heldAt,
      ...common,
      reservationVersion: version,
      customer,
      start,
      end,
      quantity,
      unitPrice,
      price,
      holdExpiresAt: Math.min(heldAt + 600_000, end),
      resourceName: resource.name,
    };
    events.push(held);
    let status: ReservationStatus = 'Pending';
    const path = pick(PATHS);
    for (const type of path) {
      version += 1;
      const base = {
        eventId: randomUUID(),
        causationCommandId: randomUUID(),
        idempotencyKey: null,
        decidedAt: tick(),
        resourceId: resource.resourceId,
        reservationId,
        reservationVersion: version,
        customerId: customer.id,
      };
      switch (type) {
        case 'ReservationConfirmed':
          events.push({ type, ...base, price, paymentReference: `pi_${i}_${version}` });
          status = 'Confirmed';
          break;
        case 'ReservationCompleted':
          events.push({ type, ...base, end });
          status = 'Completed';
          break;
        case 'ReservationCancelled':
          events.push({ type, ...base, previousStatus: status, reason: 'changed plans' });
          status = 'Cancelled';
          break;
        case 'ReservationExpired':
          events.push({ type, ...base, holdExpiresAt: held.holdExpiresAt });
          status = 'Expired';
          break;
        case 'ReservationPaymentFailed':
          events.push({ type, ...base, paymentReference: null, failureReason: 'card_declined' });
          status = 'Cancelled';
          break;
        case 'ReservationReopened': {
          const { customerId: _customerId, ...rest } = base;
          events.push({
            type,
            ...rest,
            customer,
            start,
            end,
            quantity,
            unitPrice,
            price,
            holdExpiresAt: Math.min(base.decidedAt + 600_000, end),
            resourceName: resource.name,
          });
          status = 'Pending';
          break;
        }
        default:
          throw new Error(`unexpected path step ${type}`);
      }
    }
    reservations.set(reservationId, {
      id: reservationId,
      resourceId: resource.resourceId,
      customerId: customer.id,
      status,
      version,
      start,
      end,
      quantity,
      priceMinor: price.amountMinor,
      currency: price.currency,
      path: ['ReservationHeld', ...path],
    });
  }
  // Per resource in decision order (as the decider writes them); resources interleave.
  return { events, resources, reservations, rejections };
}

/** The events in a random order (a Fisher–Yates shuffle from `seed`). */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const random = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
