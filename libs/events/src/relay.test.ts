import net from 'node:net';
// The outbox relay against real Postgres and Kafka: order per key, marking after the ack, LISTEN
// wake-up, advisory-lock leadership and take-over, pruning, and the pending gauges.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { test as base, describe, expect } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { createTestDatabase, uniqueName, type TestDatabase } from '@rota/testkit';
import { recordEvent } from './outbox.ts';
import { createOutboxRelay, type OutboxRelay, type RelayOptions } from './relay.ts';
import { createKafka, parseBrokers, type KafkaLogger } from './relay-kafka.ts';

const BROKERS = parseBrokers(process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092');

type Fixtures = {
  tdb: TestDatabase;
  kafka: Kafka;
  topic: string;
  makeRelay: (o?: Partial<RelayOptions>) => { relay: OutboxRelay; registry: Registry };
};

const test = base.extend<Fixtures>({
  tdb: async ({}, use) => {
    const t = await createTestDatabase();
    await use(t);
    await t.drop();
  },
  kafka: async ({}, use) => {
    await use(createKafka({ brokers: BROKERS, clientId: uniqueName('relay-test') }));
  },
  topic: async ({ kafka }, use) => {
    const topic = `rota.test.relay.${uniqueName('t')}`;
    await use(topic);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
    await admin.disconnect();
  },
  makeRelay: async ({ tdb, kafka, topic }, use) => {
    const relays: OutboxRelay[] = [];
    await use((o = {}) => {
      const registry = new Registry();
      const relay = createOutboxRelay({
        databaseUrl: tdb.url, db: tdb.db, kafka, topic, dlqTopic: `${topic}.dlq`, registry, pollMs: 200, leaderRetryMs: 200,
        ...o,
      });
      relays.push(relay);
      return { relay, registry };
    });
    await Promise.all(relays.map((r) => r.stop()));
  },
});

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function gauge(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  return (await m.get()).values.reduce((s, v) => s + v.value, 0);
}

async function insertEvents(tdb: TestDatabase, n: number, depts: readonly string[]): Promise<void> {
  await tdb.db.tx(async (q) => {
    for (let i = 0; i < n; i++) {
      const d = depts[i % depts.length]!;
      await recordEvent(q, { type: 'employee.updated', aggregate: { type: 'employee', id: String(i + 1) }, departmentIds: [d], ancestorDepartmentIds: [], employeeIds: [String(i + 1)], payload: { seq: i } });
    }
  });
}

/** A client whose every call fails at once (a closed port, no retries): Kafka down for this relay. */
function downKafka(): Kafka {
  return new Kafka({ clientId: uniqueName('relay-down'), brokers: ['127.0.0.1:1'], retry: { retries: 0 }, logLevel: logLevel.NOTHING });
}

type StepDown = { relay: number; at: number; failingForMs: number; backoffMs: number };

/** A logger that records the relay's step-down lines. */
function stepDownLog(relay: number, into: StepDown[]): KafkaLogger {
  const none = (): void => {};
  return {
    debug: none, info: none, error: none,
    warn(o, msg) {
      if (msg.startsWith('outbox relay stepped down')) into.push({ relay, at: Date.now(), ...(o as { failingForMs: number; backoffMs: number }) });
    },
  };
}

async function pendingCount(tdb: TestDatabase): Promise<number> {
  const r = await tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
  return r.rows[0]!.n;
}

type Msg = { key: string; partition: number; offset: number; value: { id: string; payload: { seq: number } }; headers: Record<string, string> };

async function readTopic(kafka: Kafka, topic: string, expected: number): Promise<Msg[]> {
  const groupId = uniqueName('relay-test-reader');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  const out: Msg[] = [];
  const seen = new Set<string>();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        // A rebalance of this reader may deliver a record twice; count each record once.
        if (seen.has(`${partition}:${message.offset}`)) return;
        seen.add(`${partition}:${message.offset}`);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
        out.push({ key: message.key!.toString(), partition, offset: Number(message.offset), value: JSON.parse(message.value!.toString()), headers });
      },
    });
    await until(`${expected} messages`, async () => out.length >= expected, 20_000);
    await sleep(300); // nothing beyond the expected ones
    return out;
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
}

