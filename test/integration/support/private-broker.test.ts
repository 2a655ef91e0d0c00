import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../common/kafka.ts';
import { testConfig, testLogger } from '../../helpers.ts';
import { PrivateBroker } from '../../support/private-broker.ts';

describe('PrivateBroker', () => {
  let broker: PrivateBroker;
  beforeAll(async () => {
    broker = await PrivateBroker.create(`pb-${process.pid}`);
  });
  afterAll(async () => {
    await broker?.destroy();
  });

  it('keeps its topics across a graceful restart and a kill -9', async () => {
    const config = testConfig({ KAFKA_BROKERS: broker.bootstrap });
    const kafka = createKafka(config, testLogger, 'pb-test');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    await broker.restart('graceful');
    await broker.restart('kill');
    const again = kafka.admin();
    await again.connect();
    expect(await again.listTopics()).toContain('kept');
    await again.disconnect();
  });
});
