/**
 * Test support for API tests: a real app on an ephemeral port, with its own database (cloned
 * from the migrated template), its own Redis key prefix and queue prefix; factories for the
 * entities; and login helpers. Used through the `api` fixture: `test.extend({ api: apiFixture() })`.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { coalesceWrites, createRedisClient } from '@rota/cache';
import { createDb } from '@rota/db';
import { createTestDatabase, uniqueName, type TestDatabase } from '@rota/testkit';
import { hashPassword, type Role } from '@rota/domain';
import { createLogger, createRegistry } from '@rota/telemetry';
import { createServer } from './app.ts';
import { createAuthenticator } from './auth/authenticate.ts';
import { forgetChannel, shareForgets } from './auth/shared-forget.ts';
import { createLoginLimiter } from './auth/login-limiter.ts';
import { createReadYourWrites } from './auth/read-your-writes.ts';
import { issueToken } from './auth/tokens.ts';
import { loadApiConfig, type ApiConfig } from './config.ts';
import type { Deps } from './deps.ts';
import { passThroughCache, type ResponseCache } from './http/cached.ts';
import { noGenerationQueue, type GenerationQueue } from './generation/queue.ts';
import { buildResponseCache } from './cache.ts';

export type ApiResponse<T = any> = { status: number; headers: Headers; body: T; text: string };

export type RequestOptions = { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> };

export type TestApi = {
  url: string;
  tdb: TestDatabase;
  deps: Deps;
  prefix: string;
  request<T = any>(method: string, path: string, opts?: RequestOptions): Promise<ApiResponse<T>>;
  /** A department (optionally below `parentId`). */
  makeDepartment(o?: { name?: string; parentId?: string | null; timezone?: string }): Promise<string>;
  /** An employee with a password; returns its id. */
  makeEmployee(o: { departmentId: string; role?: Role; email?: string; firstName?: string; lastName?: string; skills?: string[]; hourlyRate?: number; password?: string; active?: boolean }): Promise<string>;
  /** A JWT for an employee. */
  tokenFor(employeeId: string): Promise<string>;
  /** Department + employee of that role + token, in one call. */
  login(role: Role, departmentId?: string): Promise<{ token: string; employeeId: string; departmentId: string }>;
  makeTemplate(o: { departmentId: string; code?: string; start?: string; end?: string; skills?: string[] }): Promise<string>;
  /** With `readReplica`: copies departments and employees from the writer to the replica ("it caught up"). */
  syncReplica(): Promise<void>;
  close(): Promise<void>;
};

export type TestApiOptions = {
  /** Use the real Redis cache (default) or no cache at all. */
  cache?: 'redis' | 'none';
  env?: Record<string, string>;
  /** Cache call timeout (default 2 s: generous, so a loaded test machine does not cause BYPASS). */
  cacheTimeoutMs?: number;
  generation?: (deps: Omit<Deps, 'generation'>) => GenerationQueue;
  /**
   * A second database as read replica (DATABASE_READ_URL): `db.read` goes there. It starts empty
   * and never replicates by itself — a replica with unbounded lag; `syncReplica()` copies what a
   * test needs.
   */
  readReplica?: boolean;
};

let seq = 0;

