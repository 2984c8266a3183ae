import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners, type Consumer, type EachBatchPayload, type IHeaders, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import client from 'prom-client';
import { CacheUnavailableError, type Cache, type InvalidationTarget, type Namespace } from '@rota/cache';
import { EVENT_TYPES, ensureTopics, invalidationsFor, invalidationsForUnknownType, parseEvent, type ChangeEvent, type KafkaLogger, type TopicReplication, type UnknownTypeEvent } from '@rota/events';

export type InvalidatorOptions = {
  kafka: Kafka;
  /** Bumps scope versions; its `invalidate` throws CacheUnavailableError while Redis is unusable. */
  cache: Pick<Cache, 'invalidate'>;
  registry: client.Registry;
  logger: KafkaLogger;
  topic: string;
  dlqTopic: string;
  groupId: string;
  /** Partitions when the topics have to be created here. */
  partitions: number;
  /** Replication when the topics have to be created here. Default: the broker's defaults. */
  replication?: TopicReplication | undefined;
  /** Messages per Redis round trip. Default 500. */
  maxChunk?: number;
  /** First retry delay of a paused partition. Default 200 ms. */
  retryInitialMs?: number;
  /** Longest retry delay. Default 2 000 ms. */
  retryMaxMs?: number;
  /** Invalidate the same scopes again this much later (read replicas' lag bound); 0 = never. */
  rebumpAfterMs?: number;
};

export type InvalidatorStatus = {
  joined: boolean;
  paused: number;
  /** Consumers replaced after a crash kafkajs does not recover from (see #replaceConsumer). */
  consumerRestarts: number;
};

export type Invalidator = {
  /** Creates the topics if needed, joins the group and consumes; retries until Kafka answers. */
  start(): Promise<void>;
  /** Stops fetching, lets the batch in flight finish (its offsets are committed), disconnects. */
  stop(): Promise<void>;
  status(): InvalidatorStatus;
};

const KNOWN_TYPES = new Set<string>(EVENT_TYPES);

/** The metric label of an event type: `unknown` for any this build does not know (low cardinality). */
function typeLabel(type: string | undefined): string {
  return type !== undefined && KNOWN_TYPES.has(type) ? type : 'unknown';
}

/** The type label of a message that did not parse, from its `event-type` header. */
function typeLabelOf(message: KafkaMessage): string {
  const h = message.headers?.['event-type'];
  const v = Array.isArray(h) ? h[0] : h;
  return typeLabel(v?.toString());
}

/** Merges targets so a chunk costs one script per namespace. */
function mergeTargets(targets: readonly InvalidationTarget[]): InvalidationTarget[] {
  const by = new Map<Namespace, Set<string>>();
  for (const t of targets) {
    let s = by.get(t.ns);
    if (!s) by.set(t.ns, (s = new Set()));
    for (const x of t.scopes) s.add(x);
  }
  return [...by].map(([ns, s]) => ({ ns, scopes: [...s] }));
}

type Poison = { message: KafkaMessage; reason: string };

/** Event types of newer writers already logged by this process (bounded: a log line, not a metric). */
const MAX_LOGGED_UNKNOWN_TYPES = 100;

