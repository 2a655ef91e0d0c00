import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../common/kafka.ts';
import { ensureTopics, topicSpecs } from '../../../common/topics.ts';
import { createDecider } from '../../../processors/decider/create.ts';
import type { Decider } from '../../../processors/decider/decider.ts';
import { parseLoadOptions } from '../../../producers/load/options.ts';
import { runLoad } from '../../../producers/load/run.ts';
import { testConfig, testLogger } from '../../helpers.ts';

const config = testConfig();
let decider: Decider;

beforeAll(async () => {
  const admin = createKafka(config, testLogger).admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(config));
  await admin.disconnect();
  decider = await createDecider(config, testLogger, { autoRegister: true, timerIntervalMs: 50 });
  await decider.start();
});

afterAll(async () => {
  await decider?.stop();
});

describe('the load generator against a running decider', () => {
  it('offers on schedule, and every accepted request is decided: held within capacity, the rest UNAVAILABLE', async () => {
    const options = parseLoadOptions([
      '--rate',
      '300',
      '--duration',
      '2s',
      '--resources',
      '3',
      '--capacity',
      '2',
      '--hot-share',
      '0.6',
      '--settle',
      '30s',
    ]);
    const progress: string[] = [];
    const summary = await runLoad(options, {
      config,
      logger: testLogger,
      onProgress: (p) => progress.push(p.phase),
    });
    expect(summary.offered.requests).toBe(600);
    expect(summary.accepted.requests).toBe(600);
    expect(summary.refused).toEqual({});
    expect(summary.errors).toEqual({});
    expect(summary.latencyMs?.count).toBe(600);
    expect(summary.decisions.observed).toBe(true);
    expect(summary.decisions.undecided).toBe(0);
    const rejected = Object.values(summary.decisions.rejected).reduce((a, b) => a + b, 0);
    expect(summary.decisions.held + rejected).toBe(600);
    // 3 resources × 24 one-hour slots × capacity 2 is all there is to hold.
    expect(summary.decisions.held).toBeLessThanOrEqual(3 * 24 * 2);
    expect(Object.keys(summary.decisions.rejected)).toEqual(['UNAVAILABLE']);
    expect(progress).toContain('offering');
  });
});
