import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import pg from 'pg';
import client from 'prom-client';
import type { Queryable } from '@rota/db';
import { OUTBOX_NOTIFY_CHANNEL, TOPIC_CHANGES, TOPIC_CHANGES_DLQ } from '@rota/domain';
import { ensureTopics, type KafkaLogger, type TopicReplication } from './relay-kafka.ts';

export type RelayOptions = {
  /**
   * Connection string for the relay's own dedicated connection: it holds the advisory lock
   * (leadership ends when this session ends), LISTENs, and runs the batches.
   */
  databaseUrl: string;
  /** Pool for the pending-events gauges (read at scrape time by every replica). */
  db: Queryable;
  kafka: Kafka;
  /** Changes topic. Default `rota.changes.v1`. */
  topic?: string;
  /** Dead-letter topic, created next to the changes topic. Default `rota.changes.v1.dlq`. */
  dlqTopic?: string;
  /** Partitions of the topics when the relay creates them. Default 12. */
  partitions?: number;
  /** Replication of the topics when the relay creates them. Default: the broker's defaults. */
  replication?: TopicReplication | undefined;
  /** Rows per batch (one Kafka send, one UPDATE). Default 500. */
  batchSize?: number;
  /** Polling fallback when no NOTIFY arrives (lost wake-up, NOTIFY-less writers). Default 1000 ms. */
  pollMs?: number;
  /** How often a standby retries the lock. Default 1000 ms (take-over within ~1 s of the leader's death). */
  leaderRetryMs?: number;
  /**
   * Postgres ends a relay session that sent nothing for this long (`idle_session_timeout`),
   * releasing its lock: a leader whose process froze (stopped, a paused VM, a node gone without
   * closing its connection) otherwise leads — and publishes nothing — for as long as its session
   * stays open, hours until TCP gives up. A live relay keeps its session with a `SELECT 1`
   * every third of the timeout (also while a Kafka outage keeps its loop from Postgres); at least
   * 3× the larger of pollMs and leaderRetryMs is used. Default 60 s; 0 disables.
   */
  sessionIdleTimeoutMs?: number;
  /** Published rows are deleted after this long. Default 24 h. */
  retentionHours?: number;
  /** How often the leader starts a prune pass. Default 10 min. */
  pruneIntervalMs?: number;
  /**
   * Rows one prune statement deletes. A pass deletes one chunk per loop turn, between batches,
   * so a backlog of expired rows delays a new event by at most one chunk. Default 1 000 (about
   * 20–30 ms here; 5 000-row chunks took ~140 ms each and pruned a 500 000-row backlog more
   * slowly, 13.5 s against 7.2 s).
   */
  pruneChunkSize?: number;
  /**
   * A leader whose Kafka calls (connect, topic check, send) have failed without a break for this
   * long steps down: it releases the lock and stays out of the election for a backoff, so a
   * standby whose own path to Kafka works takes over (a wrong listener, a network path or
   * credentials broken for this pod only). Before, such a leader kept the lock and nothing was
   * published until someone restarted it. Each further step-down without a successful send in
   * between doubles both this threshold and the backoff (up to 16×): when Kafka is down for every
   * relay, leadership changes ever more rarely instead of rotating every 30 s. While backing off,
   * a relay still takes the lock once it has stayed free for 3 × leaderRetryMs (nobody else can
   * lead), so there is a leader when Kafka comes back. Default 30 s; 0 disables.
   */
  stepDownAfterMs?: number;
  /**
   * A Kafka call (producer connect with the topic check, one send) that has not settled after this
   * long counts as failed. A path to Kafka that accepts connections but never answers (a wedged
   * broker, a proxy or load balancer in front of a dead one) otherwise holds the relay in one call
   * for minutes — kafkajs waits its 30 s request timeout per attempt, times its retries — and
   * with it the step-down above, which is judged between calls. The producer is then replaced; a
   * send that did reach Kafka after all is sent again by the next batch (at-least-once). Above
   * the send's 10 s acknowledgement timeout. Default 20 s; 0 disables.
   */
  kafkaCallTimeoutMs?: number;
  /** Metrics registry (one relay per registry). */
  registry: client.Registry;
  logger?: KafkaLogger;
  /** Advisory-lock name; relays of one database with the same name elect one leader. Default `rota.outbox.relay`. */
  lockName?: string;
};