class CacheInvalidator implements Invalidator {
  readonly #o: InvalidatorOptions & { maxChunk: number; retryInitialMs: number; retryMaxMs: number };
  #consumer: Consumer;
  #consumerRestarts = 0;
  readonly #dlq: Producer;
  readonly #delays = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #loggedUnknownTypes = new Set<string>();
  #joined = false;
  #stopping = false;
  readonly #m: {
    processed: client.Counter<'type' | 'result'>;
    latency: client.Histogram;
    paused: client.Gauge;
    restarts: client.Counter;
  };

  constructor(o: InvalidatorOptions) {
    this.#o = { maxChunk: 500, retryInitialMs: 200, retryMaxMs: 2_000, ...o };
    this.#consumer = this.#newConsumer();
    // Dead letters are rare and a duplicate one is harmless: a plain producer (acks=all per send).
    this.#dlq = o.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const registers = [o.registry];
    const paused = new client.Gauge({ name: 'cache_invalidator_paused_partitions', help: 'Partitions paused while Redis (or the DLQ) is unavailable', registers });
    this.#m = {
      processed: new client.Counter({
        name: 'events_processed_total',
        help: 'Change events handled by the cache-invalidator: ok, fallback (a type this build does not know: every namespace over its scopes), dlq, retry',
        labelNames: ['type', 'result'], registers,
      }),
      latency: new client.Histogram({
        name: 'cache_invalidation_latency_seconds',
        help: 'From the event\'s occurredAt (inside the writing transaction) until its cache scopes were bumped',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 5, 10, 30, 120],
        registers,
      }),
      paused,
      restarts: new client.Counter({
        name: 'cache_invalidator_consumer_restarts_total',
        help: 'Kafka consumers replaced after a crash kafkajs does not restart by itself (e.g. no group coordinator during a broker outage)',
        registers,
      }),
    };
    paused.set(0);
    // Born at 0: a labelled counter otherwise appears with its first burst already counted, and
    // increase() over it sees nothing — ChangeEventsDeadLettered and ChangeEventsOfUnknownType
    // (infra/prometheus/rules/alerts.yml) would miss the first dead letter or unknown type.
    for (const type of [...KNOWN_TYPES, 'unknown']) this.#m.processed.inc({ type, result: 'dlq' }, 0);
    this.#m.processed.inc({ type: 'unknown', result: 'fallback' }, 0);
  }

  #newConsumer(): Consumer {
    const c = this.#o.kafka.consumer({
      groupId: this.#o.groupId,
      // A member that vanished (SIGKILL, or a broker restart that forgot our connection) holds its
      // partitions until its session expires: measured ~30 s of stalled invalidations after a
      // Kafka restart with kafkajs' 30 s default, so 10 s (heartbeats every second; every chunk
      // of a batch also heartbeats, and one chunk is one Redis round trip).
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1_000,
      // Fetch returns as soon as one message is there: latency over throughput.
      maxWaitTimeInMs: 100,
      retry: {
        retries: 8, initialRetryTime: 200, maxRetryTime: 2_000,
        // A crash after exhausted retries (coordinator loading on a cold broker, a long rebalance
        // on a loaded machine) restarts the consumer instead of ending the process: offsets are
        // committed only after Redis succeeded, so a restart re-reads at most unacknowledged work.
        restartOnFailure: async (err: Error) => {
          this.#o.logger.warn({ err }, 'consumer failed; restarting it');
          return !this.#stopping;
        },
      },
    });
    c.on(c.events.GROUP_JOIN, (e) => {
      this.#joined = true;
      this.#o.logger.info({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'joined consumer group');
    });
    c.on(c.events.CRASH, (e) => {
      this.#joined = false;
      const restart = (e.payload as { restart?: boolean }).restart === true;
      this.#o.logger.error({ err: e.payload.error, restart }, 'consumer crashed');
      if (!restart && !this.#stopping && c === this.#consumer) void this.#replaceConsumer(c);
    });
    return c;
  }

  /**
   * kafkajs restarts a crashed consumer itself only after retriable errors. Others leave it
   * stopped for good — "Failed to find group coordinator" while the broker is down is one (seen
   * in CI: the invalidator then exited, and nothing was invalidated after Kafka came back until
   * something restarted it; under Kubernetes, a CrashLoopBackOff of up to 5 minutes). So a new
   * consumer takes its place and joins as soon as Kafka answers (start()'s retries with backoff).
   * Offsets are committed only after Redis took the bumps, so the new member re-reads at most the
   * unacknowledged work.
   */
  async #replaceConsumer(old: Consumer): Promise<void> {
    await old.disconnect().catch(() => {});
    if (this.#stopping) return;
    this.#consumerRestarts++;
    this.#m.restarts.inc();
    this.#consumer = this.#newConsumer();
    this.#o.logger.warn({ restarts: this.#consumerRestarts }, 'consumer replaced after a crash kafkajs does not recover from');
    try {
      await this.start();
    } catch (err) {
      const failed = this.#consumer;
      this.#o.logger.error({ err }, 'replacement consumer failed to start; replacing it again');
      await sleep(this.#o.retryMaxMs);
      if (!this.#stopping && this.#consumer === failed) void this.#replaceConsumer(failed);
    }
  }

  status(): InvalidatorStatus {
    return { joined: this.#joined, paused: this.#timers.size, consumerRestarts: this.#consumerRestarts };
  }

  async start(): Promise<void> {
    const consumer = this.#consumer;
    let delay = 500;
    for (;;) {
      if (consumer !== this.#consumer) return; // replaced meanwhile: its replacement starts itself
      if (this.#stopping) return;
      try {
        await ensureTopics(this.#o.kafka, [
          { topic: this.#o.topic, numPartitions: this.#o.partitions, replication: this.#o.replication },
          { topic: this.#o.dlqTopic, numPartitions: this.#o.partitions, replication: this.#o.replication },
        ]);
        await this.#dlq.connect();
        await consumer.connect();
        // A new group starts at the beginning of the retained log: replaying old invalidations
        // only costs cache misses, skipping them could serve stale data.
        await consumer.subscribe({ topic: this.#o.topic, fromBeginning: true });
        break;
      } catch (err) {
        this.#o.logger.warn({ err, retryInMs: delay }, 'cannot reach Kafka yet; retrying');
        await consumer.disconnect().catch(() => {});
        await sleep(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
    if (this.#stopping || consumer !== this.#consumer) return;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (p) => this.#eachBatch(consumer, p),
    });
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#m.paused.set(0);
    // disconnect() stops fetching and waits for the running eachBatch; every chunk it finished
    // is already committed, an interrupted one is redelivered to the next member.
    await this.#consumer.disconnect().catch((err: unknown) => this.#o.logger.warn({ err }, 'consumer disconnect failed'));
    await this.#dlq.disconnect().catch(() => {});
  }

  async #eachBatch(consumer: Consumer, { batch, resolveOffset, heartbeat, pause, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const key = `${topic}:${partition}`;
    for (let i = 0; i < batch.messages.length; i += this.#o.maxChunk) {
      if (!isRunning() || isStale() || this.#stopping) return;
      const chunk = batch.messages.slice(i, i + this.#o.maxChunk);
      const ok = await this.#handle(topic, partition, chunk);
      if (!ok) {
        // Never skip: pause this partition (nothing after the failed chunk is resolved, so the
        // fetch resumes at it) and retry with backoff; the other partitions fail the same way.
        const delay = this.#delays.get(key) ?? this.#o.retryInitialMs;
        this.#delays.set(key, Math.min(delay * 2, this.#o.retryMaxMs));
        const resume = pause();
        const t = setTimeout(() => {
          this.#timers.delete(t);
          this.#m.paused.set(this.#timers.size);
          resume();
        }, delay);
        this.#timers.add(t);
        this.#m.paused.set(this.#timers.size);
        return;
      }
      this.#delays.delete(key);
      const last = chunk[chunk.length - 1]!;
      resolveOffset(last.offset);
      // Committed only now, after Redis took every bump of the chunk: at-least-once.
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      await heartbeat();
    }
  }

  #logUnknownType(type: string, topic: string, partition: number, offset: string): void {
    if (this.#loggedUnknownTypes.has(type) || this.#loggedUnknownTypes.size >= MAX_LOGGED_UNKNOWN_TYPES) return;
    this.#loggedUnknownTypes.add(type);
    this.#o.logger.warn({ type, topic, partition, offset },
      'change event of a type this invalidator does not know: every namespace invalidated over its scopes; deploy the newer invalidator');
  }

  /** Invalidates a chunk (DLQ for poison); false when it must be retried later. */
  async #handle(topic: string, partition: number, chunk: KafkaMessage[]): Promise<boolean> {
    const valid: (ChangeEvent | UnknownTypeEvent)[] = [];
    const targets: InvalidationTarget[] = [];
    const poison: Poison[] = [];
    for (const m of chunk) {
      const r = parseEvent(m.value);
      if (!r.ok && r.unknownType !== undefined) {
        // A newer writer's event type: not poison — its scopes are valid — but not mapped here
        // either. Invalidate broadly rather than leave its reads stale until their TTL.
        targets.push(...invalidationsForUnknownType(r.unknownType.scopes));
        valid.push(r.unknownType);
        this.#logUnknownType(r.unknownType.type, topic, partition, m.offset);
        continue;
      }
      if (!r.ok) {
        poison.push({ message: m, reason: r.reason });
        continue;
      }
      try {
        targets.push(...invalidationsFor(r.event));
        valid.push(r.event);
      } catch (err) {
        poison.push({ message: m, reason: `no invalidation mapping: ${(err as Error).message}` });
      }
    }
    if (targets.length > 0) {
      const merged = mergeTargets(targets);
      try {
        await this.#o.cache.invalidate(merged);
      } catch (err) {
        if (!(err instanceof CacheUnavailableError)) this.#o.logger.error({ err }, 'unexpected invalidation error');
        for (const e of valid) this.#m.processed.inc({ type: typeLabel(e.type), result: 'retry' });
        this.#o.logger.warn({ err: (err as Error).message, topic, partition, offset: chunk[0]?.offset, events: valid.length }, 'redis unavailable; pausing partition');
        return false;
      }
      const rebump = this.#o.rebumpAfterMs ?? 0;
      if (rebump > 0) {
        // Best effort: the offsets are committed after the first bump; a lost second bump leaves
        // at most an entry filled from a lagging replica, until its TTL.
        setTimeout(() => {
          this.#o.cache.invalidate(merged).catch((err: unknown) => this.#o.logger.warn({ err: (err as Error).message }, 'delayed invalidation (replica lag) failed'));
        }, rebump).unref();
      }
      const now = Date.now();
      for (const e of valid) {
        this.#m.latency.observe(Math.max(0, now - Date.parse(e.occurredAt)) / 1000);
        const known = KNOWN_TYPES.has(e.type);
        this.#m.processed.inc({ type: known ? e.type : 'unknown', result: known ? 'ok' : 'fallback' });
      }
    }
    if (poison.length > 0) {
      try {
        await this.#dlq.send({
          topic: this.#o.dlqTopic,
          acks: -1,
          messages: poison.map(({ message, reason }) => ({
            key: message.key,
            value: message.value,
            headers: {
              ...(message.headers ?? {}),
              'x-dlq-reason': reason.slice(0, 2000),
              'x-original-topic': topic,
              'x-original-partition': String(partition),
              'x-original-offset': message.offset,
              'x-failed-at': new Date().toISOString(),
            } satisfies IHeaders,
          })),
        });
      } catch (err) {
        this.#o.logger.warn({ err, topic, partition }, 'dead-letter topic unavailable; pausing partition');
        for (const p of poison) this.#m.processed.inc({ type: typeLabelOf(p.message), result: 'retry' });
        return false;
      }
      for (const p of poison) {
        this.#m.processed.inc({ type: typeLabelOf(p.message), result: 'dlq' });
        this.#o.logger.warn({ topic, partition, offset: p.message.offset, reason: p.reason.slice(0, 500) }, 'poison message sent to the DLQ');
      }
    }
    return true;
  }
}

export function createInvalidator(o: InvalidatorOptions): Invalidator {
  return new CacheInvalidator(o);
}
