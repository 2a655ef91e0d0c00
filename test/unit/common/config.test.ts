import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../common/config.ts';

describe('configuration', () => {
  it('defaults to the local stack and is frozen', () => {
    const config = loadConfig({});
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.registry.url).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(config.postgres.url).toBe('postgres://slotstream:slotstream@127.0.0.1:5432/slotstream');
    expect(config.kafka.partitions).toBe(6);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.kafka)).toBe(true);
  });

  it('follows the stack ports set in the environment', () => {
    const config = loadConfig({ KAFKA_PORT: '19092', POSTGRES_PORT: '15432', REGISTRY_PORT: '18081' });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.postgres.url).toContain(':15432/');
    expect(config.registry.url).toBe('http://127.0.0.1:18081/apis/ccompat/v7');
  });

  it.each([
    ['TOPIC_PARTITIONS', 'six', /TOPIC_PARTITIONS: expected an integer, got 'six'/],
    ['TOPIC_PARTITIONS', '0', /TOPIC_PARTITIONS: expected 1\.\.1000, got 0/],
    [
      'LOG_LEVEL',
      'loud',
      /LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got 'loud'/,
    ],
    ['REGISTRY_URL', 'not a url', /REGISTRY_URL: expected a URL/],
    ['KAFKA_BROKERS', ' , ', /KAFKA_BROKERS: expected a comma-separated list/],
  ])('fails fast on %s=%s, naming the key and what is allowed', (key, value, message) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [key]: value })).toThrow(message);
  });
});
