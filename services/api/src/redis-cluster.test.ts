// The API and the scheduler worker on a real Redis Cluster (three masters started by the test,
// REDIS_CLUSTER=true with one seed node in REDIS_URL): login limiting, cached reads and their
// invalidation after a write, a revoked credential shared between instances, and a schedule
// generation through BullMQ — no CROSSSLOT error anywhere, every queue key in one slot.
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createScenario, queueKeyPrefix } from '@rota/generation';
import { PrivateRedisCluster } from '@rota/testkit';
import { realQueue, startWorker, waitFor } from './routes/generation/testing.ts';
import { createTestApi, type TestApi } from './testing.ts';

const cluster = new PrivateRedisCluster(3);
let api: TestApi;

beforeAll(async () => {
  await cluster.start();
  api = await createTestApi({ env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', LOGIN_MAX_PER_ACCOUNT: '3' }, generation: realQueue });
  // The client fails fast (no offline queue) until it has the slot map: requests before that are
  // served as with Redis down (BYPASS, in-memory login limits), which is not what is tested here.
  await waitFor('the cluster client to be ready', async () => api.deps.redis.status === 'ready', 10_000);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await cluster.stop();
});

/** Every key of the cluster (SCAN on each master). */
async function allKeys(c: Cluster): Promise<string[]> {
  const keys: string[] = [];
  for (const node of c.nodes('master')) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}

describe('the API on a Redis Cluster', () => {
  test('login limiting counts in the cluster: the 4th wrong password of an account is refused (429)', async () => {
    const dept = await api.makeDepartment();
    await api.makeEmployee({ departmentId: dept, email: 'cluster@example.com' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await api.request('POST', '/v1/auth/token', { body: { email: 'cluster@example.com', password: 'wrong password!' } })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Counted in Redis (the limiter's in-memory stand-in is for Redis outages only).
    const c = api.deps.redis as Cluster;
    expect(await c.exists(`${api.prefix}:login:account:cluster@example.com`)).toBe(1);
  });

  test('cached reads: MISS then HIT, and a write is visible to the next read (post-commit invalidation)', async () => {
    const { token, departmentId } = await api.login('admin');
    const url = `/v1/departments/${departmentId}`;
    const first = await api.request('GET', url, { token });
    const second = await api.request('GET', url, { token });
    expect([first.status, first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual([200, 'MISS', 'HIT']);
    const patch = await api.request('PATCH', url, { token, body: { name: 'Renamed on the cluster' } });
    expect(patch.status).toBe(200);
    const after = await api.request('GET', url, { token });
    expect([after.headers.get('x-cache'), after.body.name]).toEqual(['MISS', 'Renamed on the cluster']);
    // Tree and list reads too (other namespaces, other slots).
    for (const path of ['/v1/departments/tree', `/v1/employees?departmentId=${departmentId}`]) {
      const a = await api.request('GET', path, { token });
      const b = await api.request('GET', path, { token });
      expect([path, a.status, a.headers.get('x-cache'), b.headers.get('x-cache')]).toEqual([path, 200, 'MISS', 'HIT']);
    }
    const errors = await api.deps.registry.getSingleMetric('cache_errors_total')?.get();
    expect(errors?.values.reduce((s, v) => s + v.value, 0) ?? 0).toBe(0);
  });

  test('a schedule generation runs through BullMQ on the cluster; all queue keys share the {QUEUE_PREFIX} slot', { timeout: 60_000 }, async () => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 4, periodStart: '2030-01-07', days: 7 });
    const worker = startWorker(api);
    try {
      const post = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 1 } },
      });
      expect(post.status).toBe(202);
      const run = await waitFor('run to succeed', async () => {
        const r = await api.request('GET', `/v1/schedule-generations/${post.body.id}`, { token });
        return ['succeeded', 'failed'].includes(r.body.status) ? r.body : undefined;
      }, 40_000);
      expect(run).toMatchObject({ status: 'succeeded', error: null });
      expect(run.result.hardViolations).toBe(0);
      const c = api.deps.redis as Cluster;
      const tag = queueKeyPrefix(api.deps.config.QUEUE_PREFIX);
      const queueKeys = (await allKeys(c)).filter((k) => k.startsWith(`${tag}:`));
      expect(queueKeys.length).toBeGreaterThan(3); // meta, id, events, completed, the job …
      const slots = new Set(await Promise.all(queueKeys.map(async (k) => Number(await c.cluster('KEYSLOT', k)))));
      expect(slots.size).toBe(1);
    } finally {
      await worker.close(0);
    }
  });
});
