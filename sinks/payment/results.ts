/**
 * Where the payment sink sends its RecordPaymentResult commands: `reservations.commands`, keyed by the
 * resource id, through the project's CommandProducer (idempotent, acks=all), so the decider decides the
 * payment serially with everything else for that resource.
 */
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { type CommandBuilder, CommandProducer } from '../../producers/index.ts';
import type { Provenance } from '../../schemas/codec.ts';
import type { RecordPaymentResult } from '../../schemas/generated/types.ts';
import { resultCommandId } from './keys.ts';
import { type Operation, storableText } from './ledger.ts';

/** The port: resolves once the command is durable on the commands topic. */
export interface ResultPublisher {
  start(): Promise<void>;
  publish(command: RecordPaymentResult, provenance: Provenance): Promise<void>;
  close(): Promise<void>;
}

/** CloudEvents source of the payment sink's commands. */
export const PAYMENT_SOURCE = '/slotstream/payment';

/**
 * The RecordPaymentResult of a settled charge and its provenance, from the ledger row alone: the sink sends
 * it after the charge, the reconciler sends the very same command (same command id) again when it was
 * never decided. `acceptedAt` is the builder's clock at the time of sending.
 */
export function paymentResult(
  commands: CommandBuilder,
  op: Operation,
): { command: RecordPaymentResult; provenance: Provenance } {
  const succeeded = op.status === 'succeeded';
  const reason = op.failureCode ? `${op.failureCode}: ${op.failureReason ?? ''}` : op.failureReason;
  const command = commands.recordPaymentResult({
    commandId: op.resultCommandId ?? resultCommandId(op.key),
    idempotencyKey: op.key,
    resourceId: op.resourceId,
    reservationId: op.reservationId,
    customerId: op.customerId,
    outcome: succeeded ? 'SUCCEEDED' : 'FAILED',
    paymentReference: op.gatewayReference,
    amount: succeeded ? op.settled : null,
    failureReason: succeeded ? null : storableText(reason ?? 'payment failed').slice(0, 1000),
  });
  // The hold event set the charge off: its id is the cause, its correlation id is carried on.
  const provenance = {
    source: PAYMENT_SOURCE,
    correlationId: op.correlationId ?? op.causeEventId,
    causationId: op.causeEventId,
  };
  return { command, provenance };
}

/** Publishes through a CommandProducer. */
export class KafkaResultPublisher implements ResultPublisher {
  private readonly producer: CommandProducer;

  constructor(
    config: Pick<Config, 'kafka' | 'registry'>,
    logger: Logger,
    options: { autoRegister?: boolean } = {},
  ) {
    this.producer = CommandProducer.fromConfig(config, logger, {
      source: PAYMENT_SOURCE,
      autoRegister: options.autoRegister ?? false,
      // One result per gateway call: there is nothing to wait for.
      lingerMs: 0,
    });
  }

  async start(): Promise<void> {
    await this.producer.connect();
  }

  async publish(command: RecordPaymentResult, provenance: Provenance): Promise<void> {
    await this.producer.send(command, provenance);
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
