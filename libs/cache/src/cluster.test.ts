// libs/cache on a real Redis Cluster (three masters started by the test): every read, fill,
// batched fill and invalidation runs on it without a CROSSSLOT error, namespaces spread over the
// nodes, and the guarantees hold as on one node.
import { Cluster, Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PrivateRedisCluster, uniqueName } from '@rota/testkit';
import { createCache } from './cache.ts';
import { createRedisClient, duplicateClient, type RedisClient } from './connect.ts';
import { entryKey, scopes, versionKey } from './keys.ts';
import { NAMESPACES } from './namespaces.ts';
import { deferred, metricValue } from './testing.ts';

const cluster = new PrivateRedisCluster(3);
let client: RedisClient;

beforeAll(async () => {
  await cluster.start();
  client = createRedisClient({ url: cluster.url, cluster: true }, { maxRetriesPerRequest: 1 });
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster.stop();
});

describe('createRedisClient', () => {
  test('REDIS_CLUSTER=false gives a single-node client; true a Cluster client that found every master from one seed', async () => {
    const single = createRedisClient({ url: cluster.url }, { lazyConnect: true });
    expect(single).toBeInstanceOf(Redis);
    single.disconnect();
    expect(client).toBeInstanceOf(Cluster);
    await client.ping();
    const masters = (client as Cluster).nodes('master').map((n) => n.options.port).sort();
    expect(masters).toEqual([...cluster.ports].sort());
  });

  test('a Cluster seed URL naming a database other than 0, or not redis(s)://, is refused with the variable named', () => {
    expect(() => createRedisClient({ url: `${cluster.url}/2`, cluster: true })).toThrow(/REDIS_URL: a Redis Cluster has only database 0/);
    expect(() => createRedisClient({ url: 'http://127.0.0.1:1', cluster: true })).toThrow(/REDIS_URL: .*redis:\/\/ or rediss:\/\//);
  });

  test('duplicateClient keeps the Cluster and applies the overrides to its nodes', async () => {
    const dup = duplicateClient(client, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    try {
      expect(dup).toBeInstanceOf(Cluster);
      expect((dup as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
      expect(await dup.ping()).toBe('PONG');
    } finally {
      dup.disconnect();
    }
  });
});

describe('the cache on a Redis Cluster', () => {
  test('miss → fill → hit, batched fills, and invalidation in every namespace; no Redis error', async () => {
    const registry = new Registry();
    const prefix = uniqueName('cl');
    // No in-process copies: every hit below is read from the cluster.
    const cache = createCache({ redis: client, registry, keyPrefix: prefix, earlyRefreshBeta: 0, timeoutMs: 2_000, localCopies: { maxBytes: 0 } });
    try {
      for (const ns of NAMESPACES) {
        const read = { ns, key: { page: 1 }, scopes: [scopes.department(7), scopes.subtree(1)] };
        let n = 0;
        const load = async (): Promise<string> => `${ns}:${++n}`;
        expect((await cache.getOrLoad({ ...read, load })).status).toBe('MISS');
        await cache.settled();
        const hit = await cache.getOrLoad({ ...read, load });
        expect([hit.status, hit.body.toString()]).toEqual(['HIT', `${ns}:1`]);
        await cache.bump(ns, [scopes.department(7)]);
        const after = await cache.getOrLoad({ ...read, load });
        expect([after.status, after.body.toString()]).toEqual(['MISS', `${ns}:2`]);
        await cache.settled();
      }
      // Small fills of one turn go as one script call per namespace (the batched path, taken
      // once the scopes' counters exist: the first fill creates them).
      await cache.getOrLoad({ ns: 'departments', key: { first: true }, scopes: [scopes.all], load: async () => 'first' });
      await cache.settled();
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        cache.getOrLoad({ ns: 'departments', key: { i }, scopes: [scopes.all], load: async () => `d${i}` })));
      expect(many.every((r) => r.status === 'MISS')).toBe(true);
      await cache.settled();
      const again = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        cache.getOrLoad({ ns: 'departments', key: { i }, scopes: [scopes.all], load: async () => 'reloaded' })));
      expect(again.map((r) => `${r.status} ${r.body.toString()}`)).toEqual(Array.from({ length: 20 }, (_, i) => `HIT d${i}`));
      // Several namespaces in one invalidate call: one script each, all sent at once.
      await cache.invalidate(NAMESPACES.map((ns) => ({ ns, scopes: [scopes.all, scopes.department(7)] })));
      expect((await cache.getOrLoad({ ns: 'departments', key: { i: 0 }, scopes: [scopes.all], load: async () => 'fresh' })).status).toBe('MISS');
      expect(await metricValue(registry, 'cache_redis_errors_total')).toBe(0);
      expect(await metricValue(registry, 'cache_fills_total', { result: 'error' })).toBe(0);
    } finally {
      await cache.close();
    }
  });

  test("a namespace's keys share one slot, and the namespaces spread over the masters", async () => {
    const c = client as Cluster;
    const slotOf = async (key: string): Promise<number> => Number(await c.cluster('KEYSLOT', key));
    const owners = new Set<number>();
    for (const ns of NAMESPACES) {
      const keys = [entryKey(ns, { a: 1 }, [scopes.all], 'rota'), versionKey(ns, '*', 'rota'), versionKey(ns, scopes.subtree(42), 'rota')];
      const slots = new Set(await Promise.all(keys.map(slotOf)));
      expect(slots.size, ns).toBe(1);
      const [slot] = slots;
      const owner = c.slots[slot!]?.[0];
      owners.add(Number(owner?.split(':')[1]));
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  test('a fill that raced an invalidation is not served afterwards, on the cluster as on one node', async () => {
    const registry = new Registry();
    const cache = createCache({ redis: client, registry, keyPrefix: uniqueName('clr'), earlyRefreshBeta: 0, timeoutMs: 2_000 });
    try {
      const gate = deferred<void>();
      const read = { ns: 'employees' as const, key: { id: 1 }, scopes: [scopes.employee(1)] };
      const slow = cache.getOrLoad({ ...read, load: async () => { await gate.promise; return 'old'; } });
      await new Promise((r) => setTimeout(r, 50));
      await cache.bump('employees', [scopes.employee(1)]);
      gate.resolve();
      expect((await slow).body.toString()).toBe('old'); // its own caller gets what it loaded
      await cache.settled();
      const next = await cache.getOrLoad({ ...read, load: async () => 'new' });
      expect([next.status, next.body.toString()]).toEqual(['MISS', 'new']);
      expect(await metricValue(registry, 'cache_fills_total', { result: 'rejected' })).toBe(1);
    } finally {
      await cache.close();
    }
  });
});