export async function createTestApi(o: TestApiOptions = {}): Promise<TestApi> {
  const tdb = await createTestDatabase({ poolMax: 10 });
  const replica = o.readReplica ? await createTestDatabase({ poolMax: 2 }) : undefined;
  const prefix = uniqueName('rt');
  const config: ApiConfig = loadApiConfig({
    ...process.env, LOG_LEVEL: 'silent', REDIS_KEY_PREFIX: prefix, QUEUE_PREFIX: prefix.replace(/_/g, '-'), DATABASE_URL: tdb.url,
    ...(replica ? { DATABASE_READ_URL: replica.url } : {}), ...o.env,
  });
  const db = replica ? createDb({ url: tdb.url, readUrl: replica.url, applicationName: 'rota-test', max: 10 }) : tdb.db;
  const redis = createRedisClient({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER }, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: 500, enableOfflineQueue: false });
  redis.on('error', () => {});
  if (config.REDIS_COALESCE_WRITES && redis instanceof Redis) coalesceWrites(redis);
  const logger = createLogger('api-test', 'silent');
  const registry = createRegistry('api');
  const cache: ResponseCache = o.cache === 'none' ? passThroughCache : buildResponseCache({
    redis, prefix, registry, logger, timeoutMs: o.cacheTimeoutMs ?? 2000, rebumpAfterMs: replica ? config.DATABASE_READ_MAX_LAG_MS : 0,
  });
  const tokens = { secret: config.JWT_SECRET, ttlSeconds: config.JWT_TTL_SECONDS, issuer: config.JWT_ISSUER };
  const auth = shareForgets(createAuthenticator(db, tokens), { redis, channel: forgetChannel(prefix), logger });
  await auth.subscribed;
  const base: Omit<Deps, 'generation'> = {
    config, db, redis, cache, logger, registry, tokens, auth,
    ...(replica ? { readYourWrites: createReadYourWrites({ redis, prefix, windowMs: config.READ_YOUR_WRITES_MS, logger }) } : {}),
    loginLimiter: createLoginLimiter({ redis, prefix, perAccount: config.LOGIN_MAX_PER_ACCOUNT, perIp: config.LOGIN_MAX_PER_IP, windowSeconds: config.LOGIN_WINDOW_SECONDS }),
  };
  const deps: Deps = { ...base, generation: o.generation ? o.generation(base) : noGenerationQueue };
  const server: Server = await new Promise((resolve) => {
    const s = createServer(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const passwordHash = await hashPassword('correct horse battery staple');

  const api: TestApi = {
    url, tdb, deps, prefix,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.rawBody !== undefined) body = opts.rawBody;
      else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = undefined;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
      return { status: res.status, headers: res.headers, body: parsed as any, text };
    },
    async makeDepartment(d = {}) {
      const r = await tdb.db.query<{ id: string }>('INSERT INTO departments (name, parent_id, timezone) VALUES ($1, $2, $3) RETURNING id',
        [d.name ?? `Dept ${++seq}`, d.parentId ?? null, d.timezone ?? 'UTC']);
      return r.rows[0]!.id;
    },
    async makeEmployee(e) {
      const n = ++seq;
      const r = await tdb.db.query<{ id: string }>(
        `INSERT INTO employees (email, first_name, last_name, role, department_id, skills, hourly_rate, password_hash, active)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
        [e.email ?? `user${n}@example.com`, e.firstName ?? `First${n}`, e.lastName ?? `Last${n}`, e.role ?? 'employee', e.departmentId,
          e.skills ?? [], e.hourlyRate ?? 20, e.password ? await hashPassword(e.password) : passwordHash, e.active ?? true]);
      return r.rows[0]!.id;
    },
    async tokenFor(employeeId) {
      return (await issueToken(tokens, employeeId)).token;
    },
    async login(role, departmentId) {
      const dept = departmentId ?? (await api.makeDepartment());
      const employeeId = await api.makeEmployee({ departmentId: dept, role });
      return { token: await api.tokenFor(employeeId), employeeId, departmentId: dept };
    },
    async makeTemplate(t) {
      const r = await tdb.db.query<{ id: string }>(
        `INSERT INTO shift_templates (department_id, code, name, start_time, end_time, required_skills) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [t.departmentId, t.code ?? `T${++seq}`, `Template ${seq}`, t.start ?? '08:00', t.end ?? '16:00', t.skills ?? []]);
      return r.rows[0]!.id;
    },
    async syncReplica() {
      if (!replica) throw new Error('createTestApi: no readReplica');
      for (const table of ['departments', 'employees']) {
        const rows = await tdb.db.query(`SELECT coalesce(json_agg(t ORDER BY t.id), '[]') AS rows FROM ${table} t`);
        await replica.db.query(`TRUNCATE ${table} CASCADE`);
        await replica.db.query(`INSERT INTO ${table} OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(null::${table}, $1)`, [JSON.stringify(rows.rows[0]!.rows)]);
      }
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await deps.generation.close();
      auth.close();
      redis.disconnect();
      if (replica) {
        await db.end();
        await replica.drop();
      }
      await tdb.drop();
    },
  };
  return api;
}

/** vitest fixture: `const test = base.extend<{ api: TestApi }>({ api: apiFixture() })`. */
export function apiFixture(o: TestApiOptions = {}) {
  return async ({}: object, use: (api: TestApi) => Promise<void>): Promise<void> => {
    const api = await createTestApi(o);
    try {
      await use(api);
    } finally {
      await api.close();
    }
  };
}
