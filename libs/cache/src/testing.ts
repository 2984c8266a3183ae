// Test helpers for libs/cache (not exported from index.ts).
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { Registry } from 'prom-client';
import { test as base } from 'vitest';
import { PrivateRedis as TestkitRedis, uniqueName } from '@rota/testkit';
import { createCache } from './cache.ts';
import type { Cache, CacheOptions, LocalCopyOptions } from './cache.ts';

export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export type CacheFixtures = {
  redis: Redis;
  prefix: string;
  registry: Registry;
  /** makeCache's in-process copies unless a test passes its own (override per suite). */
  localCopies: LocalCopyOptions;
  /** A cache on the shared test Redis with this test's key prefix; closed after the test. */
  makeCache: (opts?: Partial<CacheOptions>) => Cache;
};

async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

export const test = base.extend<CacheFixtures>({
  redis: async ({}, use) => {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    await use(redis);
    redis.disconnect();
  },
  prefix: async ({ redis }, use) => {
    const prefix = uniqueName('cachet');
    await use(prefix);
    await deleteByPrefix(redis, prefix);
  },
  registry: async ({}, use) => {
    await use(new Registry());
  },
  localCopies: {},
  makeCache: async ({ redis, prefix, registry, localCopies }, use) => {
    const caches: Cache[] = [];
    await use((opts = {}) => {
      // A generous Redis timeout: on a loaded CI machine a 50 ms timeout turns a fill into a
      // BYPASS now and then; the timeout itself is tested in breaker.test.ts.
      const cache = createCache({ redis, registry, keyPrefix: prefix, earlyRefreshBeta: 0, timeoutMs: 2_000, localCopies, ...opts });
      caches.push(cache);
      return cache;
    });
    for (const c of caches) await c.close();
  },
});

/** Sum of a counter/gauge's values whose labels include `labels`. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  let sum = 0;
  for (const v of values) {
    if (Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want)) sum += v.value;
  }
  return sum;
}

export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export { freePort, freeStaticPort } from '@rota/testkit';

/** A throw-away redis-server of our own (DEBUG enabled), so a test can stop, slow and restart "Redis". */
export class PrivateRedis extends TestkitRedis {
  constructor(port: number) {
    super(port, ['--enable-debug-command', 'local']);
  }

  /** A client that fails fast and reconnects quickly, as a service would configure for its cache. */
  client(extra: RedisOptions = {}): Redis {
    const client = new Redis({
      host: '127.0.0.1',
      port: this.port,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: () => 50,
      connectTimeout: 200,
      ...extra,
    });
    client.on('error', () => {}); // reconnect noise while the test has "Redis" stopped
    return client;
  }
}
