import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test as base } from 'vitest';
import { createServer } from '../app.ts';
import { apiFixture, type TestApi } from '../testing.ts';
import { createAuthenticator, type Authenticator } from './authenticate.ts';
import { forgetChannel, shareForgets, type SharedForget } from './shared-forget.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

/** A second API instance on the same database and Redis, with its own authenticator memo. */
async function secondInstance(api: TestApi, auth: Authenticator): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const s = createServer({ ...api.deps, auth }).listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/** Polls `url` with `token` until it answers `status` (or `ms` passed); returns how long that took. */
async function until(url: string, token: string, status: number, ms: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    const r = await fetch(`${url}/v1/employees`, { headers: { authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    if (r.status === status) return performance.now() - started;
    await sleep(20);
  }
  return Infinity;
}

describe('forgotten principals are shared between instances', () => {
  test('a key revoked on one instance is refused by another at once, not after the 5-s memo', async ({ api }) => {
    const shared = shareForgets(createAuthenticator(api.deps.db, api.deps.tokens), { redis: api.deps.redis, channel: forgetChannel(api.prefix), logger: api.deps.logger });
    await shared.subscribed;
    const other = await secondInstance(api, shared);
    try {
      const admin = await api.login('admin');
      const created = await api.request('POST', '/v1/api-keys', { token: admin.token, body: { name: 'sync', role: 'admin' } });
      expect(created.status, created.text).toBe(201);
      const key: string = created.body.key;
      // Both instances have resolved (and memoised) the key.
      expect(await until(other.url, key, 200, 2_000)).toBeLessThan(2_000);
      expect((await api.request('GET', '/v1/employees', { token: key })).status).toBe(200);

      expect((await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { token: admin.token })).status).toBe(204);
      expect((await api.request('GET', '/v1/employees', { token: key })).status).toBe(401);
      expect(await until(other.url, key, 401, 2_000)).toBeLessThan(2_000); // the memo alone would say 200 for ~5 s
    } finally {
      await other.close();
      shared.close();
    }
  });

  test('a deactivated user is refused by another instance at once; a malformed message is ignored', async ({ api }) => {
    const shared: SharedForget = shareForgets(createAuthenticator(api.deps.db, api.deps.tokens), { redis: api.deps.redis, channel: forgetChannel(api.prefix), logger: api.deps.logger });
    await shared.subscribed;
    const other = await secondInstance(api, shared);
    try {
      const admin = await api.login('admin');
      const user = await api.login('employee');
      expect(await until(other.url, user.token, 200, 2_000)).toBeLessThan(2_000);
      await api.deps.redis.publish(forgetChannel(api.prefix), 'not json');
      await api.deps.redis.publish(forgetChannel(api.prefix), JSON.stringify({ kind: 'robot', id: user.employeeId }));
      expect((await api.request('DELETE', `/v1/employees/${user.employeeId}`, { token: admin.token })).status).toBe(204);
      expect(await until(other.url, user.token, 401, 2_000)).toBeLessThan(2_000);
    } finally {
      await other.close();
      shared.close();
    }
  });
});
