// The bare Kafka hop, for benchmarks: produce (idempotent, acks=all, like the relay) → consume
// (consumer group, like the invalidator), timed per message.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { uniqueName } from '@rota/testkit';

export type RoundTrip = { samples: number[]; lost: number };

/** Sends `count` keyed messages at `ratePerSec`, one send each, and times each until consumed. */
export async function kafkaRoundTrip(brokers: string, count: number, ratePerSec: number): Promise<RoundTrip> {
  const kafka = new Kafka({ clientId: uniqueName('bench-baseline'), brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const topic = `rota.bench.baseline.${uniqueName('t')}`;
  const groupId = uniqueName('bench-baseline');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.value!.toString();
        const t = sentAt.get(id);
        if (t !== undefined) {
          samples.push(performance.now() - t);
          sentAt.delete(id);
        }
      },
    });
    while (!joined) await sleep(20);
    await sleep(500);
    const start = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const due = start + (i * 1000) / ratePerSec;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const id = `m${i}`;
      sentAt.set(id, performance.now());
      sends.push(producer.send({ topic, acks: -1, messages: [{ key: String(i % 100), value: id }] }));
    }
    await Promise.all(sends);
    const deadline = Date.now() + 10_000;
    while (samples.length < count && Date.now() < deadline) await sleep(20);
    return { samples, lost: count - samples.length };
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}
