import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';

/** The part of a pino logger the Kafka helpers use. */
export type KafkaLogger = {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
};

export type KafkaClientOptions = {
  /** Bootstrap brokers, e.g. `['127.0.0.1:9092']`. */
  brokers: readonly string[];
  clientId: string;
  /** kafkajs' own log lines go here (warn and above). Default: silent. */
  logger?: KafkaLogger;
  /** TCP connect timeout. Default 3 000 ms. */
  connectionTimeoutMs?: number;
};

/** Parses `host:port,host:port` (the KAFKA_BROKERS format). */
export function parseBrokers(list: string): string[] {
  return list.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
}

/**
 * A kafkajs client whose log lines go to our structured logger. Opens nothing by itself; the
 * producers/consumers/admins made from it connect when asked.
 */
export function createKafka(o: KafkaClientOptions): Kafka {
  const log = o.logger;
  return new Kafka({
    clientId: o.clientId,
    brokers: [...o.brokers],
    connectionTimeout: o.connectionTimeoutMs ?? 3_000,
    logLevel: log ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (e: LogEntry) => {
      if (!log) return;
      const { message, ...extra } = e.log;
      const fields = { kafka: { namespace: e.namespace, ...extra } };
      if (e.level === logLevel.ERROR) log.error(fields, `kafkajs: ${message}`);
      else if (e.level === logLevel.WARN) log.warn(fields, `kafkajs: ${message}`);
      else log.debug(fields, `kafkajs: ${message}`);
    },
    // Our own loops retry with backoff; kafkajs' retries only smooth over a broker blip.
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
}

export type TopicSpec = { topic: string; numPartitions: number };

/**
 * Creates the topics that do not exist yet (replication factor: the broker's default). An
 * existing topic is left alone even with fewer partitions than asked: adding partitions moves
 * keys to other partitions and would break per-key order for the events in flight — that is an
 * operator's decision. Returns the topics it created.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return [];
    await admin.createTopics({
      topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions })),
      waitForLeaders: true,
    });
    // Every partition must report a leader before the first produce, or that produce fails and
    // is retried (KRaft applies new partitions asynchronously, cf. KAFKA-15591).
    const names = missing.map((t) => t.topic);
    for (let i = 0; i < 50; i++) {
      const meta = await admin.fetchTopicMetadata({ topics: names });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) break;
      await sleep(100);
    }
    return names;
  } finally {
    await admin.disconnect();
  }
}
