import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, test } from 'vitest';
import { uniqueName } from '@rota/testkit';
import { CacheUnavailableError, createCache } from './cache.ts';
import type { Cache, GetOrLoadRequest } from './cache.ts';
import { scopes } from './keys.ts';
import { PrivateRedis, freeStaticPort, metricValue } from './testing.ts';

const req = (load: () => Promise<string>): GetOrLoadRequest => ({
  ns: 'employees',
  key: { departmentId: 7 },
  scopes: [scopes.department(7)],
  load,
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function track(cache: Cache, redis: Redis): Cache {
  cleanup.push(() => redis.disconnect());
  cleanup.push(() => cache.close());
  return cache;
}

async function ready(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((res) => redis.once('ready', () => res()));
}

describe('fail-open', () => {
  test('unreachable Redis: getOrLoad serves from the loader as BYPASS, bump throws', async () => {
    const registry = new Registry();
    const redis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 100, retryStrategy: () => 100 });
    redis.on('error', () => {});
    const cache = track(createCache({ redis, registry, keyPrefix: uniqueName('cachet') }), redis);

    const started = performance.now();
    const r = await cache.getOrLoad(req(async () => 'from-postgres'));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(r.status).toBe('BYPASS');
    expect(r.body.toString()).toBe('from-postgres');
    expect(r.etag).toMatch(/^"/);

    await expect(cache.bump('employees', [scopes.department(7)])).rejects.toBeInstanceOf(CacheUnavailableError);
    await expect(cache.invalidate([{ ns: 'access', scopes: [scopes.employee(1)] }])).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(await metricValue(registry, 'cache_requests_total', { result: 'bypass' })).toBe(1);
    expect(await metricValue(registry, 'cache_errors_total', { operation: 'bump' })).toBe(2);
  });

  test('a loader error is still the caller\'s error when Redis is down', async () => {
    const redis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    redis.on('error', () => {});
    const cache = track(createCache({ redis, registry: new Registry(), keyPrefix: uniqueName('cachet') }), redis);
    await expect(cache.getOrLoad(req(async () => { throw new Error('pg down'); }))).rejects.toThrow('pg down');
  });

  test('the breaker opens while Redis is down and closes again once it is back', async () => {
    const server = new PrivateRedis(await freeStaticPort());
    await server.start();
    cleanup.push(() => server.stop());
    const redis = server.client();
    redis.on('error', () => {});
    await ready(redis);
    const registry = new Registry();
    const cache = track(createCache({
      redis,
      registry,
      keyPrefix: uniqueName('cachet'),
      timeoutMs: 500, // failures here are refused connections, not timeouts; spare a loaded CI box
      breaker: { name: 'redis-cache', volumeThreshold: 3, resetTimeoutMs: 300 },
      localCopies: { minEntryBytes: 1 }, // the fill leaves an in-process copy: never served without Redis
    }), redis);
    const state = () => metricValue(registry, 'circuit_breaker_state', { name: 'redis-cache' });

    let n = 0;
    const load = async () => `v${++n}`;
    expect((await cache.getOrLoad(req(load))).status).toBe('MISS');
    await cache.settled();
    expect((await cache.getOrLoad(req(load))).status).toBe('HIT');
    expect(await metricValue(registry, 'cache_local_copy_reads_total', { result: 'hit' })).toBe(1);
    expect(await state()).toBe(0);

    await server.stop();
    for (let i = 0; i < 6; i++) {
      const r = await cache.getOrLoad(req(load));
      expect(r.status).toBe('BYPASS');
      expect(r.body.toString()).toBe(`v${n}`);
    }
    expect(cache.breakerState).toBe('open');
    expect(await state()).toBe(2);
    expect(await metricValue(registry, 'circuit_breaker_events_total', { name: 'redis-cache', event: 'open' })).toBeGreaterThanOrEqual(1);
    expect(await metricValue(registry, 'circuit_breaker_events_total', { name: 'redis-cache', event: 'reject' })).toBeGreaterThanOrEqual(1);
    await expect(cache.bump('employees', [scopes.department(7)])).rejects.toBeInstanceOf(CacheUnavailableError);

    await server.start();
    const deadline = Date.now() + 10_000;
    let status = 'BYPASS';
    while (status === 'BYPASS' && Date.now() < deadline) {
      await sleep(100);
      status = (await cache.getOrLoad(req(load))).status;
    }
    expect(status).toBe('MISS'); // the new server is empty
    expect(cache.breakerState).toBe('closed');
    expect(await state()).toBe(0);
    expect(await metricValue(registry, 'circuit_breaker_events_total', { name: 'redis-cache', event: 'halfOpen' })).toBeGreaterThanOrEqual(1);
    expect(await metricValue(registry, 'circuit_breaker_events_total', { name: 'redis-cache', event: 'close' })).toBeGreaterThanOrEqual(1);
    await cache.settled();
    expect((await cache.getOrLoad(req(load))).status).toBe('HIT');
    await expect(cache.bump('employees', [scopes.department(7)])).resolves.toBeUndefined();
  });

  test('a slow Redis is cut off at the timeout and the request bypasses it', async () => {
    const server = new PrivateRedis(await freeStaticPort());
    await server.start();
    cleanup.push(() => server.stop());
    const redis = server.client();
    redis.on('error', () => {});
    await ready(redis);
    const blocker = server.client();
    await ready(blocker);
    cleanup.push(() => blocker.disconnect());
    const registry = new Registry();
    const cache = track(createCache({ redis, registry, keyPrefix: uniqueName('cachet'), timeoutMs: 50 }), redis);

    const sleeping = blocker.call('DEBUG', 'SLEEP', '0.5');
    await sleep(20);
    const started = performance.now();
    const r = await cache.getOrLoad(req(async () => 'pg'));
    const elapsed = performance.now() - started;
    expect(r.status).toBe('BYPASS');
    expect(elapsed).toBeLessThan(450); // Redis sleeps 500 ms: the answer did not wait for it
    expect(await metricValue(registry, 'circuit_breaker_events_total', { event: 'timeout' })).toBe(1);
    await sleeping;
  });
});
