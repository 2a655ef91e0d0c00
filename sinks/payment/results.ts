/**
 * Where the payment sink sends its RecordPaymentResult commands: `reservations.commands`, keyed by the
 * resource id, through the project's CommandProducer (idempotent, acks=all), so the decider decides the
 * payment serially with everything else for that resource.
 */
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { CommandProducer } from '../../producers/index.ts';
import type { Provenance } from '../../schemas/codec.ts';
import type { RecordPaymentResult } from '../../schemas/generated/types.ts';

/** The port: resolves once the command is durable on the commands topic. */
export interface ResultPublisher {
  start(): Promise<void>;
  publish(command: RecordPaymentResult, provenance: Provenance): Promise<void>;
  close(): Promise<void>;
}

/** CloudEvents source of the payment sink's commands. */
export const PAYMENT_SOURCE = '/slotstream/payment';

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
