/** In-memory dependencies for driving the API with app.inject(). */

import type pg from 'pg';
import { pino } from 'pino';
import type { AppDeps, CommandSender } from '../../../api/app.ts';
import { type ApiConfig, loadApiConfig } from '../../../api/config.ts';
import { hashSecret, type KeyVerifier, type Principal } from '../../../api/services/api-keys.ts';
import { MemoryIdempotencyStore } from '../../../api/services/idempotency-store.ts';
import {
  type DecisionView,
  freeIntervals,
  type ReadModel,
  type ReservationView,
  type ResourceView,
} from '../../../api/services/read-model.ts';
import type { Command } from '../../../schemas/generated/types.ts';

export const SECRETS = {
  customer: `slot_${'c'.repeat(43)}`,
  otherCustomer: `slot_${'d'.repeat(43)}`,
  producer: `slot_${'p'.repeat(43)}`,
  admin: `slot_${'a'.repeat(43)}`,
} as const;

export const PRINCIPALS: Record<string, Principal> = {
  [SECRETS.customer]: { keyId: 'k-customer', role: 'customer', customerId: 'cust-1', name: 'customer' },
  [SECRETS.otherCustomer]: { keyId: 'k-other', role: 'customer', customerId: 'cust-2', name: 'other' },
  [SECRETS.producer]: { keyId: 'k-producer', role: 'producer', customerId: null, name: 'producer' },
  [SECRETS.admin]: { keyId: 'k-admin', role: 'admin', customerId: null, name: 'admin' },
};

export const auth = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** Knows the PRINCIPALS' secrets; counts its lookups. */
export class FakeKeys implements KeyVerifier {
  lookups = 0;
  async verify(secret: string) {
    this.lookups += 1;
    return PRINCIPALS[secret];
  }
}

/**
 * The api_keys table as ApiKeyStore queries it, knowing the PRINCIPALS' digests; counts its queries.
 * Pass it as `new ApiKeyStore(fakeKeyPool.asPool(), …)`.
 */
export class FakeKeyPool {
  queries = 0;
  private readonly rows = new Map(
    Object.entries(PRINCIPALS).map(([secret, p]) => [
      hashSecret(secret).toString('hex'),
      {
        id: p.keyId,
        role: p.role,
        customer_id: p.customerId,
        name: p.name,
        prefix: secret.slice(0, 12),
        created_at: new Date(0),
        revoked_at: null,
      },
    ]),
  );
  async query(_sql: string, params: unknown[]) {
    this.queries += 1;
    const row = this.rows.get((params[0] as Buffer).toString('hex'));
    return { rows: row ? [row] : [], rowCount: row ? 1 : 0 };
  }
  asPool(): pg.Pool {
    return this as unknown as pg.Pool;
  }
}

export class FakeSender implements CommandSender {
  readonly sent: Command[] = [];
  failWith: Error | undefined;
  delayMs = 0;
  async send(command: Command) {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    this.sent.push(command);
  }
}

export class FakeReadModel implements ReadModel {
  readonly reservationRows = new Map<string, ReservationView>();
  readonly decisionRows: DecisionView[] = [];
  readonly resourceRows = new Map<string, ResourceView>();
  failWith: Error | undefined;

  private check() {
    if (this.failWith) throw this.failWith;
  }
  async reservation(id: string) {
    this.check();
    return this.reservationRows.get(id);
  }
  async reservations(filter: { customerId?: string; limit: number }) {
    this.check();
    const items = [...this.reservationRows.values()].filter(
      (r) => filter.customerId === undefined || r.customerId === filter.customerId,
    );
    return { items: items.slice(0, filter.limit), next: null };
  }
  async decisionsByCommand(ids: readonly string[]) {
    this.check();
    return new Map(this.decisionRows.filter((d) => ids.includes(d.commandId)).map((d) => [d.commandId, d]));
  }
  async latestDecisionsByReservation(ids: readonly string[]) {
    this.check();
    return new Map(
      this.decisionRows
        .filter((d) => d.reservationId !== null && ids.includes(d.reservationId))
        .map((d) => [d.reservationId as string, d]),
    );
  }
  async resource(id: string) {
    return this.resourceRows.get(id);
  }
  async resources() {
    return { items: [...this.resourceRows.values()], next: null };
  }
  async availability(resourceId: string, from: number, to: number) {
    const resource = this.resourceRows.get(resourceId);
    if (!resource) return undefined;
    const live = [...this.reservationRows.values()]
      .filter((r) => r.resourceId === resourceId && (r.status === 'Pending' || r.status === 'Confirmed'))
      .map((r) => ({
        start: Date.parse(r.start ?? ''),
        end: Date.parse(r.end ?? ''),
        quantity: r.quantity ?? 0,
      }));
    const intervals = freeIntervals(resource.capacity ?? 0, from, to, live).map((i) => ({
      ...i,
      start: new Date(i.start).toISOString(),
      end: new Date(i.end).toISOString(),
    }));
    return { resource, intervals };
  }
  async customer() {
    return undefined;
  }
  async customers() {
    return { items: [], next: null };
  }
  async ping() {}

  /** What the postgres sink would write when the decider holds a request. */
  hold(command: Extract<Command, { type: 'RequestReservation' }>) {
    this.reservationRows.set(command.reservationId, {
      id: command.reservationId,
      resourceId: command.resourceId,
      resourceName: 'Room',
      customerId: command.customer.id,
      status: 'Pending',
      version: 1,
      start: new Date(command.start).toISOString(),
      end: new Date(command.end).toISOString(),
      quantity: command.quantity,
      unitPrice: { amountMinor: 1000, currency: 'EUR' },
      price: { amountMinor: 1000 * command.quantity, currency: 'EUR' },
      holdExpiresAt: null,
      paymentReference: null,
      confirmedAt: null,
      cancelledAt: null,
      cancelReason: null,
      paymentFailureReason: null,
      expiredAt: null,
      completedAt: null,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    this.decide(command, false);
  }

  decide(command: Command, rejected: boolean, reason: string | null = null) {
    this.decisionRows.push({
      commandId: command.commandId,
      eventType: rejected ? 'ReservationRejected' : 'ReservationHeld',
      resourceId: command.resourceId,
      reservationId: 'reservationId' in command ? command.reservationId : null,
      customerId: command.type === 'RequestReservation' ? command.customer.id : null,
      rejected,
      reason,
      detail: rejected ? `refused: ${reason}` : null,
      version: rejected ? null : 1,
      decidedAt: new Date().toISOString(),
    });
  }
}

export function fakeDeps(overrides: Partial<AppDeps> & { env?: Record<string, string> } = {}) {
  const { env, ...rest } = overrides;
  const config: ApiConfig = loadApiConfig({ API_WAIT_POLL_INTERVAL_MS: '10', ...env });
  const commands = new FakeSender();
  const readModel = new FakeReadModel();
  const idempotency = new MemoryIdempotencyStore();
  const deps: AppDeps = {
    config,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    commands,
    keys: new FakeKeys(),
    idempotency,
    readModel,
    readiness: { postgres: async () => {} },
    ...rest,
  };
  return { deps, commands, readModel, idempotency };
}

export const reservationBody = (overrides: Record<string, unknown> = {}) => ({
  resourceId: 'room-1',
  start: '2026-12-01T10:00:00Z',
  end: '2026-12-01T12:00:00Z',
  quantity: 1,
  customer: { fullName: 'Ada Lovelace', email: 'ada@example.com' },
  ...overrides,
});
