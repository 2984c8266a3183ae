// bench:cache-hit — what the versioned, guarded cache costs on a hit compared with the plainest
// cache-aside (one GET of the bytes), and what single flight saves on a cold hot key.
// Needs in bench/package.json: "@rota/cache": "workspace:*", "ioredis": "catalog:",
// "prom-client": "catalog:"; root script "bench:cache-hit": "node bench/cache-hit.ts".
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createCache, scopes } from '@rota/cache';
import { uniqueName } from '@rota/testkit';

const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const BODY_BYTES = Number(process.env['BENCH_BODY_BYTES'] ?? 8_192);
const STAMPEDE = Number(process.env['BENCH_STAMPEDE'] ?? 200);

const prefix = uniqueName('benchcache');
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const cache = createCache({ redis, registry: new Registry(), keyPrefix: prefix, timeoutMs: 1_000, earlyRefreshBeta: 0 });
const body = Buffer.from(JSON.stringify({ data: 'x'.repeat(BODY_BYTES - 30), nextCursor: null }));
const read = { ns: 'employees' as const, key: { departmentId: 7, includeSubdepartments: true }, scopes: [scopes.subtree(7), scopes.all] };

/** Runs `op` from CONCURRENCY loops for SECONDS; returns ops/s and p50/p99 latency in µs. */
async function measure(op: () => Promise<unknown>): Promise<{ opsPerSec: number; p50us: number; p99us: number }> {
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await op();
      lat.push(performance.now() - t);
    }
  }));
  lat.sort((a, b) => a - b);
  const q = (p: number): number => Math.round((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0) * 1000);
  return { opsPerSec: Math.round(lat.length / SECONDS), p50us: q(0.5), p99us: q(0.99) };
}

try {
  // Hits: the cache (Lua read of entry + 3 version counters, header parse, zero-copy body)…
  const first = await cache.getOrLoad({ ...read, load: async () => body });
  await cache.settled();
  let misses = 0;
  const hit = await measure(async () => {
    const r = await cache.getOrLoad({ ...read, load: async () => body });
    if (r.status !== 'HIT') misses++;
  });
  // …against the baseline: a plain GET of the same bytes under a fixed key.
  const plainKey = `${prefix}:plain`;
  await redis.set(plainKey, body);
  const baseline = await measure(() => redis.getBuffer(plainKey));

  // Stampede: STAMPEDE concurrent requests for a cold key whose load takes 50 ms.
  let loads = 0;
  const slowLoad = async (): Promise<Buffer> => {
    loads++;
    await sleep(50);
    return body;
  };
  await Promise.all(Array.from({ length: STAMPEDE }, () => cache.getOrLoad({ ...read, key: 'cold', load: slowLoad })));
  await cache.settled();
  let naiveLoads = 0;
  await Promise.all(Array.from({ length: STAMPEDE }, async () => {
    const cached = await redis.getBuffer(`${prefix}:naive`);
    if (cached === null) {
      naiveLoads++;
      await sleep(50);
      await redis.set(`${prefix}:naive`, body, 'PX', 60_000);
    }
  }));

  const result = {
    bench: 'cache-hit',
    bodyBytes: body.length,
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    hit: { ...hit, nonHits: misses, etag: first.etag },
    baseline: { kind: 'plain GET of the same bytes (no versions, no guard)', ...baseline },
    stampede: { requests: STAMPEDE, loads, naiveLoads },
    ratio: Number((hit.opsPerSec / baseline.opsPerSec).toFixed(3)),
    ratioStampedeLoads: Number((naiveLoads / Math.max(1, loads)).toFixed(1)),
  };
  console.log(`hit via @rota/cache   ${String(hit.opsPerSec).padStart(8)} ops/s  p50 ${hit.p50us} µs  p99 ${hit.p99us} µs`);
  console.log(`baseline plain GET    ${String(baseline.opsPerSec).padStart(8)} ops/s  p50 ${baseline.p50us} µs  p99 ${baseline.p99us} µs`);
  console.log(`stampede of ${STAMPEDE} on a cold key: ${loads} load(s) with single flight, ${naiveLoads} naive`);
  console.log(JSON.stringify(result));
} catch (e) {
  console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
} finally {
  await cache.close();
  const keys = await redis.keys(`${prefix}:*`); // bench clean-up only, never on a request path
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}
