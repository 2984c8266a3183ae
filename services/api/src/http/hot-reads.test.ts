import { describe, expect, test as base } from 'vitest';
import { apiFixture, type ApiResponse, type TestApi } from '../testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

/** http_hot_reads_total{result} from /metrics. */
async function hotReads(api: TestApi): Promise<Record<string, number>> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^http_hot_reads_total\{[^}]*result="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Header names the two paths must agree on (everything but per-request values). */
const headerNames = (r: ApiResponse): string[] => [...r.headers.keys()].filter((h) => !['date', 'connection', 'keep-alive'].includes(h)).sort();

describe('hot path of cached reads', () => {
  test('a repeat read is served by the hot path with the same bytes and headers as the full stack', async ({ api }) => {
    const { token } = await api.login('admin');
    const dept = await api.makeDepartment({ name: 'Ward' });
    await api.makeEmployee({ departmentId: dept, lastName: 'Adams' });
    const url = `/v1/employees?departmentId=${dept}&limit=10`;

    const miss = await api.request('GET', url, { token });
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const before = await hotReads(api);
    const hit = await api.request('GET', url, { token, headers: { 'x-request-id': 'trace-123' } });
    const after = await hotReads(api);
    expect(after['served']).toBe((before['served'] ?? 0) + 1);

    expect(hit.status).toBe(200);
    expect(hit.text).toBe(miss.text);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
    expect(hit.headers.get('x-request-id')).toBe('trace-123');
    expect(hit.headers.get('x-db-queries')).toBe('0');
    expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'));
    expect(hit.headers.get('content-security-policy')).toBe(miss.headers.get('content-security-policy'));
    expect(hit.headers.get('x-response-time')).toMatch(/^\d+\.\d\dms$/);
    expect(headerNames(hit)).toEqual(headerNames(miss));

    // If-None-Match → 304 from the hot path too.
    const notModified = await api.request('GET', url, { token, headers: { 'if-none-match': hit.headers.get('etag')! } });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect((await hotReads(api))['served']).toBe((before['served'] ?? 0) + 2);

    // The route's latency histogram counts hot answers under the route template.
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/v1\/employees"[^}]*status_code="304"[^}]*\} 1/);
  });

  test('after a write the hot path never serves the old bytes', async ({ api }) => {
    const { token } = await api.login('admin');
    const dept = await api.makeDepartment({ name: 'Ward' });
    const emp = await api.makeEmployee({ departmentId: dept, lastName: 'Before' });
    const url = `/v1/employees?departmentId=${dept}`;
    await api.request('GET', url, { token });
    expect((await api.request('GET', url, { token })).headers.get('x-cache')).toBe('HIT');

    const patched = await api.request('PATCH', `/v1/employees/${emp}`, { token, body: { lastName: 'After' } });
    expect(patched.status, patched.text).toBe(200);
    const fresh = await api.request('GET', url, { token });
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect(fresh.body.data.map((e: { lastName: string }) => e.lastName)).toContain('After');
    const again = await api.request('GET', url, { token });
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.text).toBe(fresh.text);
  });

  test('what one principal was served is never handed to another', async ({ api }) => {
    const a = await api.login('manager');
    const b = await api.login('manager');
    const emp = await api.request('GET', '/v1/employees', { token: a.token });
    expect(emp.status).toBe(200);
    expect((await api.request('GET', '/v1/employees', { token: a.token })).headers.get('x-cache')).toBe('HIT');
    // Same URL, another manager (another subtree): their own list, not a's.
    const other = await api.request('GET', '/v1/employees', { token: b.token });
    expect(other.status).toBe(200);
    expect(other.body.data.map((e: { id: string }) => e.id)).toEqual([b.employeeId]);
    // And a URL a was refused stays refused for a, whatever b was served.
    const bDept = `/v1/employees?departmentId=${b.departmentId}`;
    expect((await api.request('GET', bDept, { token: b.token })).status).toBe(200);
    expect((await api.request('GET', bDept, { token: b.token })).headers.get('x-cache')).toBe('HIT');
    expect((await api.request('GET', bDept, { token: a.token })).status).toBe(403);
  });

  test('a revoked API key is refused at once, even for a read the hot path knows', async ({ api }) => {
    const admin = await api.login('admin');
    const created = await api.request('POST', '/v1/api-keys', { token: admin.token, body: { name: 'reporting', role: 'admin' } });
    expect(created.status, created.text).toBe(201);
    const key = created.body.key as string;
    await api.request('GET', '/v1/departments/tree', { token: key });
    expect((await api.request('GET', '/v1/departments/tree', { token: key })).headers.get('x-cache')).toBe('HIT');
    expect((await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { token: admin.token })).status).toBe(204);
    expect((await api.request('GET', '/v1/departments/tree', { token: key })).status).toBe(401);
  });

  test('a user whose role changed goes through the full stack again', async ({ api }) => {
    const admin = await api.login('admin');
    const dept = await api.makeDepartment();
    const user = await api.makeEmployee({ departmentId: dept, role: 'manager' });
    const token = await api.tokenFor(user);
    const url = '/v1/analytics/overview?from=2026-01-01&to=2026-01-31';
    expect((await api.request('GET', url, { token })).status).toBe(200);
    expect((await api.request('GET', url, { token })).headers.get('x-cache')).toBe('HIT');
    const demoted = await api.request('PATCH', `/v1/employees/${user}`, { token: admin.token, body: { role: 'employee' } });
    expect(demoted.status, demoted.text).toBe(200);
    expect((await api.request('GET', url, { token })).status).toBe(403); // analytics are for managers and admins
  });

  test('with Redis failing, a known read still answers 200 from Postgres (BYPASS)', async ({ api }) => {
    const { token } = await api.login('admin');
    await api.request('GET', '/v1/departments/tree', { token });
    expect((await api.request('GET', '/v1/departments/tree', { token })).headers.get('x-cache')).toBe('HIT');
    api.deps.redis.disconnect(); // enableOfflineQueue: false → every command fails at once
    const r = await api.request('GET', '/v1/departments/tree', { token });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-cache')).toBe('BYPASS');
    expect((await hotReads(api))['loaded']).toBeGreaterThanOrEqual(1);
  });
});

