// An in-process API on the bench database, without cache, whose db `onQuery` hook records every
// query's text and bound values by request id: running one request per URL yields the exact SQL
// the API runs on a miss, which the pg baseline replays. Also mints the admin API key the load
// uses (through the real POST /v1/api-keys).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { createDb } from '@rota/db';
import { createLogger, createRegistry } from '@rota/telemetry';
import { createServer } from '../../services/api/src/app.ts';
import { createAuthenticator } from '../../services/api/src/auth/authenticate.ts';
import { createLoginLimiter } from '../../services/api/src/auth/login-limiter.ts';
import { issueToken } from '../../services/api/src/auth/tokens.ts';
import { loadApiConfig } from '../../services/api/src/config.ts';
import type { Deps } from '../../services/api/src/deps.ts';
import { noGenerationQueue } from '../../services/api/src/generation/queue.ts';
import { passThroughCache } from '../../services/api/src/http/cached.ts';

export type CapturedQuery = { text: string; values: unknown[] };

export type Capturer = {
  /** Runs GET `path` once; returns the queries it ran (authentication's own queries left out). */
  capture(path: string, headers: Record<string, string>): Promise<{ status: number; queries: CapturedQuery[] }>;
  /** A new admin API key (rk_…) created through the API with a JWT of the seeded admin. */
  createAdminKey(name: string): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
};

const AUTH_QUERY = /\b(api_keys)\b|^\s*SELECT e\.role, e\.department_id, d\.path::text AS path, e\.active/;

export async function startCapturer(databaseUrl: string, redisUrl: string, prefix: string): Promise<Capturer> {
  const config = loadApiConfig({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOG_LEVEL: 'silent', REDIS_KEY_PREFIX: prefix, QUEUE_PREFIX: prefix.replace(/_/g, '-'), RELAY_ENABLED: 'false' });
  const byRequest = new Map<string, CapturedQuery[]>();
  const db = createDb({
    url: databaseUrl,
    max: 4,
    applicationName: 'rota-bench-capture',
    onQuery: (e) => {
      if (!e.requestId || e.error) return;
      byRequest.get(e.requestId)?.push({ text: e.text, values: [...(e.values ?? [])] });
    },
  });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const tokens = { secret: config.JWT_SECRET, ttlSeconds: config.JWT_TTL_SECONDS, issuer: config.JWT_ISSUER };
  const deps: Deps = {
    config, db, redis, cache: passThroughCache, logger: createLogger('bench-capture', 'silent'), registry: createRegistry('api'), tokens,
    auth: createAuthenticator(db, tokens),
    loginLimiter: createLoginLimiter({ redis, prefix, perAccount: 100, perIp: 100, windowSeconds: 60 }),
    generation: noGenerationQueue,
  };
  const server: Server = await new Promise((resolve) => {
    const s = createServer(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let seq = 0;

  return {
    async capture(path, headers) {
      const id = `bench-capture-${++seq}`;
      const list: CapturedQuery[] = [];
      byRequest.set(id, list);
      const res = await fetch(base + path, { headers: { ...headers, 'x-request-id': id } });
      await res.arrayBuffer();
      byRequest.delete(id);
      return { status: res.status, queries: list.filter((q) => !AUTH_QUERY.test(q.text)) };
    },
    async createAdminKey(name) {
      const admin = await db.query<{ id: string }>(`SELECT id FROM employees WHERE role = 'admin' AND active ORDER BY id LIMIT 1`);
      const { token } = await issueToken(tokens, admin.rows[0]!.id);
      const res = await fetch(`${base}/v1/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, role: 'admin' }),
      });
      if (res.status !== 201) throw new Error(`creating the bench API key failed: ${res.status} ${await res.text()}`);
      const body = await res.json() as { id: string; key: string };
      return { id: body.id, key: body.key };
    },
    async close() {
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      redis.disconnect();
      await db.end();
    },
  };
}
