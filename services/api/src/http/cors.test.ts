import { describe, expect, it, test as base } from 'vitest';
import { loadApiConfig } from '../config.ts';
import { apiFixture, type ApiResponse, type TestApi } from '../testing.ts';

const APP = 'https://app.example.com';
const DEV = 'http://localhost:5173';
const OTHER = 'https://evil.example.net';

const withList = base.extend<{ api: TestApi }>({ api: apiFixture({ env: { CORS_ORIGINS: ` ${APP}, ${DEV} ` } }) });
const withAny = base.extend<{ api: TestApi }>({ api: apiFixture({ env: { CORS_ORIGINS: '*' } }) });
const off = base.extend<{ api: TestApi }>({ api: apiFixture() });

function expectAllowed(r: ApiResponse, origin: string): void {
  expect(r.headers.get('access-control-allow-origin'), `${r.status}`).toBe(origin);
  expect(r.headers.get('vary') ?? '').toMatch(/\bOrigin\b/);
  expect(r.headers.get('access-control-expose-headers') ?? '').toContain('X-Cache');
  expect(r.headers.get('access-control-allow-credentials')).toBeNull();
}

const preflight = (api: TestApi, origin: string, path = '/v1/employees') => api.request('OPTIONS', path, {
  headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' },
});

describe('CORS with an origin list', () => {
  withList('an allowed origin gets its own origin back on the full stack, the hot path and errors alike', async ({ api }) => {
    const { token } = await api.login('admin');
    const dept = await api.makeDepartment();
    const url = `/v1/employees?departmentId=${dept}`;
    const headers = { origin: DEV };
    const miss = await api.request('GET', url, { token, headers });
    const hit = await api.request('GET', url, { token, headers });
    expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
    for (const r of [
      miss, hit,
      await api.request('GET', '/v1/me', { headers }), // 401: the page can read why
      await api.request('POST', '/v1/departments', { token, headers: { ...headers, 'content-type': 'application/json' }, rawBody: '{' }), // 400
      await api.request('GET', '/v1/nothing-here', { token, headers }), // 404
    ]) expectAllowed(r, DEV);
  });

  withList('another origin is answered as usual, without an allow header', async ({ api }) => {
    const { token } = await api.login('admin');
    const dept = await api.makeDepartment();
    const url = `/v1/departments/${dept}`;
    for (const r of [await api.request('GET', url, { token, headers: { origin: OTHER } }), await api.request('GET', url, { token, headers: { origin: OTHER } })]) {
      expect(r.status).toBe(200);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      expect(r.headers.get('vary') ?? '').toMatch(/\bOrigin\b/);
    }
    // The list is exact: no prefix, suffix or scheme match.
    for (const origin of [`${APP}.evil.net`, 'http://app.example.com', 'https://example.com']) {
      expect((await api.request('GET', url, { token, headers: { origin } })).headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  withList('a preflight is answered before authentication: 204 with the methods and headers allowed', async ({ api }) => {
    const r = await preflight(api, APP);
    expect(r.status).toBe(204);
    expectAllowed(r, APP);
    expect(r.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect((r.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('authorization');
    expect(r.headers.get('access-control-max-age')).toBe('600');
    const denied = await preflight(api, OTHER);
    expect(denied.status).toBe(204);
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    expect(denied.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('CORS for any origin', () => {
  withAny('answers *, with no Vary on Origin', async ({ api }) => {
    const { token } = await api.login('admin');
    const r = await api.request('GET', '/v1/me', { token, headers: { origin: OTHER } });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('vary') ?? '').not.toMatch(/\bOrigin\b/);
    expect((await preflight(api, OTHER)).headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('CORS off (the default)', () => {
  off('adds nothing, and a preflight is not answered', async ({ api }) => {
    const { token } = await api.login('admin');
    const r = await api.request('GET', '/v1/me', { token, headers: { origin: APP } });
    expect(r.status).toBe(200);
    expect([...r.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([]);
    expect(r.headers.get('vary') ?? '').not.toMatch(/\bOrigin\b/);
    const p = await preflight(api, APP);
    expect(p.status).not.toBe(204);
    expect(p.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS_ORIGINS', () => {
  it.each(['https://app.example.com/', 'https://app.example.com/path', 'ftp://app.example.com', 'HTTPS://APP.EXAMPLE.COM', 'app.example.com', 'https://a.example.com, nope'])('refuses %j, naming the variable', (v) => {
    expect(() => loadApiConfig({ CORS_ORIGINS: v })).toThrow(/CORS_ORIGINS/);
  });

  it('parses a list, and defaults to off', () => {
    expect(loadApiConfig({ CORS_ORIGINS: `${APP},http://localhost:8080, *` }).CORS_ORIGINS).toEqual([APP, 'http://localhost:8080', '*']);
    expect(loadApiConfig({}).CORS_ORIGINS).toEqual([]);
  });
});