describe('hot path misses (replayed loaders)', () => {
  test('after an invalidation the hot path loads and answers with what the full stack would send', async ({ api }) => {
    const { token } = await api.login('admin');
    const dept = await api.makeDepartment({ name: 'Ward' });
    const emp = await api.makeEmployee({ departmentId: dept, lastName: 'Before' });
    const url = `/v1/employees?departmentId=${dept}`;
    const first = await api.request('GET', url, { token }); // full stack: remembered with its loader
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect((await api.request('PATCH', `/v1/employees/${emp}`, { token, body: { lastName: 'After' } })).status).toBe(200);

    const before = await hotReads(api);
    const fresh = await api.request('GET', url, { token, headers: { 'x-request-id': 'trace-9' } });
    const after = await hotReads(api);
    expect(after['loaded']).toBe((before['loaded'] ?? 0) + 1);
    expect(after['passed'] ?? 0).toBe(before['passed'] ?? 0);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect(fresh.headers.get('x-request-id')).toBe('trace-9');
    expect(fresh.headers.get('x-db-queries')).toBe('1'); // the list's one query (the first request also authenticated)
    expect(headerNames(fresh)).toEqual(headerNames(first));
    expect(fresh.body.data.map((e: { lastName: string }) => e.lastName)).toEqual(['After']);

    // The fill it made is served next, byte for byte, and matches a full-stack load of the same URL.
    const hit = await api.request('GET', url, { token });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.text).toBe(fresh.text);
    const other = await api.login('admin'); // another principal: not in the memo, full stack
    const full = await api.request('GET', url, { token: other.token });
    expect(full.text).toBe(fresh.text);
  });

  test('a handler that reads data before the cache is never replayed: an employee moved, then the new department renamed', async ({ api }) => {
    const { token } = await api.login('admin');
    const a = await api.makeDepartment({ name: 'Alpha' });
    const b = await api.makeDepartment({ name: 'Beta' });
    const emp = await api.makeEmployee({ departmentId: a });
    const url = `/v1/employees/${emp}`;
    expect((await api.request('GET', url, { token })).body.departmentName).toBe('Alpha');
    expect((await api.request('GET', url, { token })).headers.get('x-cache')).toBe('HIT');
    expect((await api.request('PATCH', url, { token, body: { departmentId: b } })).status).toBe(200);

    const before = await hotReads(api);
    const moved = await api.request('GET', url, { token });
    expect(moved.body.departmentName).toBe('Beta');
    expect((await hotReads(api))['passed']).toBe((before['passed'] ?? 0) + 1); // full stack: scopes now name Beta
    expect((await api.request('GET', url, { token })).headers.get('x-cache')).toBe('HIT');

    expect((await api.request('PATCH', `/v1/departments/${b}`, { token, body: { name: 'Gamma' } })).status).toBe(200);
    expect((await api.request('GET', url, { token })).body.departmentName).toBe('Gamma');
  });

  test('a replayed loader that fails hands the request to the full stack (deleted → 404)', async ({ api }) => {
    const { token } = await api.login('admin');
    const dept = await api.makeDepartment();
    const tpl = await api.makeTemplate({ departmentId: dept, code: 'E1' });
    const url = `/v1/departments/${dept}/shift-templates/${tpl}`;
    expect((await api.request('GET', url, { token })).status).toBe(200);
    expect((await api.request('DELETE', url, { token })).status).toBe(204);
    const before = await hotReads(api);
    const gone = await api.request('GET', url, { token });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('not_found');
    expect((await hotReads(api))['passed']).toBe((before['passed'] ?? 0) + 1);
  });
});

