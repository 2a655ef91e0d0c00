/** Options of the command producer, with their defaults beside them. */

/** Compression codecs kafkajs carries without extra packages. */
export const COMPRESSIONS = ['none', 'gzip'] as const;
export type CompressionName = (typeof COMPRESSIONS)[number];

export interface CommandProducerOptions {
  /** CloudEvents `ce_source` of the commands this producer writes. @default '/slotstream/producer' */
  readonly source: string;
  /**
   * How long a command waits for others to share its produce request, in ms. Only the first command of a
   * batch waits: while a batch is at the broker the next one fills up and leaves as soon as it is back.
   * 0 sends on the next turn of the event loop. @default 1
   */
  readonly lingerMs: number;
  /** Most commands in one produce request. @default 1_000 */
  readonly maxBatchMessages: number;
  /**
   * Most commands waiting for the broker (queued and in flight). Past it, `send` fails fast with the
   * retryable ProducerOverloadedError instead of growing memory without bound. @default 50_000
   */
  readonly maxBufferedMessages: number;
  /** Compression of produce requests. On loopback the CPU is scarcer than bandwidth. @default 'none' */
  readonly compression: CompressionName;
  /** How long the broker may take to acknowledge a produce request (acks=all), in ms. @default 30_000 */
  readonly ackTimeoutMs: number;
  /**
   * Idempotent producers side by side, each with one request in flight; a resource's commands always take
   * the same one, so their order is kept. More lanes hide the broker's acknowledgement time when the broker
   * has CPU to spare; on a busy single broker they only make batches smaller. @default 1
   */
  readonly lanes: number;
  /**
   * How long a command may take from `send` to its acknowledgement, in ms, failed requests sent again
   * included. Past it a command that never left is refused (ProducerUnavailableError) and one that was
   * handed to Kafka is reported DeliveryUnknownError. One request can outlast it by up to kafkajs's
   * request timeout. @default 120_000 (two minutes, as Kafka's Java producer)
   */
  readonly deliveryTimeoutMs: number;
  /** First pause before a failed batch is sent again, in ms; it doubles up to `retryBackoffMaxMs`. @default 100 */
  readonly retryBackoffMs: number;
  /** Longest pause between two attempts of a batch, in ms. @default 2_000 */
  readonly retryBackoffMaxMs: number;
}

export const producerDefaults = {
  source: '/slotstream/producer',
  lingerMs: 1,
  maxBatchMessages: 1_000,
  maxBufferedMessages: 50_000,
  compression: 'none',
  ackTimeoutMs: 30_000, // thirty seconds, kafkajs's own default
  lanes: 1,
  deliveryTimeoutMs: 120_000, // two minutes
  retryBackoffMs: 100,
  retryBackoffMaxMs: 2_000,
} as const satisfies CommandProducerOptions;

/** Merges options over the defaults and checks them; throws RangeError naming the bad option. */
export function compileProducerOptions(
  options: Partial<CommandProducerOptions> = {},
): CommandProducerOptions {
  const merged: CommandProducerOptions = { ...producerDefaults, ...options };
  const positive = (name: keyof CommandProducerOptions, min: number) => {
    const value = merged[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new RangeError(`producer option ${name}: expected an integer ≥ ${min}, got ${String(value)}`);
    }
  };
  positive('lingerMs', 0);
  positive('maxBatchMessages', 1);
  positive('maxBufferedMessages', 1);
  positive('ackTimeoutMs', 1);
  positive('lanes', 1);
  positive('deliveryTimeoutMs', 1);
  positive('retryBackoffMs', 1);
  positive('retryBackoffMaxMs', 1);
  if (!(COMPRESSIONS as readonly string[]).includes(merged.compression)) {
    throw new RangeError(
      `producer option compression: expected one of ${COMPRESSIONS.join(', ')}, got ${merged.compression}`,
    );
  }
  return Object.freeze(merged);
}
