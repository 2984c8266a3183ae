import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test as base } from 'vitest';
import { versionKey } from '@rota/cache';
import { apiFixture, type TestApi } from '../testing.ts';

// The replica is a second database that never replicates by itself (unbounded lag); the cache is
// off so that every read shows which database answered.
const test = base.extend<{ api: TestApi }>({ api: apiFixture({ readReplica: true, cache: 'none', env: { READ_YOUR_WRITES_MS: '1500' } }) });
const cached = base.extend<{ api: TestApi }>({ api: apiFixture({ readReplica: true, env: { DATABASE_READ_MAX_LAG_MS: '200' } }) });

describe('read replica and read-your-writes', () => {
  test("a writer's follow-up reads go to the writer for the window; everyone else reads the replica", async ({ api }) => {
    const a = await api.login('admin');
    const b = await api.login('admin');
    await api.syncReplica();

    const created = await api.request('POST', '/v1/departments', { token: a.token, body: { name: 'Night shift' } });
    expect(created.status, created.text).toBe(201);
    const url = `/v1/departments/${created.body.id}`;

    // The author sees their write at once, although the replica does not have it.
    const own = await api.request('GET', url, { token: a.token });
    expect(own.status, own.text).toBe(200);
    expect(own.body.name).toBe('Night shift');
    // Another principal reads the replica, which is behind.
    expect((await api.request('GET', url, { token: b.token })).status).toBe(404);

    // After the window the author is back on the replica too.
    await sleep(1700);
    expect((await api.request('GET', url, { token: a.token })).status).toBe(404);
    await api.syncReplica();
    expect((await api.request('GET', url, { token: b.token })).status).toBe(200);
  });

  cached("a writer's follow-up read answered by the hot path (a replayed loader) also goes to the writer", async ({ api }) => {
    const a = await api.login('admin');
    await api.syncReplica();
    const url = '/v1/departments?limit=200';
    const names = async (): Promise<string[]> => (await api.request('GET', url, { token: a.token })).body.data.map((d: { name: string }) => d.name);
    expect(await names()).not.toContain('Night shift'); // served by the full stack: remembered with its loader
    const created = await api.request('POST', '/v1/departments', { token: a.token, body: { name: 'Night shift' } });
    expect(created.status, created.text).toBe(201);
    const metrics = async (): Promise<number> => Number(/http_hot_reads_total\{[^}]*result="loaded"[^}]*\} (\d+)/.exec(await (await fetch(`${api.url}/metrics`)).text())?.[1] ?? 0);
    const loadedBefore = await metrics();
    expect(await names()).toContain('Night shift'); // the replica does not have it: the writer answered
    expect(await metrics()).toBe(loadedBefore + 1);
  });

  cached('with a replica, the scopes a write invalidated are invalidated again after the lag bound', async ({ api }) => {
    const a = await api.login('admin');
    await api.syncReplica();
    const key = versionKey('departments', 'all', api.prefix);
    const created = await api.request('POST', '/v1/departments', { token: a.token, body: { name: 'Ward' } });
    expect(created.status, created.text).toBe(201);
    const afterWrite = Number(await api.deps.redis.get(key));
    expect(afterWrite).toBeGreaterThan(0);
    await sleep(400);
    expect(Number(await api.deps.redis.get(key))).toBe(afterWrite + 1);
  });
});