describe('hot path memo bounds', () => {
  test('keeps at most maxEntries (principal, URL) pairs, dropping the oldest principal first', async () => {
    const { createHotReads } = await import('./hot-reads.ts');
    const { Registry } = await import('prom-client');
    const principal = (id: string) => ({ kind: 'user' as const, id, role: 'admin' as const, employeeId: id, departmentId: '1', departmentPath: '1', scopes: [] });
    const principals = new Map([['a', principal('1')], ['b', principal('2')], ['c', principal('3')]]);
    let peeks = 0;
    const hot = createHotReads({
      cache: {
        peek: async () => { peeks++; return { state: { entryKey: 'k' } }; },
        getOrLoad: async () => { throw new Error('not used: nothing remembered with a loader'); },
      },
      auth: { peek: (h) => principals.get(h) },
      db: { stats: () => [] },
      registry: new Registry(),
      staticHeaders: [],
      maxEntries: 4,
      maxUrlsPerPrincipal: 3,
    });
    const read = { ns: 'employees' as const, entryKey: 'k', versionKeys: [] };
    const known = async (who: string, url: string): Promise<boolean> => {
      const before = peeks;
      await new Promise<void>((resolve) => hot.handle({ method: 'GET', url, headers: { authorization: who } } as never, {} as never, resolve));
      return peeks > before;
    };
    for (const u of ['/1', '/2', '/3', '/4']) hot.remember(principals.get('a')!, u, read, '/r');
    expect(await known('a', '/1')).toBe(false); // a principal keeps its last 3 URLs
    expect(await known('a', '/4')).toBe(true);
    hot.remember(principals.get('b')!, '/1', read, '/r');
    hot.remember(principals.get('c')!, '/1', read, '/r'); // 5 pairs > 4: the oldest principal (a) goes
    expect(await known('a', '/4')).toBe(false);
    expect(await known('b', '/1')).toBe(true);
    expect(await known('c', '/1')).toBe(true);
    expect(await known('c', '/2')).toBe(false);
    const long = `/${'x'.repeat(600)}`;
    hot.remember(principals.get('c')!, long, read, '/r');
    expect(await known('c', long)).toBe(false); // longer than maxUrlLength: always the full stack
  });
});
