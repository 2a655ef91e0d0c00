/**
 * Entry point of one decider process: `npx tsx processors/run.ts` (npm run processor). Scale by starting
 * more: the group shares the partitions. SIGTERM/SIGINT drain within the grace period.
 */
import { loadConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { startMetricsServer } from '../common/metrics-server.ts';
import { createDecider } from './decider/create.ts';

const config = loadConfig();
const logger = createLogger(config, 'processor');
const decider = await createDecider(config, logger);
const metrics = await startMetricsServer(decider.metricsRegistry, {
  port: config.processor.metricsPort,
  health: () => ({
    state: decider.state,
    healthy: decider.state === 'running' || decider.state === 'restoring',
  }),
});
logger.info({ metricsPort: metrics.port }, 'decider metrics at /metrics');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  try {
    await decider.stop();
    await metrics.close();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'unclean stop');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await decider.start();
} catch (error) {
  logger.fatal({ err: error }, 'decider failed to start');
  process.exit(1);
}
