/**
 * End-to-end harness: the services run as REAL child processes (the same `node <service>/src/main.ts`
 * a deployment runs) against a fresh database, a unique Redis key prefix and queue prefix, and
 * unique Kafka topics and consumer group. Tests and benchmarks get URLs, a login, process
 * kill/restart helpers and metric readers; `close()` tears everything down.
 *
 * Processes are started with the Node binary running the test (Node 24), not through `pnpm exec`:
 * a signal must reach the service itself (SIGKILL of a wrapper would orphan it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { hashPassword } from '@rota/domain';
import { createTestDatabase, uniqueName, type TestDatabase } from '@rota/testkit';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
export const DEFAULT_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const ADMIN_EMAIL = 'e2e-admin@example.com';
export const ADMIN_PASSWORD = 'e2e admin password 0123';

const API_MAIN = join(ROOT, 'services/api/src/main.ts');
const INVALIDATOR_MAIN = join(ROOT, 'services/cache-invalidator/src/main.ts');
const WORKER_MAIN = join(ROOT, 'services/scheduler-worker/src/main.ts');

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const addr = srv.address();
  await new Promise<void>((res) => srv.close(() => res()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** Sum of the samples of `name` whose labels include `labels`, from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls: Record<string, string> = {};
    for (const p of (m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) ls[p[1]!] = p[2]!;
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

export type ServiceKind = 'api' | 'invalidator' | 'worker';

/** One service process; restartable with the same environment. */
export class ServiceProcess {
  readonly name: string;
  readonly kind: ServiceKind;
  readonly script: string;
  env: Record<string, string>;
  #child: ChildProcess | undefined;
  #exit: Promise<number | null> | undefined;
  #lines: string[] = [];
  #port: number | undefined;
  #portWaiters: ((p: number) => void)[] = [];

