/** Builds a Decider on kafkajs from the configuration. */
import type { RetryOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.ts';
import { createKafka } from '../../common/kafka.ts';
import { topicNames } from '../../common/topics.ts';
import { MessageCodec } from '../../schemas/codec.ts';
import { kafkajsAdmin } from '../kafkajs/admin.ts';
import { kafkajsChangelogReader } from '../kafkajs/changelog-reader.ts';
import { kafkajsCommandSource } from '../kafkajs/command-source.ts';
import { kafkajsTransactionalProducer } from '../kafkajs/transactional-producer.ts';
import { Decider } from './decider.ts';
import type { DeciderOptions } from './options.ts';

export async function createDecider(
  config: Config,
  logger: Logger,
  options: Partial<DeciderOptions> & { autoRegister?: boolean; kafkaRetry?: RetryOptions } = {},
): Promise<Decider> {
  const { autoRegister, kafkaRetry, ...deciderOptions } = options;
  const topics = topicNames(config.kafka.topicPrefix);
  const groupId = deciderOptions.groupId ?? `${config.kafka.topicPrefix}${config.processor.groupId}`;
  const sessionTimeoutMs = deciderOptions.sessionTimeoutMs ?? config.processor.sessionTimeoutMs;
  const heartbeatIntervalMs =
    deciderOptions.heartbeatIntervalMs ?? Math.max(500, Math.floor(sessionTimeoutMs / 6));
  // A short initial retry: after each commit kafkajs waits out CONCURRENT_TRANSACTIONS before the next
  // transaction can start, and its default 300 ms retry would cap a partition at a few transactions/s.
  const kafka = createKafka(
    config,
    logger,
    'slotstream-decider',
    kafkaRetry ?? { initialRetryTime: 20, retries: 12 },
  );
  const codec = MessageCodec.fromConfig(config, { autoRegister: autoRegister ?? false });
  const admin = await kafkajsAdmin(kafka);
  return new Decider(
    {
      source: kafkajsCommandSource(kafka, {
        groupId,
        topic: topics.commands,
        sessionTimeoutMs,
        heartbeatIntervalMs,
        ...(deciderOptions.maxBytesPerPartition
          ? { maxBytesPerPartition: deciderOptions.maxBytesPerPartition }
          : {}),
        ...(deciderOptions.partitionsConsumedConcurrently
          ? { partitionsConsumedConcurrently: deciderOptions.partitionsConsumedConcurrently }
          : {}),
      }),
      admin,
      changelog: kafkajsChangelogReader(kafka, { groupPrefix: `${groupId}.restore` }),
      producerFor: (transactionalId) => kafkajsTransactionalProducer(kafka, transactionalId),
    },
    codec,
    topics,
    logger,
    { ...deciderOptions, groupId, sessionTimeoutMs, heartbeatIntervalMs },
  );
}
