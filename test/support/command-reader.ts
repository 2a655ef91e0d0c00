/** Reads a test's commands topic as the decider would (read_committed, decoded), to see what a sink sent. */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Config } from '../../common/config.ts';
import { topicNames } from '../../common/topics.ts';
import { MessageCodec } from '../../schemas/codec.ts';
import type { Command } from '../../schemas/generated/types.ts';
import { eventually } from '../helpers.ts';

export interface SeenCommand {
  readonly command: Command;
  readonly key: string;
  readonly partition: number;
  readonly headers: Record<string, string>;
}

export class CommandReader {
  readonly seen: SeenCommand[] = [];
  private consumer: Consumer | undefined;
  private readonly codec: MessageCodec;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: Config,
  ) {
    this.codec = MessageCodec.fromConfig(config);
  }

  async start(): Promise<this> {
    this.consumer = this.kafka.consumer({
      groupId: `${this.config.kafka.topicPrefix}command-reader-${randomUUID()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 50,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({
      topic: topicNames(this.config.kafka.topicPrefix).commands,
      fromBeginning: true,
    });
    await this.consumer.run({
      eachMessage: async ({ partition, message }) => {
        const { message: command } = await this.codec.decodeCommand(message.value, message.headers);
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)]),
        );
        this.seen.push({ command, key: message.key?.toString() ?? '', partition, headers });
      },
    });
    return this;
  }

  /** Payment results about a reservation, in the order they were read. */
  paymentResults(reservationId: string): SeenCommand[] {
    return this.seen.filter(
      (s) => s.command.type === 'RecordPaymentResult' && s.command.reservationId === reservationId,
    );
  }

  /** Waits for the first payment result about a reservation. */
  async paymentResult(reservationId: string, timeoutMs = 30_000): Promise<SeenCommand> {
    return eventually(async () => this.paymentResults(reservationId)[0], {
      timeoutMs,
      what: `a RecordPaymentResult for ${reservationId}`,
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
