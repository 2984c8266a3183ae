// The kafkajs client as every service builds it, against the real broker.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, test, vi } from 'vitest';
import { uniqueName } from '@rota/testkit';
import { ConfigResourceTypes } from 'kafkajs';
import { createKafka, ensureTopics, parseBrokers, topicReplicationOf } from './relay-kafka.ts';

const BROKERS = parseBrokers(process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092');

afterEach(() => { vi.restoreAllMocks(); });

// kafkajs 2.2.4 re-armed a setTimeout of -Date.now() (clamped to 1 ms) on every idle broker
// connection, forever: an idle producer woke ~900 times a second, and Node 24 printed a
// TimeoutNegativeWarning (tulios/kafkajs#1704, #1751). patches/kafkajs@2.2.4.patch stops the loop.
test('an idle connection arms no timers and emits no TimeoutNegativeWarning', async () => {
  const kafka = createKafka({ brokers: BROKERS, clientId: uniqueName('idle-test') });
  const topic = `rota.test.idle.${uniqueName('t')}`;
  await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(w.name); };
  process.on('warning', onWarning);
  const producer = kafka.producer();
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'x' }] });
    await sleep(100);
    const real = globalThis.setTimeout;
    let armedByKafkajs = 0;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((...args: Parameters<typeof setTimeout>) => {
      if (new Error().stack?.includes('kafkajs')) armedByKafkajs++;
      return real(...args);
    }) as typeof setTimeout);
    await sleep(500);
    vi.restoreAllMocks();
    // Unpatched: 437 in these 500 ms.
    expect(armedByKafkajs).toBeLessThan(10);
    expect(warnings).not.toContain('TimeoutNegativeWarning');
  } finally {
    process.off('warning', onWarning);
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});

test('topics are created with the replication asked for: factor and min.insync.replicas', async () => {
  const kafka = createKafka({ brokers: BROKERS, clientId: uniqueName('repl-test') });
  const topic = `rota.test.repl.${uniqueName('t')}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await ensureTopics(kafka, [{ topic, numPartitions: 2, replication: { factor: 1, minInSyncReplicas: 1 } }])).toEqual([topic]);
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }] });
    expect(resources[0]!.configEntries).toEqual([expect.objectContaining({ configName: 'min.insync.replicas', configValue: '1', isDefault: false })]);
    // More replicas than brokers is refused by the broker, not silently reduced.
    await expect(ensureTopics(kafka, [{ topic: `${topic}.x`, numPartitions: 1, replication: { factor: 2 } }])).rejects.toThrow(/Replication-factor is invalid \(INVALID_REPLICATION_FACTOR\)/);
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
});

test('the replication settings must fit together', () => {
  expect(topicReplicationOf(undefined, undefined)).toEqual({});
  expect(topicReplicationOf(3, 2)).toEqual({ replication: { factor: 3, minInSyncReplicas: 2 } });
  expect(topicReplicationOf(3, undefined)).toEqual({ replication: { factor: 3 } });
  expect(topicReplicationOf(undefined, 2).problem).toMatch(/needs KAFKA_TOPIC_REPLICATION_FACTOR/);
  expect(topicReplicationOf(2, 3).problem).toMatch(/at most KAFKA_TOPIC_REPLICATION_FACTOR/);
});
