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

/**
 * How created topics are replicated: without it, the broker's defaults. In production give a
 * factor of 3 and min.insync.replicas 2, so that a write acknowledged with acks=all (the relay's)
 * survives the loss of a broker (docs/events.md).
 */
export type TopicReplication = { factor: number; minInSyncReplicas?: number };

export type TopicSpec = { topic: string; numPartitions: number; replication?: TopicReplication | undefined };

/**
 * The replication a service's KAFKA_TOPIC_REPLICATION_FACTOR / KAFKA_TOPIC_MIN_INSYNC_REPLICAS
 * ask for (undefined: the broker's defaults), or the reason they do not fit together.
 */
export function topicReplicationOf(factor: number | undefined, minInSyncReplicas: number | undefined): { replication?: TopicReplication; problem?: string } {
  if (factor === undefined) return minInSyncReplicas === undefined ? {} : { problem: 'KAFKA_TOPIC_MIN_INSYNC_REPLICAS needs KAFKA_TOPIC_REPLICATION_FACTOR' };
  if (minInSyncReplicas !== undefined && minInSyncReplicas > factor) return { problem: `must be at most KAFKA_TOPIC_REPLICATION_FACTOR (${factor}): no write could ever be acknowledged` };
  return { replication: minInSyncReplicas === undefined ? { factor } : { factor, minInSyncReplicas } };
}

/**
 * Creates the topics that do not exist yet (replicated as `replication` says, else by the broker's
 * defaults). An
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
    try {
      await admin.createTopics({
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          ...(t.replication ? { replicationFactor: t.replication.factor } : {}),
          ...(t.replication?.minInSyncReplicas !== undefined
            ? { configEntries: [{ name: 'min.insync.replicas', value: String(t.replication.minInSyncReplicas) }] } : {}),
        })),
        waitForLeaders: true,
      });
    } catch (err) {
      // kafkajs says only "Topic creation errors"; the broker's reasons are in `errors`.
      const reasons = (err as { errors?: { message?: string; type?: string }[] }).errors
        ?.map((e) => (e.type ? `${e.message} (${e.type})` : e.message)).filter(Boolean) ?? [];
      if (reasons.length === 0) throw err;
      throw new Error(`cannot create Kafka topics ${missing.map((t) => t.topic).join(', ')}: ${reasons.join('; ')}`, { cause: err });
    }
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
