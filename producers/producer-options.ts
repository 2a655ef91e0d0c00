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
}

export const producerDefaults = {
  source: '/slotstream/producer',
  lingerMs: 1,
  maxBatchMessages: 1_000,
  maxBufferedMessages: 50_000,
  compression: 'none',
  ackTimeoutMs: 30_000, // thirty seconds, kafkajs's own default
  lanes: 1,
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
  if (!(COMPRESSIONS as readonly string[]).includes(merged.compression)) {
    throw new RangeError(
      `producer option compression: expected one of ${COMPRESSIONS.join(', ')}, got ${merged.compression}`,
    );
  }
  return Object.freeze(merged);
}
