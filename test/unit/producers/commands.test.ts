import { describe, expect, it } from 'vitest';
import { CommandBuilder } from '../../../producers/commands.ts';
import { InvalidCommandError } from '../../../producers/errors.ts';

let n = 0;
const builder = new CommandBuilder({
  clock: () => 1_790_000_000_000,
  newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
});
const customer = { id: 'cust-1', fullName: 'Ada Lovelace', email: 'ada@example.com' };

describe('CommandBuilder', () => {
  it('builds a RequestReservation with generated ids and the clock time', () => {
    const command = builder.requestReservation({
      resourceId: 'room-1',
      customer,
      start: 1_000,
      end: 2_000,
      quantity: 2,
      idempotencyKey: 'k1',
    });
    expect(command).toEqual({
      type: 'RequestReservation',
      commandId: expect.stringMatching(/^00000000-0000-4000-8000-/),
      reservationId: expect.stringMatching(/^00000000-0000-4000-8000-/),
      idempotencyKey: 'k1',
      acceptedAt: 1_790_000_000_000,
      resourceId: 'room-1',
      customer: { ...customer, phone: null },
      start: 1_000,
      end: 2_000,
      quantity: 2,
    });
    expect(command.commandId).not.toBe(command.reservationId);
  });

  it('keeps ids the caller supplies, so a retry re-sends the very same command', () => {
    const reservationId = '7b0c8a4e-3f7e-4d1a-9a8b-1c2d3e4f5a6b';
    const commandId = 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b';
    const command = builder.requestReservation({
      resourceId: 'room-1',
      reservationId,
      commandId,
      customer,
      start: 1,
      end: 2,
      quantity: 1,
    });
    expect(command.reservationId).toBe(reservationId);
    expect(command.commandId).toBe(commandId);
  });

  it('reports every problem of the input at once', () => {
    const attempt = () =>
      builder.requestReservation({
        resourceId: '',
        customer: { id: 'c', fullName: '', email: 'x@y' },
        start: 2_000,
        end: 1_000,
        quantity: 0,
      });
    expect(attempt).toThrow(InvalidCommandError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as InvalidCommandError).problems.map((p) => p.path);
      expect(problems).toEqual(['resourceId', 'customer.fullName', 'quantity', 'end']);
      expect((error as InvalidCommandError).code).toBe('INVALID_COMMAND');
      expect((error as InvalidCommandError).retryable).toBe(false);
    }
  });

  it('checks money and reservation ids on the other commands', () => {
    expect(() =>
      builder.upsertResource({
        resourceId: 'r',
        actorId: 'admin',
        name: 'Room',
        capacity: -1,
        unitPrice: { amountMinor: 1.5, currency: 'eur' },
      }),
    ).toThrow(/capacity.*unitPrice.amountMinor.*unitPrice.currency/);
    expect(() =>
      builder.cancelReservation({ resourceId: 'r', reservationId: 'not-a-uuid', customerId: 'c' }),
    ).toThrow(/reservationId must be a UUID/);
    const retire = builder.retireResource({ resourceId: 'r', actorId: 'admin' });
    expect(retire).toMatchObject({ type: 'RetireResource', reason: null, idempotencyKey: null });
    const paid = builder.recordPaymentResult({
      resourceId: 'r',
      reservationId: '7b0c8a4e-3f7e-4d1a-9a8b-1c2d3e4f5a6b',
      customerId: 'c',
      outcome: 'SUCCEEDED',
      amount: { amountMinor: 2500, currency: 'EUR' },
    });
    expect(paid).toMatchObject({ outcome: 'SUCCEEDED', paymentReference: null, failureReason: null });
  });
});
