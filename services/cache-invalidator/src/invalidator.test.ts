/**
 * The series the alerts take increase() of exist from start-up at 0. A labelled prom-client
 * counter is otherwise born with its first inc, and increase() over a series that appears at 3
 * and stays there is 0: the first dead letters (or events of an unknown type) would never alert.
 * No Kafka is needed for that: the consumer connects only in start(). The second test uses the
 * shared broker (KAFKA_BROKERS, a topic and group of its own).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Consumer, ConsumerConfig } from 'kafkajs';
import { afterAll, expect, test } from 'vitest';
import { createCache } from '@rota/cache';
import { EVENT_TYPES, createKafka, parseBrokers } from '@rota/events';
import { uniqueName } from '@rota/testkit';
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

test('a consumer crash kafkajs does not restart itself is followed by a new consumer that joins and goes on', { timeout: 90_000 }, async () => {
  const registry = createRegistry('cache-invalidator');
  const logger = createLogger('t', 'silent');
  const name = uniqueName('inv');
  const topic = `rota.changes.test.${name}`;
  const kafka = createKafka({ brokers: parseBrokers(process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092'), clientId: name });
  // Real consumers on the real broker; only kafkajs' crash notification is ours to send. In CI a
  // broker outage produced it ("Failed to find group coordinator", restart: false): kafkajs
  // disconnects such a consumer and never starts it again.
  const consumers: { consumer: Consumer; crash: (e: unknown) => void }[] = [];
  const withCrashHook = new Proxy(kafka, {
    get(target, prop, receiver) {
      if (prop !== 'consumer') return Reflect.get(target, prop, receiver) as unknown;
      return (config: ConsumerConfig): Consumer => {
        const c = target.consumer(config);
        const on = c.on.bind(c) as (event: string, listener: (e: unknown) => void) => () => void;
        (c as { on: unknown }).on = (event: string, listener: (e: unknown) => void): (() => void) => {
          if (event === c.events.CRASH) consumers.push({ consumer: c, crash: listener });
          return on(event, listener);
        };
        return c;
      };
    },
  });
  await redis.connect().catch(() => {});
  const invalidator = createInvalidator({
    kafka: withCrashHook, cache: createCache({ redis, registry, logger, keyPrefix: name }),
    registry, logger, topic, dlqTopic: `${topic}.dlq`, groupId: name, partitions: 1,
  });
  const producer = kafka.producer();
  const ok = async (): Promise<number> => {
    const m = (await registry.getSingleMetric('events_processed_total')!.get()).values.find((v) => v.labels['type'] === 'employee.updated' && v.labels['result'] === 'ok');
    return m?.value ?? 0;
  };
  const until = async (what: string, probe: () => Promise<boolean> | boolean): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (events handled: ${await ok()})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const event = (employeeId: string): string => JSON.stringify({
    id: randomUUID(), type: 'employee.updated', occurredAt: new Date().toISOString(), aggregate: { type: 'employee', id: employeeId },
    scopes: { departmentIds: ['1'], employeeIds: [employeeId], scheduleIds: [] }, payload: {},
  });
  try {
    void invalidator.start();
    await until('joined', () => invalidator.status().joined);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: '1', value: event('2') }] });
    await until('the first event', async () => (await ok()) === 1);

    const first = consumers[0]!;
    await first.consumer.disconnect(); // what kafkajs does before it reports such a crash
    first.crash({ id: 0, type: 'consumer.crash', timestamp: Date.now(), payload: { error: new Error('Failed to find group coordinator'), groupId: name, restart: false } });
    await until('a replacement consumer', () => invalidator.status().consumerRestarts === 1 && invalidator.status().joined);
    expect(consumers).toHaveLength(2);
    await producer.send({ topic, messages: [{ key: '1', value: event('3') }] });
    await until('the next event, by the new consumer', async () => (await ok()) === 2);
    expect(invalidator.status()).toMatchObject({ joined: true, consumerRestarts: 1 });
  } finally {
    await producer.disconnect().catch(() => {});
    await invalidator.stop();
  }
});
