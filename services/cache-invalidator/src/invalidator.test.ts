/**
 * The series the alerts take increase() of exist from start-up at 0. A labelled prom-client
 * counter is otherwise born with its first inc, and increase() over a series that appears at 3
 * and stays there is 0: the first dead letters (or events of an unknown type) would never alert.
 * No Kafka is needed: the consumer connects only in start().
 */
import { Redis } from 'ioredis';
import { afterAll, expect, test } from 'vitest';
import { createCache } from '@rota/cache';
import { EVENT_TYPES, createKafka } from '@rota/events';
import { createLogger, createRegistry } from '@rota/telemetry';
import { createInvalidator } from './invalidator.ts';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, lazyConnect: true });
afterAll(() => redis.disconnect());

test('events_processed_total has every dlq label set and the fallback one at 0 before the first event', async () => {
  const registry = createRegistry('cache-invalidator');
  const logger = createLogger('t', 'silent');
  createInvalidator({
    kafka: createKafka({ brokers: ['127.0.0.1:9092'], clientId: 'test', logger }),
    cache: createCache({ redis, registry, logger, keyPrefix: 'test' }),
    registry, logger, topic: 't', dlqTopic: 't.dlq', groupId: 'g', partitions: 1,
  });
  const text = await registry.metrics();
  const line = (type: string, result: string): RegExp => new RegExp(`^events_processed_total\\{type="${type.replace('.', '\\.')}",result="${result}"[^}]*\\} 0$`, 'm');
  for (const type of [...EVENT_TYPES, 'unknown']) expect(text).toMatch(line(type, 'dlq'));
  expect(text).toMatch(line('unknown', 'fallback'));
});
