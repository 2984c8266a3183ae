// The baselines of bench:api, each a bare Express 5 server in its own process:
//   BASELINE=redis  one Redis GET of `${BASELINE_KEY_PREFIX}${url}` (the exact bytes the API returned), sent as is;
//   BASELINE=pg     the SQL the API ran for that URL (replayed from BASELINE_QUERIES, a JSON file
//                   { url: [{ text, values }] }) on a pg pool of the API's default size, answering
//                   JSON.stringify of the rows (one query: its rows; several: an array of row arrays).
//                   Sent the way the API sends it: a statement with parameters as a named
//                   (prepared) statement, so both sides skip Postgres's parse and plan alike.
//   BASELINE=cache-aside  the pg baseline behind the bare minimum of cache-aside: one Redis GET of
//                   `${BASELINE_KEY_PREFIX}${url}` before the query and one SET of the response
//                   after it (not awaited; PX 1 ms, so the next request misses again) — no guard,
//                   versions, breaker, single flight, ETag or metrics. Not a target: it shows how
//                   much of the API's miss cost is the pattern's own (docs/performance.md).
// Express's own ETag is off (the API sends a precomputed one), so the baselines do the least work.
// Same V8 setting as the API (services/api/src/main.ts): Buffers' memory counts toward the global
// heap limit, so neither side pays mark-compacts the other does not.
// Prints "listening <port>" once ready.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--external-memory-accounted-in-global-limit');

const mode = process.env['BASELINE'];
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
let close: () => Promise<void>;

if (mode === 'redis') {
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const prefix = process.env['BASELINE_KEY_PREFIX'] ?? '';
  app.use(async (req, res, next) => {
    try {
      const body = await redis.getBuffer(prefix + req.originalUrl);
      if (!body) { res.status(404).end(); return; }
      res.type('application/json').send(body);
    } catch (e) {
      next(e);
    }
  });
  close = async () => { redis.disconnect(); };
} else if (mode === 'pg' || mode === 'cache-aside') {
  const captured = JSON.parse(await readFile(process.env['BASELINE_QUERIES']!, 'utf8')) as Record<string, { text: string; values: unknown[] }[]>;
  const named = (q: { text: string; values: unknown[] }): pg.QueryConfig => ({ ...q, ...(q.values.length ? { name: createHash('sha1').update(q.text).digest('base64url') } : {}) });
  const queries = new Map(Object.entries(captured).map(([url, qs]) => [url, qs.map(named)]));
  const pool = new pg.Pool({
    connectionString: process.env['DATABASE_URL'],
    max: Number(process.env['DATABASE_POOL_MAX'] ?? 20),
    idleTimeoutMillis: Number(process.env['DATABASE_POOL_IDLE_TIMEOUT_MS'] ?? 30_000), // the API's default
  });
  const redis = mode === 'cache-aside' ? new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 }) : undefined;
  const prefix = process.env['BASELINE_KEY_PREFIX'] ?? '';
  app.use(async (req, res, next) => {
    try {
      const qs = queries.get(req.originalUrl);
      if (!qs) { res.status(404).end(); return; }
      const cached = redis ? await redis.getBuffer(prefix + req.originalUrl) : null;
      if (cached) { res.type('application/json').send(cached); return; }
      const rows: unknown[][] = [];
      for (const q of qs) rows.push((await pool.query(q)).rows);
      const body = JSON.stringify(rows.length === 1 ? rows[0] : rows);
      redis?.set(prefix + req.originalUrl, body, 'PX', 1).catch(() => {});
      res.type('application/json').send(body);
    } catch (e) {
      next(e);
    }
  });
  close = async () => { redis?.disconnect(); await pool.end(); };
} else {
  throw new Error('BASELINE must be redis, pg or cache-aside');
}

const server = app.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => {
  server.close();
  server.closeIdleConnections();
  void close().then(() => process.exit(0));
});