export type RelayRole = 'leader' | 'standby' | 'disconnected' | 'stopped';

export type RelayStatus = {
  role: RelayRole;
  /** Producer state of a leader: ok after the last send or connect succeeded. */
  kafka: { ok: boolean; detail: string };
  published: number;
  /** Set while the relay, having stepped down, stays out of the election (ISO time it rejoins). */
  steppedDownUntil?: string;
};

export type OutboxRelay = {
  /** Starts the election/publish loop in the background. */
  start(): void;
  /** Finishes the batch in flight (≤ 5 s), releases leadership, disconnects. */
  stop(): Promise<void>;
  status(): RelayStatus;
  /** A /readyz check: never required (a Kafka outage must not take the API out of service). */
  readiness(): Promise<{ name: string; ok: boolean; required: boolean; detail?: string }>;
};

type Row = { id: string; event_id: string; type: string; partition_key: string; envelope: string };

class KafkaPublishError extends Error {
  override readonly name = 'KafkaPublishError';
}

/** Step-downs in a row (no successful send between them) double the threshold and backoff up to 2^4. */
const MAX_STEP_DOWN_DOUBLINGS = 4;

/**
 * True when nobody holds the relay's advisory lock (pg_try_advisory_lock with a bigint key: the
 * key's high and low halves are pg_locks' classid and objid, objsubid 1).
 */
const LOCK_FREE_SQL = `
  WITH k AS (SELECT hashtextextended($1, 0) AS k)
  SELECT NOT EXISTS (
    SELECT 1 FROM pg_locks l, k
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid = ((k.k >> 32) & 4294967295)::oid AND l.objid = (k.k & 4294967295)::oid) AS free`;

const quiet = { debug() {}, info() {}, warn() {}, error() {} } satisfies KafkaLogger;