describe('outbox relay', () => {
  test('publishes pending rows keyed by department, in order per key, and marks them after the ack', async ({ tdb, kafka, topic, makeRelay }) => {
    await insertEvents(tdb, 30, ['11', '22', '33']);
    const { relay, registry } = makeRelay({ batchSize: 7 });
    expect(await gauge(registry, 'outbox_pending_events')).toBe(30);
    expect(await gauge(registry, 'outbox_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(0);
    relay.start();
    await until('all published', async () => (await pendingCount(tdb)) === 0);
    expect(relay.status()).toMatchObject({ role: 'leader', kafka: { ok: true }, published: 30 });
    expect(await gauge(registry, 'outbox_relay_published_total')).toBe(30);
    expect(await gauge(registry, 'outbox_relay_leader')).toBe(1);
    await sleep(600); // the 500 ms gauge cache
    expect(await gauge(registry, 'outbox_pending_events')).toBe(0);

    const msgs = await readTopic(kafka, topic, 30);
    expect(msgs).toHaveLength(30);
    const rows = await tdb.db.query<{ event_id: string; partition_key: string }>('SELECT event_id::text, partition_key FROM outbox ORDER BY id');
    for (const key of ['11', '22', '33']) {
      // Order in the partition's log (delivery order to this reader may differ after a rebalance).
      const sent = msgs.filter((m) => m.key === key).sort((x, y) => x.offset - y.offset);
      expect(new Set(sent.map((m) => m.partition)).size).toBe(1);
      expect(sent.map((m) => m.value.id)).toEqual(rows.rows.filter((r) => r.partition_key === key).map((r) => r.event_id));
      expect(sent.every((m) => m.headers['event-type'] === 'employee.updated' && m.headers['event-id'] === m.value.id)).toBe(true);
    }
    const admin = kafka.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic, `${topic}.dlq`] });
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    expect(meta.topics.map((t) => t.partitions.length)).toEqual([12, 12]);
    // No duplicates on the happy path: exactly one record per row.
    expect(ends.reduce((n, p) => n + Number(p.high), 0)).toBe(30);
  });

  test('wakes up on NOTIFY at commit, not on the polling interval', async ({ tdb, makeRelay }) => {
    const { relay } = makeRelay({ pollMs: 60_000 });
    relay.start();
    await until('leader', async () => relay.status().role === 'leader' && relay.status().kafka.detail === 'connected');
    await sleep(300);
    const start = Date.now();
    await insertEvents(tdb, 1, ['5']);
    await until('published', async () => (await pendingCount(tdb)) === 0, 10_000);
    // Far below the 60 s poll: only the NOTIFY can have woken it.
    expect(Date.now() - start).toBeLessThan(10_000);
  });

  test('one leader at a time; a standby takes over when the leader\'s session dies, and nothing is lost', async ({ tdb, kafka, topic, makeRelay }) => {
    const a = makeRelay();
    const b = makeRelay();
    a.relay.start();
    b.relay.start();
    await until('a leader', async () => [a, b].some((r) => r.relay.status().role === 'leader'));
    await sleep(800); // several standby retries
    const roles = [a, b].map((r) => r.relay.status().role).sort();
    expect(roles).toEqual(['leader', 'standby']);
    const leader = a.relay.status().role === 'leader' ? a : b;
    const standby = leader === a ? b : a;

    await insertEvents(tdb, 20, ['1', '2']);
    await until('first batch published', async () => (await pendingCount(tdb)) === 0);
    // The leader's session dies (as when its process is killed): Postgres releases the lock.
    const killed = Date.now();
    await tdb.db.query(
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()`);
    await insertEvents(tdb, 20, ['1', '2']);
    // The dead session's relay reconnects and competes again, so either may win; what matters is
    // that a leader is back within 5 s and that there is only one.
    await until('a new leader', async () => standby.relay.status().role === 'leader' || (leader.relay.status().role === 'leader' && leader.relay.status().published > 20), 5_000);
    expect(Date.now() - killed).toBeLessThan(5_000);
    await until('all published', async () => (await pendingCount(tdb)) === 0);
    await sleep(500);
    expect([a, b].map((r) => r.relay.status().role).sort()).toEqual(['leader', 'standby']);

    const msgs = await readTopic(kafka, topic, 40);
    const ids = await tdb.db.query<{ event_id: string }>('SELECT event_id::text FROM outbox');
    const seen = new Set(msgs.map((m) => m.value.id));
    for (const r of ids.rows) expect(seen.has(r.event_id)).toBe(true);
  });

  test('stop() hands leadership over', async ({ makeRelay }) => {
    const a = makeRelay();
    a.relay.start();
    await until('a leads', async () => a.relay.status().role === 'leader');
    const b = makeRelay();
    b.relay.start();
    await sleep(500);
    expect(b.relay.status().role).toBe('standby');
    await a.relay.stop();
    await until('b leads', async () => b.relay.status().role === 'leader', 5_000);
  });

  test('prunes published rows older than the retention', async ({ tdb, makeRelay }) => {
    await insertEvents(tdb, 5, ['9']);
    const { relay, registry } = makeRelay({ retentionHours: 0, pruneIntervalMs: 100 });
    relay.start();
    await until('pruned', async () => {
      const r = await tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
      return r.rows[0]!.n === 0;
    });
    expect(await gauge(registry, 'outbox_relay_pruned_total')).toBe(5);
  });

  test('prunes a large backlog one chunk per turn, publishing new rows in between', async ({ tdb, makeRelay }) => {
    // As after retention was lowered or an outage: far more expired rows than one chunk.
    const backlog = 50_000;
    await tdb.db.query(
      `INSERT INTO outbox (event_id, type, partition_key, envelope, created_at, published_at)
       SELECT gen_random_uuid(), 'employee.updated', '1', '{}', now() - interval '3 days', now() - interval '2 days'
         FROM generate_series(1, $1)`, [backlog]);
    const expired = async (): Promise<number> =>
      (await tdb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE published_at < now() - interval '1 day'`)).rows[0]!.n;
    const { relay, registry } = makeRelay({ retentionHours: 24, pruneChunkSize: 100 });
    relay.start();
    await until('the prune under way', async () => (await gauge(registry, 'outbox_relay_pruned_total')) > 0);
    await insertEvents(tdb, 1, ['7']);
    await until('the new row published', async () => (await pendingCount(tdb)) === 0);
    // Published between two chunks, not after the whole pass (which deleted 5 000-row chunks
    // back to back, publishing nothing until the backlog was gone).
    expect(await expired()).toBeGreaterThan(0);
    await until('the backlog pruned', async () => (await expired()) === 0, 60_000);
    expect(await gauge(registry, 'outbox_relay_pruned_total')).toBe(backlog);
    expect((await tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]!.n).toBe(1);
  });

  test('keeps rows pending while Kafka is unreachable and reports it', async ({ tdb, makeRelay }) => {
    const unreachable = createKafka({ brokers: ['127.0.0.1:1'], clientId: uniqueName('relay-down'), connectionTimeoutMs: 200 });
    await insertEvents(tdb, 3, ['4']);
    const { relay } = makeRelay({ kafka: unreachable });
    relay.start();
    await until('kafka failure reported', async () => relay.status().role === 'leader' && !relay.status().kafka.ok, 20_000);
    expect(await pendingCount(tdb)).toBe(3);
    const check = await relay.readiness();
    expect(check).toMatchObject({ name: 'outbox-relay', ok: false, required: false });
  });

  test('a leader whose own Kafka keeps failing steps down, and a standby with a working Kafka publishes', async ({ tdb, kafka, topic, makeRelay }) => {
    // The leader's path to Kafka is broken (a closed port: wrong listener, network, auth), the
    // standby's is not. Before, the leader kept the lock and nothing was published until restart.
    const unreachable = createKafka({ brokers: ['127.0.0.1:1'], clientId: uniqueName('relay-down'), connectionTimeoutMs: 200 });
    const broken = makeRelay({ kafka: unreachable, stepDownAfterMs: 1_000 });
    broken.relay.start();
    await until('the broken relay leads', async () => broken.relay.status().role === 'leader');
    const healthy = makeRelay({ stepDownAfterMs: 1_000 });
    healthy.relay.start();
    await insertEvents(tdb, 20, ['1', '2']);
    await until('published by the standby', async () => (await pendingCount(tdb)) === 0, 20_000);
    expect(healthy.relay.status()).toMatchObject({ role: 'leader', published: 20 });
    expect(broken.relay.status()).toMatchObject({ role: 'standby', published: 0 });
    expect(await gauge(broken.registry, 'outbox_relay_stepdowns_total')).toBe(1);
    expect(await gauge(broken.registry, 'outbox_relay_leader')).toBe(0);
    expect(await broken.relay.readiness()).toMatchObject({ ok: false, detail: expect.stringMatching(/^stepped down/) });
    const msgs = await readTopic(kafka, topic, 20);
    const ids = await tdb.db.query<{ event_id: string }>('SELECT event_id::text FROM outbox');
    expect(new Set(msgs.map((m) => m.value.id))).toEqual(new Set(ids.rows.map((r) => r.event_id)));
  });

  test('a leader whose Kafka accepts connections but never answers steps down at its call deadline; a standby publishes', async ({ tdb, kafka, topic, makeRelay }) => {
    // A wedged broker, or a proxy in front of a dead one: TCP connects, no reply ever comes.
    // kafkajs alone would wait 30 s per request attempt, times its retries, before a call failed.
    const silent = net.createServer((socket) => { socket.on('data', () => {}); socket.on('error', () => {}); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets = new Set<net.Socket>();
    silent.on('connection', (s) => sockets.add(s));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const wedged = createKafka({ brokers: [`127.0.0.1:${port}`], clientId: uniqueName('relay-wedged') });
      const broken = makeRelay({ kafka: wedged, stepDownAfterMs: 1_000, kafkaCallTimeoutMs: 500 });
      broken.relay.start();
      await until('the wedged relay leads', async () => broken.relay.status().role === 'leader');
      const led = Date.now();
      await insertEvents(tdb, 5, ['1']);
      await until('the wedged relay steps down', async () => (await gauge(broken.registry, 'outbox_relay_stepdowns_total')) === 1, 10_000);
      expect(Date.now() - led).toBeLessThan(10_000);
      expect(broken.relay.status().kafka).toMatchObject({ ok: false, detail: expect.stringContaining('no answer from Kafka within 500 ms') });
      const healthy = makeRelay({ stepDownAfterMs: 1_000 });
      healthy.relay.start();
      await until('published by the standby', async () => (await pendingCount(tdb)) === 0, 20_000);
      expect(healthy.relay.status()).toMatchObject({ role: 'leader', published: 5 });
      expect(broken.relay.status()).toMatchObject({ published: 0 });
      expect(new Set((await readTopic(kafka, topic, 5)).map((m) => m.value.id)).size).toBe(5);
      await broken.relay.stop();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('when Kafka fails for every relay, leadership changes ever more rarely and no row is lost', async ({ tdb, makeRelay }) => {
    await insertEvents(tdb, 3, ['4']);
    const log: StepDown[] = [];
    const relays = [0, 1].map((i) => makeRelay({ kafka: downKafka(), stepDownAfterMs: 300, logger: stepDownLog(i, log) }).relay);
    for (const r of relays) r.start();
    let maxLeaders = 0;
    await until('6 step-downs', async () => {
      maxLeaders = Math.max(maxLeaders, relays.filter((r) => r.status().role === 'leader').length);
      return log.length >= 6;
    }, 30_000);
    expect(maxLeaders).toBe(1);
    // The k-th step-down of a relay in a row comes after 300 ms × 2^(k−1) of failing, and its
    // backoff is as long: without the doubling they would take turns every ~0.3 s for ever.
    for (const i of [0, 1]) {
      const mine = log.filter((s) => s.relay === i);
      expect(mine.length).toBeGreaterThanOrEqual(2);
      mine.forEach((s, k) => {
        expect(s.failingForMs).toBeGreaterThanOrEqual(300 * 2 ** k);
        expect(s.backoffMs).toBe(300 * 2 ** k);
      });
    }
    expect(await pendingCount(tdb)).toBe(3);
  }, 60_000);

  test('a relay that stepped down takes the lock back once nobody else does, before its backoff ends', async ({ tdb, makeRelay }) => {
    await insertEvents(tdb, 1, ['4']);
    const log: StepDown[] = [];
    const { relay, registry } = makeRelay({ kafka: downKafka(), stepDownAfterMs: 2_000, leaderRetryMs: 100, logger: stepDownLog(0, log) });
    relay.start();
    await until('stepped down', async () => log.length === 1 && relay.status().role !== 'leader', 20_000);
    expect(relay.status().steppedDownUntil).toBeDefined();
    expect(await relay.readiness()).toMatchObject({ ok: false, detail: expect.stringMatching(/^stepped down/) });
    // Its backoff is 2 s; the lock stays free (no other relay), so it leads again after 3 × 100 ms:
    // with Kafka down everywhere a leader is there to publish the moment Kafka returns.
    await until('leading again', async () => relay.status().role === 'leader', 20_000);
    expect(Date.now() - log[0]!.at).toBeLessThan(log[0]!.backoffMs);
    expect(await gauge(registry, 'outbox_relay_stepdowns_total')).toBe(1);
    expect(await pendingCount(tdb)).toBe(1);
  });

  test('a leader kept from Postgres by a Kafka outage keeps its session past the idle timeout', async ({ tdb, makeRelay }) => {
    const unreachable = createKafka({ brokers: ['127.0.0.1:1'], clientId: uniqueName('relay-down'), connectionTimeoutMs: 200 });
    await insertEvents(tdb, 1, ['4']);
    // Idle timeout 1 s (3 × the 200 ms intervals is less). While Kafka is down the loop only
    // retries the producer: it sends Postgres nothing.
    const { relay, registry } = makeRelay({ kafka: unreachable, sessionIdleTimeoutMs: 1_000 });
    relay.start();
    await until('leader, Kafka failing', async () => relay.status().role === 'leader' && !relay.status().kafka.ok, 20_000);
    await sleep(3_500);
    expect(relay.status().role).toBe('leader');
    const errors = await registry.getSingleMetric('outbox_relay_errors_total')!.get();
    expect(errors.values.filter((v) => v.labels['stage'] === 'postgres').reduce((n, v) => n + v.value, 0)).toBe(0);
  });
});
