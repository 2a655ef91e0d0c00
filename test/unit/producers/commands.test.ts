import { describe, expect, it } from 'vitest';
import { CommandBuilder, TEXT_RULES, textProblem } from '../../../producers/commands.ts';
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

describe('CommandBuilder: control characters (regression: a NUL in customer.fullName reached the read model)', () => {
  const LINE = 'must not contain control characters (U+0000–U+001F, U+007F–U+009F)';
  const PROSE = 'must not contain control characters other than tab, line feed and carriage return';
  const problemsOf = (attempt: () => unknown) => {
    try {
      attempt();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidCommandError);
      return (error as InvalidCommandError).problems;
    }
    throw new Error('expected an InvalidCommandError');
  };

  it('refuses NUL, the other C0 controls, DEL and C1 in every text of a RequestReservation, each by path', () => {
    for (const bad of ['\u0000', '\u0001', '\t', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u009f']) {
      const problems = problemsOf(() =>
        builder.requestReservation({
          resourceId: `room${bad}1`,
          idempotencyKey: `key${bad}`,
          customer: {
            id: `cust${bad}1`,
            fullName: `Ada${bad}Lovelace`,
            email: `ada${bad}@example.com`,
            phone: `+33${bad}612345678`,
          },
          start: 1,
          end: 2,
          quantity: 1,
        }),
      );
      expect(problems, JSON.stringify(bad)).toEqual([
        { path: 'resourceId', message: LINE },
        { path: 'idempotencyKey', message: LINE },
        { path: 'customer.id', message: LINE },
        { path: 'customer.fullName', message: LINE },
        { path: 'customer.email', message: LINE },
        { path: 'customer.phone', message: LINE },
      ]);
    }
  });

  it('names the field in the error message, so a partner sees what to fix', () => {
    expect(() =>
      builder.requestReservation({
        resourceId: 'room-1',
        customer: { ...customer, fullName: 'Ada\u0000Lovelace' },
        start: 1,
        end: 2,
        quantity: 1,
      }),
    ).toThrow(`invalid RequestReservation: customer.fullName ${LINE}`);
  });

  it('refuses them in the texts and ids of the other commands', () => {
    const reservationId = '7b0c8a4e-3f7e-4d1a-9a8b-1c2d3e4f5a6b';
    expect(
      problemsOf(() =>
        builder.cancelReservation({ resourceId: 'r', reservationId, customerId: 'c\u0000', reason: 'a\nb' }),
      ),
    ).toEqual([
      { path: 'customerId', message: LINE },
      { path: 'reason', message: LINE },
    ]);
    expect(
      problemsOf(() => builder.reopenReservation({ resourceId: 'r\u007f', reservationId, customerId: 'c' })),
    ).toEqual([{ path: 'resourceId', message: LINE }]);
    expect(
      problemsOf(() =>
        builder.recordPaymentResult({
          resourceId: 'r',
          reservationId,
          customerId: 'c',
          outcome: 'FAILED',
          paymentReference: 'pi_\u0000',
          failureReason: 'declined\u0000',
        }),
      ),
    ).toEqual([
      { path: 'paymentReference', message: LINE },
      { path: 'failureReason', message: PROSE },
    ]);
    expect(
      problemsOf(() =>
        builder.upsertResource({
          resourceId: 'r',
          actorId: 'admin\u0000',
          name: 'Room\t1',
          description: 'Sea view\u0000',
          capacity: 1,
          unitPrice: { amountMinor: 1, currency: 'EUR' },
        }),
      ),
    ).toEqual([
      { path: 'actorId', message: LINE },
      { path: 'name', message: LINE },
      { path: 'description', message: PROSE },
    ]);
    expect(
      problemsOf(() => builder.retireResource({ resourceId: 'r', actorId: 'admin', reason: 'closed\r' })),
    ).toEqual([{ path: 'reason', message: LINE }]);
  });

  it('lets prose (a description, a gateway message) break lines and indent, and takes any other Unicode', () => {
    const resource = builder.upsertResource({
      resourceId: 'r',
      actorId: 'admin',
      name: 'Zimmer Ærø ✓ 部屋 😀',
      description: 'Sea view.\r\n\t- two beds\n\t- balcony',
      capacity: 1,
      unitPrice: { amountMinor: 1, currency: 'EUR' },
    });
    expect(resource.description).toBe('Sea view.\r\n\t- two beds\n\t- balcony');
    const failed = builder.recordPaymentResult({
      resourceId: 'r',
      reservationId: '7b0c8a4e-3f7e-4d1a-9a8b-1c2d3e4f5a6b',
      customerId: 'c',
      outcome: 'FAILED',
      failureReason: 'card_declined:\nYour card was declined.',
    });
    expect(failed.failureReason).toBe('card_declined:\nYour card was declined.');
    const request = builder.requestReservation({
      resourceId: 'room-1',
      customer: { id: 'cust-1', fullName: 'Zoë O’Brien-Łukasiewicz\u00a0Jr.', email: 'zoe@example.com' },
      start: 1,
      end: 2,
      quantity: 1,
    });
    expect(request.customer.fullName).toBe('Zoë O’Brien-Łukasiewicz\u00a0Jr.');
  });

  it('keeps the rule in one place: textProblem and the JSON Schema patterns agree on every code point below U+00A0', () => {
    for (let code = 0; code < 0xa0; code++) {
      const char = String.fromCharCode(code);
      const control = code < 0x20 || (code >= 0x7f && code < 0xa0);
      const proseAllowed = char === '\t' || char === '\n' || char === '\r';
      expect(textProblem(`a${char}b`), `U+${code.toString(16)}`).toBe(control ? LINE : undefined);
      expect(textProblem(`a${char}b`, 'prose')).toBe(control && !proseAllowed ? PROSE : undefined);
      expect(new RegExp(TEXT_RULES.line.pattern, 'u').test(char)).toBe(!control);
      expect(new RegExp(TEXT_RULES.prose.pattern, 'u').test(char)).toBe(!control || proseAllowed);
    }
  });
});