class Relay implements OutboxRelay {
  readonly #o: Required<Omit<RelayOptions, 'logger' | 'replication'>> & Pick<RelayOptions, 'replication'>;
  readonly #log: KafkaLogger;
  #client: pg.Client | undefined;
  #leader = false;
  #stopping = false;
  #dirty = false;
  #wake: (() => void) | undefined;
  #interrupt: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #producer: Producer | undefined;
  /** Bumped whenever the producer is dropped: a connect abandoned at its deadline that completes later is thrown away. */
  #producerGeneration = 0;
  #topicsReady = false;
  #kafka: { ok: boolean; detail: string } = { ok: true, detail: 'idle' };
  #published = 0;
  #lastPrune = 0;
  /** Rows deleted by the prune pass under way; undefined when none is. */
  #pruning: { deleted: number; since: number } | undefined;
  /** Start of the first Kafka call of the current leadership that failed since the last success. */
  #failingSince: number | undefined;
  /** Step-downs since this relay last published successfully. */
  #stepDowns = 0;
  /** Out of the election until then (epoch ms; 0: in it). */
  #benchedUntil = 0;
  /** While benched: since when the lock has been seen free. */
  #lockFreeSince: number | undefined;
  readonly #m: {
    leader: client.Gauge;
    published: client.Counter;
    errors: client.Counter<'stage'>;
    batch: client.Histogram;
    pruned: client.Counter;
    stepDowns: client.Counter;
  };

  constructor(o: RelayOptions) {
    this.#o = {
      topic: TOPIC_CHANGES,
      dlqTopic: TOPIC_CHANGES_DLQ,
      partitions: 12,
      batchSize: 500,
      pollMs: 1000,
      leaderRetryMs: 1000,
      sessionIdleTimeoutMs: 60_000,
      retentionHours: 24,
      pruneIntervalMs: 600_000,
      pruneChunkSize: 1_000,
      stepDownAfterMs: 30_000,
      kafkaCallTimeoutMs: 20_000,
      lockName: 'rota.outbox.relay',
      ...o,
    };
    this.#log = o.logger ?? quiet;
    const registers = [o.registry];
    this.#m = {
      leader: new client.Gauge({ name: 'outbox_relay_leader', help: '1 while this process is the active outbox relay', registers }),
      published: new client.Counter({ name: 'outbox_relay_published_total', help: 'Outbox events published to Kafka (acknowledged) by this process', registers }),
      errors: new client.Counter({ name: 'outbox_relay_errors_total', help: 'Relay failures by stage (kafka, postgres)', labelNames: ['stage'], registers }),
      batch: new client.Histogram({
        name: 'outbox_relay_batch_duration_seconds', help: 'One batch: select, Kafka send (acks=all), mark published',
        buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
      }),
      pruned: new client.Counter({ name: 'outbox_relay_pruned_total', help: 'Published outbox rows deleted after the retention period', registers }),
      stepDowns: new client.Counter({ name: 'outbox_relay_stepdowns_total', help: 'Times this process gave up leadership because its Kafka calls kept failing', registers }),
    };
    this.#m.leader.set(0);
    registerPendingGauges(o.registry, o.db);
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  status(): RelayStatus {
    const role: RelayRole = this.#stopping ? 'stopped' : this.#leader ? 'leader' : this.#client ? 'standby' : 'disconnected';
    const s: RelayStatus = { role, kafka: { ...this.#kafka }, published: this.#published };
    if (!this.#leader && this.#benchedUntil > Date.now()) s.steppedDownUntil = new Date(this.#benchedUntil).toISOString();
    return s;
  }

  async readiness(): Promise<{ name: string; ok: boolean; required: boolean; detail?: string }> {
    const s = this.status();
    if (s.steppedDownUntil !== undefined && s.role !== 'stopped') {
      return { name: 'outbox-relay', ok: false, required: false, detail: `stepped down (producer ${s.kafka.detail}); back in the election at ${s.steppedDownUntil}` };
    }
    const ok = s.role === 'standby' || (s.role === 'leader' && s.kafka.ok);
    const detail = s.role === 'leader' ? `leader; producer ${s.kafka.detail}` : s.role;
    return { name: 'outbox-relay', ok, required: false, detail };
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wake?.();
    this.#interrupt?.();
    // A send stuck on an unreachable broker must not hold the shutdown; its rows stay pending
    // and the next leader publishes them.
    if (this.#loop) await Promise.race([this.#loop, sleep(5_000)]);
    await this.#dropClient();
    await this.#resetProducer();
  }

  async #run(): Promise<void> {
    let backoff = 200;
    while (!this.#stopping) {
      try {
        const c = await this.#connect();
        if (!this.#leader) {
          const r = (await this.#benched(c)) ? undefined
            : await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [this.#o.lockName]);
          if (r?.rows[0]?.ok !== true) {
            await this.#pause(this.#o.leaderRetryMs);
            continue;
          }
          this.#leader = true;
          this.#failingSince = undefined;
          this.#lockFreeSince = undefined;
          this.#m.leader.set(1);
          this.#log.info({ lock: this.#o.lockName, steppedDownBefore: this.#stepDowns }, 'outbox relay is the leader');
        }
        // Connect the producer (and create the topics) as soon as we lead, so /readyz tells
        // the truth about Kafka before the first event.
        if (!this.#producer) await this.#kafkaCall(() => this.#ensureProducer());
        const more = await this.#publishBatch(c);
        await this.#pruneChunk(c);
        backoff = 200;
        // A prune pass under way goes on at the next turn, after the next batch.
        if (!more && !this.#pruning) await this.#waitForWake();
      } catch (err) {
        if (this.#stopping) break;
        if (err instanceof KafkaPublishError) {
          this.#m.errors.inc({ stage: 'kafka' });
          this.#log.warn({ err: err.cause ?? err, retryInMs: backoff }, 'outbox relay could not publish; rows stay pending');
          await this.#resetProducer();
          if (await this.#maybeStepDown()) {
            backoff = 200;
            continue;
          }
        } else {
          this.#m.errors.inc({ stage: 'postgres' });
          this.#log.warn({ err, retryInMs: backoff }, 'outbox relay lost its database session; re-electing');
          await this.#dropClient();
        }
        await this.#pause(backoff);
        // Capped low: one attempt every 2 s costs nothing, and Kafka's return is noticed quickly.
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  /** One batch; true when the batch was full (more rows are probably waiting). */
  async #publishBatch(c: pg.Client): Promise<boolean> {
    this.#dirty = false;
    const end = this.#m.batch.startTimer();
    const r = await c.query<Row>(
      // ORDER BY outbox.id, not the text alias `id`: '10' sorts before '2'.
      `SELECT id::text AS id, event_id::text AS event_id, type, partition_key, envelope::text AS envelope
         FROM outbox WHERE published_at IS NULL ORDER BY outbox.id LIMIT $1`, [this.#o.batchSize]);
    if (r.rows.length === 0) {
      // The producer is up and nothing waits: nothing is failing. (A successful connect alone
      // proves little: with a wrong advertised listener it succeeds and every send fails.)
      this.#failingSince = undefined;
      return false;
    }
    await this.#kafkaCall(async () => {
      const producer = await this.#ensureProducer();
      await producer.send({
        topic: this.#o.topic,
        acks: -1,
        timeout: 10_000,
        messages: r.rows.map((row) => ({
          key: row.partition_key,
          value: row.envelope,
          headers: { 'event-id': row.event_id, 'event-type': row.type },
        })),
      });
    });
    // Marked only after Kafka acknowledged (acks=all). Dying between the two re-sends the batch
    // from the next leader: at-least-once, and every consumer is idempotent.
    this.#failingSince = undefined;
    this.#stepDowns = 0;
    await c.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [r.rows.map((x) => x.id)]);
    this.#published += r.rows.length;
    this.#m.published.inc(r.rows.length);
    end();
    return r.rows.length === this.#o.batchSize;
  }

  /** Runs a Kafka operation; a failure becomes a KafkaPublishError and the producer state. */
  async #kafkaCall(fn: () => Promise<unknown>): Promise<void> {
    const started = Date.now();
    try {
      await this.#withDeadline(fn());
    } catch (err) {
      if (this.#leader) this.#failingSince ??= started;
      if (this.#kafka.ok) this.#kafka = { ok: false, detail: `failing since ${new Date().toISOString()}: ${(err as Error).message}` };
      throw new KafkaPublishError('kafka call failed', { cause: err });
    }
    this.#kafka = { ok: true, detail: 'connected' };
  }

  /** `call`, or a rejection once kafkaCallTimeoutMs has passed without an answer (the call is then abandoned). */
  #withDeadline<T>(call: Promise<T>): Promise<T> {
    const ms = this.#o.kafkaCallTimeoutMs;
    if (!(ms > 0)) return call;
    call.catch(() => {}); // an abandoned call's late failure is nobody's
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Kafka within ${ms} ms`)), ms);
    });
    return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
  }

  async #ensureProducer(): Promise<Producer> {
    if (!this.#topicsReady) {
      const created = await ensureTopics(this.#o.kafka, [
        { topic: this.#o.topic, numPartitions: this.#o.partitions, replication: this.#o.replication },
        { topic: this.#o.dlqTopic, numPartitions: this.#o.partitions, replication: this.#o.replication },
      ]);
      if (created.length > 0) this.#log.info({ topics: created, partitions: this.#o.partitions }, 'created Kafka topics');
      this.#topicsReady = true;
    }
    if (this.#producer) return this.#producer;
    // Idempotent: the broker drops a batch retried after a lost ack, and with one request in
    // flight per connection a retry cannot overtake the batch before it (per-key order kept).
    const p = this.#o.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    const generation = this.#producerGeneration;
    await p.connect();
    if (generation !== this.#producerGeneration) {
      // Connected after its deadline, when the relay had given up on it.
      void p.disconnect().catch(() => {});
      throw new Error('producer connected after its deadline; dropped');
    }
    this.#producer = p;
    this.#kafka = { ok: true, detail: 'connected' };
    return p;
  }

  /**
   * After a failed send the producer is replaced: a fresh producer id starts a fresh sequence,
   * so a batch that did reach the broker cannot wedge the next one (OutOfOrderSequence).
   */
  async #resetProducer(): Promise<void> {
    const p = this.#producer;
    this.#producer = undefined;
    this.#producerGeneration++;
    // Bounded: a disconnect from a broker that stopped answering must not hold the loop either.
    if (p) await this.#withDeadline(p.disconnect()).catch(() => {});
  }

  /** Threshold and backoff of the next step-down: stepDownAfterMs doubled per step-down in a row. */
  #stepDownMs(): number {
    return this.#o.stepDownAfterMs * 2 ** Math.min(this.#stepDowns, MAX_STEP_DOWN_DOUBLINGS);
  }

  /**
   * After a failed Kafka call of a leader: when its calls have failed without a break for the
   * threshold, releases the lock and benches the relay. Called with no batch in flight (the
   * failed call was awaited) and the producer already disconnected, so the next leader simply
   * finds the rows still pending: at worst it re-sends a batch that did reach the broker before
   * the failure, as after any failed send (at-least-once).
   */
  async #maybeStepDown(): Promise<boolean> {
    const c = this.#client;
    if (!this.#leader || !c || this.#o.stepDownAfterMs <= 0 || this.#failingSince === undefined) return false;
    const failingForMs = Date.now() - this.#failingSince;
    const thresholdMs = this.#stepDownMs();
    if (failingForMs < thresholdMs) return false;
    this.#stepDowns++;
    const backoffMs = thresholdMs;
    this.#benchedUntil = Date.now() + backoffMs;
    this.#lockFreeSince = undefined;
    this.#failingSince = undefined;
    this.#leader = false;
    this.#m.leader.set(0);
    this.#m.stepDowns.inc();
    this.#log.warn({ failingForMs, backoffMs, stepDowns: this.#stepDowns, kafka: this.#kafka.detail },
      'outbox relay stepped down: its Kafka calls keep failing; another relay may publish');
    try {
      await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.#o.lockName]);
    } catch {
      // Ending the session releases the lock all the same.
      await this.#dropClient();
    }
    return true;
  }

  /**
   * Whether a relay that stepped down should stay out of the election now. It stays out for its
   * backoff, unless the lock has been free for 3 × leaderRetryMs: every eligible standby tries it
   * each leaderRetryMs, so then there is none, and leading with a failing Kafka beats having no
   * leader when Kafka comes back.
   */
  async #benched(c: pg.Client): Promise<boolean> {
    if (this.#benchedUntil <= Date.now()) return false;
    const r = await c.query<{ free: boolean }>(LOCK_FREE_SQL, [this.#o.lockName]);
    if (r.rows[0]?.free !== true) {
      this.#lockFreeSince = undefined;
      return true;
    }
    this.#lockFreeSince ??= Date.now();
    return Date.now() - this.#lockFreeSince < 3 * this.#o.leaderRetryMs;
  }

  /**
   * One chunk of the prune pass under way, starting a pass every pruneIntervalMs. Chunks used to
   * run back to back inside one turn: millions of expired rows (retention lowered, a long outage)
   * held every new event back for the whole pass. Now the loop publishes a batch between chunks.
   */
  async #pruneChunk(c: pg.Client): Promise<void> {
    if (!this.#pruning) {
      if (Date.now() - this.#lastPrune < this.#o.pruneIntervalMs) return;
      this.#lastPrune = Date.now();
      this.#pruning = { deleted: 0, since: Date.now() };
    }
    const r = await c.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at < now() - $1::float8 * interval '1 hour' LIMIT $2)`,
      [this.#o.retentionHours, this.#o.pruneChunkSize]);
    const n = r.rowCount ?? 0;
    this.#m.pruned.inc(n);
    this.#pruning.deleted += n;
    if (n < this.#o.pruneChunkSize) {
      const { deleted, since } = this.#pruning;
      this.#pruning = undefined;
      if (deleted > 0) this.#log.info({ deleted, durationMs: Date.now() - since, retentionHours: this.#o.retentionHours }, 'pruned published outbox rows');
    }
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const c = new pg.Client({
      connectionString: this.#o.databaseUrl,
      application_name: 'rota-outbox-relay',
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
      statement_timeout: 30_000,
      query_timeout: 35_000,
    });
    c.on('error', (err) => {
      // The session is gone, and with it the lock: stop acting as leader right away.
      if (this.#client === c) {
        this.#log.warn({ err }, 'outbox relay database connection error');
        this.#lose();
      }
    });
    c.on('notification', () => {
      this.#dirty = true;
      this.#wake?.();
    });
    try {
      await c.connect();
      // If this process dies while its backend waits (e.g. on a row lock), Postgres would keep
      // the session — and the leadership — until that wait ends. With this the backend checks
      // its client socket every second and ends the session, so a standby can take over.
      await c.query("SET client_connection_check_interval = '1s'");
      if (this.#o.sessionIdleTimeoutMs > 0) {
        const idle = Math.ceil(Math.max(this.#o.sessionIdleTimeoutMs, 3 * this.#o.pollMs, 3 * this.#o.leaderRetryMs));
        await c.query(`SET idle_session_timeout = ${idle}`);
        // A live process keeps its session even while the loop sends it nothing — a Kafka outage
        // (connect and send retries) can keep a leader from Postgres for longer than the timeout.
        // A frozen process runs no timers: that is the session Postgres ends.
        const heartbeat = setInterval(() => { c.query('SELECT 1').catch(() => {}); }, Math.floor(idle / 3));
        heartbeat.unref();
        c.once('end', () => clearInterval(heartbeat));
      }
      await c.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    this.#client = c;
    return c;
  }

  #lose(): void {
    const c = this.#client;
    this.#client = undefined;
    if (this.#leader) this.#log.warn({}, 'outbox relay gave up leadership');
    this.#leader = false;
    this.#m.leader.set(0);
    this.#wake?.();
    if (c) void c.end().catch(() => {});
  }

  async #dropClient(): Promise<void> {
    const c = this.#client;
    this.#lose();
    // Ending the session releases the advisory lock.
    if (c) await c.end().catch(() => {});
  }

  /** Waits for a NOTIFY, the polling interval, or stop. */
  async #waitForWake(): Promise<void> {
    if (this.#dirty || this.#stopping) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, this.#o.pollMs);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
  }

  /** Sleeps, interrupted only by stop (a NOTIFY must not cut a backoff short). */
  async #pause(ms: number): Promise<void> {
    if (this.#stopping) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#interrupt = done;
    });
    this.#interrupt = undefined;
  }
}

/**
 * outbox_pending_events / outbox_oldest_pending_age_seconds, read at scrape time from the
 * partial index of pending rows. Every replica reports the same numbers (use max() across
 * instances); one query serves both gauges of a scrape.
 */
function registerPendingGauges(registry: client.Registry, db: Queryable): void {
  let cached: { at: number; value: Promise<{ n: number; age: number }> } | undefined;
  const read = (): Promise<{ n: number; age: number }> => {
    if (cached && Date.now() - cached.at < 500) return cached.value;
    const value = db.query<{ n: number; age: number }>(
      `SELECT count(*)::float8 AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
         FROM outbox WHERE published_at IS NULL`).then((r) => r.rows[0] ?? { n: 0, age: 0 });
    cached = { at: Date.now(), value };
    return value;
  };
  new client.Gauge({
    name: 'outbox_pending_events',
    help: 'Outbox rows not yet published to Kafka',
    registers: [registry],
    async collect() {
      try { this.set((await read()).n); } catch { /* keep the last value when Postgres is away */ }
    },
  });
  new client.Gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest unpublished outbox row (0 when none)',
    registers: [registry],
    async collect() {
      try { this.set((await read()).age); } catch { /* keep the last value */ }
    },
  });
}

/**
 * The transactional-outbox relay: every process may run one; a Postgres advisory lock elects the
 * single active one (see docs/events.md).
 */
export function createOutboxRelay(o: RelayOptions): OutboxRelay {
  return new Relay(o);
}