  constructor(name: string, kind: ServiceKind, script: string, env: Record<string, string>) {
    this.name = name;
    this.kind = kind;
    this.script = script;
    this.env = env;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Port of the service's HTTP surface (API port, or /metrics port of the others). */
  get port(): number {
    if (this.#port === undefined) throw new Error(`${this.name} has no port yet`);
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Last log lines (stdout and stderr), for diagnostics. */
  logs(n = 60): string {
    return this.#lines.slice(-n).join('\n');
  }

  /** Parsed JSON log lines whose msg matches. */
  logged(msg: string | RegExp): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.#lines) {
      if (!l.startsWith('{')) continue;
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        if (typeof j['msg'] === 'string' && (typeof msg === 'string' ? j['msg'] === msg : msg.test(j['msg']))) out.push(j);
      } catch { /* not JSON */ }
    }
    return out;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.#port = this.kind === 'worker' ? Number(this.env['METRICS_PORT']) : undefined;
    const child = spawn(process.execPath, [this.script], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', NODE_NO_WARNINGS: '1', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exit = new Promise((res) => child.once('exit', (code) => res(code)));
    const onData = (buf: Buffer): void => {
      for (const line of buf.toString('utf8').split('\n')) {
        if (line === '') continue;
        this.#lines.push(line);
        if (this.#lines.length > 3000) this.#lines.splice(0, 1000);
        if (this.#port === undefined && line.startsWith('{') && line.includes('listening')) {
          try {
            const j = JSON.parse(line) as { port?: unknown };
            if (typeof j.port === 'number') {
              this.#port = j.port;
              for (const w of this.#portWaiters.splice(0)) w(j.port);
            }
          } catch { /* partial line */ }
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }

  /** Waits until the service answers: API /readyz 200, invalidator joined its group, worker /metrics. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.#port === undefined) {
      await Promise.race([
        new Promise<number>((res) => this.#portWaiters.push(res)),
        this.#exit!.then((code) => { throw new Error(`${this.name} exited (${code}) during start-up:\n${this.logs()}`); }),
        sleep(timeoutMs).then(() => { throw new Error(`${this.name} did not report its port:\n${this.logs()}`); }),
      ]);
    }
    const path = this.kind === 'api' ? '/readyz' : this.kind === 'invalidator' ? '/healthz' : '/metrics';
    await waitFor(`${this.name} ready`, async () => {
      if (!this.running) throw new Error(`${this.name} exited:\n${this.logs()}`);
      const r = await fetch(`${this.url}${path}`);
      if (r.status !== 200) return false;
      if (this.kind === 'invalidator') return ((await r.json()) as { joined?: boolean }).joined === true;
      return true;
    }, Math.max(1000, deadline - Date.now()), 100).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- ${this.name} log ---\n${this.logs()}`);
    });
  }

  /** Sends a signal and waits for the exit. SIGKILL by default (a crash). */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 20_000): Promise<number | null> {
    const child = this.#child;
    if (!child || !this.running) return child?.exitCode ?? null;
    child.kill(signal);
    const code = await Promise.race([this.#exit!, sleep(timeoutMs).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      child.kill('SIGKILL');
      return this.#exit!;
    }
    return code;
  }

  /** Graceful stop (SIGTERM), SIGKILL after 20 s. */
  stop(): Promise<number | null> {
    return this.kill('SIGTERM');
  }

  async restart(env: Record<string, string> = {}): Promise<void> {
    await this.stop();
    this.env = { ...this.env, ...env };
    this.start();
    await this.waitReady();
  }

  async metrics(): Promise<string> {
    const r = await fetch(`${this.url}/metrics`);
    return r.text();
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue(await this.metrics(), name, labels);
  }
}

export type HarnessOptions = {
  /** API processes (each runs a relay; one is the leader). Default 1. */
  apiReplicas?: number;
  /** Extra env for the API processes, e.g. `{ CACHE_INVALIDATE_ON_WRITE: 'false' }`. */
  apiEnv?: Record<string, string>;
  /** Start the cache-invalidator. Default true. */
  invalidator?: boolean;
  invalidatorEnv?: Record<string, string>;
  /** Start the scheduler-worker when services/scheduler-worker/src/main.ts exists. Default true. */
  worker?: boolean;
  workerEnv?: Record<string, string>;
  kafkaBrokers?: string;
  redisUrl?: string;
  /** LOG_LEVEL of every service. Default info (the harness reads ports from the logs). */
  logLevel?: string;
};

export type ApiResponse<T = any> = { status: number; headers: Headers; body: T; text: string };

export type Harness = {
  tdb: TestDatabase;
  /** Redis key prefix, BullMQ prefix, topics and group of this run. */
  prefix: string;
  queuePrefix: string;
  topic: string;
  dlqTopic: string;
  groupId: string;
  kafkaBrokers: string;
  redisUrl: string;
  /** A Redis client for inspection (version keys, entries). */
  redis: Redis;
  kafka: Kafka;
  apis: ServiceProcess[];
  api: ServiceProcess;
  invalidator: ServiceProcess | undefined;
  worker: ServiceProcess | undefined;
  /** The admin account created at start (root department `HQ`). */
  admin: { employeeId: string; departmentId: string; email: string; password: string };
  /** Logs in through POST /v1/auth/token and returns the bearer token. */
  login(email?: string, password?: string): Promise<string>;
  request<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; api?: ServiceProcess }): Promise<ApiResponse<T>>;
  /** Another API replica with the same settings (started and ready). */
  addApi(env?: Record<string, string>): Promise<ServiceProcess>;
  /** The API process whose relay currently holds leadership (by its outbox_relay_leader gauge). */
  relayLeader(): Promise<ServiceProcess | undefined>;
  /** Offsets committed by the invalidator's group, summed over partitions (-1 counts as 0). */
  committedOffsets(): Promise<number>;
  /** Log-end offsets of the changes topic, summed. */
  endOffsets(): Promise<number>;
  close(): Promise<void>;
};

async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const tdb = await createTestDatabase({ poolMax: 5 });
  const prefix = uniqueName('e2e');
  const queuePrefix = prefix.replace(/_/g, '-');
  const topic = `rota.changes.e2e.${prefix}`;
  const dlqTopic = `${topic}.dlq`;
  const groupId = `rota-cache-invalidator-${prefix}`;
  const kafkaBrokers = o.kafkaBrokers ?? DEFAULT_KAFKA_BROKERS;
  const redisUrl = o.redisUrl ?? DEFAULT_REDIS_URL;
  const serviceLogLevel = o.logLevel ?? 'info';
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  redis.on('error', () => {});
  const kafka = new Kafka({ clientId: `e2e-${prefix}`, brokers: kafkaBrokers.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 3 } });

  const common = {
    LOG_LEVEL: serviceLogLevel,
    DATABASE_URL: tdb.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    QUEUE_PREFIX: queuePrefix,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_TOPIC_CHANGES: topic,
    KAFKA_TOPIC_DLQ: dlqTopic,
  };
  const apiEnv = { ...common, PORT: '0', HOST: '127.0.0.1', DATABASE_POOL_MAX: '5', RELAY_POLL_MS: '500', ...o.apiEnv };
  const apis: ServiceProcess[] = [];
  let invalidator: ServiceProcess | undefined;
  let worker: ServiceProcess | undefined;

  // The admin (and the root department) exist before anything starts.
  const dept = await tdb.db.query<{ id: string }>(`INSERT INTO departments (name, timezone) VALUES ('HQ', 'UTC') RETURNING id`);
  const departmentId = dept.rows[0]!.id;
  const emp = await tdb.db.query<{ id: string }>(
    `INSERT INTO employees (email, first_name, last_name, role, department_id, password_hash)
     VALUES ($1, 'E2E', 'Admin', 'admin', $2, $3) RETURNING id`,
    [ADMIN_EMAIL, departmentId, await hashPassword(ADMIN_PASSWORD)]);
  const admin = { employeeId: emp.rows[0]!.id, departmentId, email: ADMIN_EMAIL, password: ADMIN_PASSWORD };

  const all = (): ServiceProcess[] => [...apis, ...(invalidator ? [invalidator] : []), ...(worker ? [worker] : [])];

  const h: Harness = {
    tdb, prefix, queuePrefix, topic, dlqTopic, groupId, kafkaBrokers, redisUrl, redis, kafka,
    apis,
    get api() { return apis[0]!; },
    get invalidator() { return invalidator; },
    get worker() { return worker; },
    admin,
    async login(email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
      const r = await h.request<{ accessToken: string }>('POST', '/v1/auth/token', { body: { email, password } });
      if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
      return r.body.accessToken;
    },
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${(opts.api ?? apis[0]!).url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
      return { status: res.status, headers: res.headers, body: parsed as any, text };
    },
    async addApi(env = {}) {
      const p = new ServiceProcess(`api-${apis.length + 1}`, 'api', API_MAIN, { ...apiEnv, ...env });
      apis.push(p);
      p.start();
      await p.waitReady();
      return p;
    },
    async relayLeader() {
      for (const a of apis) {
        if (!a.running) continue;
        if ((await a.metric('outbox_relay_leader').catch(() => 0)) === 1) return a;
      }
      return undefined;
    },
    async committedOffsets() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const r = await admin.fetchOffsets({ groupId, topics: [topic] });
        return (r[0]?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      } finally {
        await admin.disconnect();
      }
    },
    async endOffsets() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
      } finally {
        await admin.disconnect();
      }
    },
    async close() {
      await Promise.all(all().map((p) => p.stop().catch(() => null)));
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.deleteGroups([groupId]).catch(() => {});
        await admin.deleteTopics({ topics: [topic, dlqTopic], timeout: 10_000 }).catch(() => {});
      } catch { /* Kafka away (a test stopped it): the broker's retention cleans up */ }
      await admin.disconnect().catch(() => {});
      await deleteByPrefix(redis, prefix).catch(() => {});
      await deleteByPrefix(redis, queuePrefix).catch(() => {});
      redis.disconnect();
      await tdb.drop();
    },
  };

  try {
    const n = o.apiReplicas ?? 1;
    for (let i = 0; i < n; i++) {
      const p = new ServiceProcess(`api-${i + 1}`, 'api', API_MAIN, apiEnv);
      apis.push(p);
      p.start();
    }
    if (o.invalidator ?? true) {
      invalidator = new ServiceProcess('invalidator', 'invalidator', INVALIDATOR_MAIN, {
        ...common, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', KAFKA_GROUP_ID: groupId, LAG_REFRESH_MS: '500', ...o.invalidatorEnv,
      });
      invalidator.start();
    }
    if ((o.worker ?? true) && existsSync(WORKER_MAIN)) {
      worker = new ServiceProcess('worker', 'worker', WORKER_MAIN, {
        ...common, METRICS_PORT: String(await freePort()), METRICS_HOST: '127.0.0.1', ...o.workerEnv,
      });
      worker.start();
    }
    await Promise.all(all().map((p) => p.waitReady(60_000)));
    // The relay creates the topics when it first publishes; make sure they exist before tests
    // produce to them directly.
    await waitFor('changes topic', async () => {
      const a = kafka.admin();
      await a.connect();
      try {
        const topics = await a.listTopics();
        return topics.includes(topic) && topics.includes(dlqTopic);
      } finally {
        await a.disconnect();
      }
    }, 30_000, 250);
  } catch (e) {
    await h.close().catch(() => {});
    throw e;
  }
  return h;
}
