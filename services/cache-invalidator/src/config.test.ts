import { describe, expect, it } from 'vitest';
import { TOPIC_CHANGES, TOPIC_CHANGES_DLQ } from '@rota/domain';
import { loadInvalidatorConfig } from './config.ts';

describe('cache-invalidator config', () => {
  it('defaults to the wire names and the documented settings', () => {
    const c = loadInvalidatorConfig({});
    expect(c).toMatchObject({
      KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPIC_CHANGES: TOPIC_CHANGES, KAFKA_TOPIC_DLQ: TOPIC_CHANGES_DLQ,
      KAFKA_GROUP_ID: 'rota-cache-invalidator', REDIS_KEY_PREFIX: 'rota', METRICS_PORT: 9466,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the bad variable', () => {
    expect(() => loadInvalidatorConfig({ METRICS_PORT: 'abc' })).toThrow(/METRICS_PORT/);
    expect(() => loadInvalidatorConfig({ KAFKA_BROKERS: 'a:1, b:2' })).toThrow(/KAFKA_BROKERS/);
    expect(() => loadInvalidatorConfig({ REDIS_KEY_PREFIX: 'Has Space' })).toThrow(/REDIS_KEY_PREFIX/);
    expect(() => loadInvalidatorConfig({ KAFKA_TOPIC_REPLICATION_FACTOR: '2', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '3' })).toThrow(/KAFKA_TOPIC_MIN_INSYNC_REPLICAS/);
  });
});
