/** Creates every Slotstream topic that is missing (`npm run topics:create`). Idempotent. */
import { loadConfig } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { ensureTopics, topicSpecs } from '../common/topics.ts';

const config = loadConfig();
const logger = createLogger(config, 'topics');
const admin = createKafka(config, logger).admin();
await admin.connect();
try {
  const specs = topicSpecs(config);
  const { created } = await ensureTopics(admin, specs);
  logger.info({ created, total: specs.length }, created.length ? 'topics created' : 'topics already present');
} finally {
  await admin.disconnect();
}
