/** Builds the kafkajs client from the configuration, with kafkajs's logs routed to pino. */
import './kafkajs-fast-encoder.ts'; // before kafkajs loads
import { Kafka, logLevel as KafkaLogLevel, type logCreator, type RetryOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from './config.ts';

// We pin partitions explicitly where it matters and use the default (Java-compatible) partitioner elsewhere.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const toPino: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      logger[toPino[level] ?? 'info']({ kafka: extra }, message);
    };
}

export function createKafka(
  config: Pick<Config, 'kafka'>,
  logger: Logger,
  clientId?: string,
  retry: RetryOptions = { initialRetryTime: 50, retries: 8 },
): Kafka {
  return new Kafka({
    clientId: clientId ?? config.kafka.clientId,
    brokers: [...config.kafka.brokers],
    logLevel: KafkaLogLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ component: 'kafkajs' })),
    // Local broker: fail fast on connect, retry quickly (kafkajs's default 300 ms initial retry slows transactions).
    connectionTimeout: 3_000,
    retry,
  });
}
