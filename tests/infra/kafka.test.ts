// Proves that kafkajs (the client every Rota service uses) works against the pinned Kafka 4.x
// broker started by infra/scripts/kafka-up.sh: admin create/delete topic, keyed produce, and a
// consumer-group consume of every message in per-key order, on a topic unique to this run.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
const runId = randomUUID().slice(0, 8);
const topic = `rota.test.infra.${runId}`;
const groupId = `rota-test-infra-${runId}`;

const kafka = new Kafka({
  clientId: `rota-infra-test-${runId}`,
  brokers,
  logLevel: logLevel.WARN,
  connectionTimeout: 3_000,
  retry: { retries: 5, initialRetryTime: 200 },
});

let admin: Admin;
let producer: Producer;
let consumer: Consumer;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  expect(created).toBe(true);
});

afterAll(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
  if (admin) {
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  }
});

describe('kafkajs against the local Kafka 4 broker', () => {
  it('reports the KRaft cluster and the new topic', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);
    expect(cluster.controller).not.toBeNull();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(3);
  });

  it('round-trips keyed messages through a consumer group, in order per key', async () => {
    // Idempotent producer (InitProducerId + sequence numbers), as the outbox relay will use; kafkajs
    // wants unlimited retries for it, the test timeout bounds the wait.
    producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    await producer.connect();
    const keys = ['dept-1', 'dept-2', 'dept-3', 'dept-4'];
    const sent = keys.flatMap((key) =>
      Array.from({ length: 5 }, (_, seq) => ({ key, value: JSON.stringify({ key, seq, runId }) })),
    );
    await producer.send({ topic, acks: -1, messages: sent });

    consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; seq: number; partition: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length}/${sent.length} received`)), 20_000);
      void consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const body = JSON.parse(message.value?.toString() ?? '{}') as { key: string; seq: number };
            expect(message.key?.toString()).toBe(body.key);
            received.push({ key: body.key, seq: body.seq, partition });
            if (received.length === sent.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });

    expect(received).toHaveLength(sent.length);
    for (const key of keys) {
      const ofKey = received.filter((m) => m.key === key);
      expect(ofKey.map((m) => m.seq)).toEqual([0, 1, 2, 3, 4]);
      expect(new Set(ofKey.map((m) => m.partition)).size).toBe(1); // same key → same partition
    }

    // run() auto-commits after each batch; stop() waits for that, so the group coordinator
    // (__consumer_offsets) must now hold an offset per partition summing to all messages.
    await consumer.stop();
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    expect(committed).toBe(sent.length);
  });
});
