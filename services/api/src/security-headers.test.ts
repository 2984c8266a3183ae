import { describe, expect, test as base } from 'vitest';
import { API_SECURITY_HEADERS } from './app.ts';
import { apiFixture, type ApiResponse, type TestApi } from './testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

/** Headers that belong to HTML documents only: never on an API response. */
const HTML_ONLY = ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection'];

function expectApiSet(r: ApiResponse): void {
  for (const [name, value] of API_SECURITY_HEADERS) expect(r.headers.get(name), name).toBe(value);
  for (const name of HTML_ONLY) expect(r.headers.get(name), name).toBeNull();
}

describe('security headers', () => {
  test('every API response carries the API set (OWASP REST), on the full stack and the hot path alike', async ({ api }) => {
    expect(Object.fromEntries(API_SECURITY_HEADERS)).toMatchObject({
      'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
    });
    const { token } = await api.login('admin');
    const dept = await api.makeDepartment();
    const url = `/v1/employees?departmentId=${dept}`;
    const miss = await api.request('GET', url, { token });
    const hit = await api.request('GET', url, { token });
    expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
    for (const r of [
      miss, hit,
      await api.request('GET', '/v1/me', { token }),
      await api.request('GET', '/v1/me'), // 401
      await api.request('GET', '/v1/nothing-here', { token }), // 404
      await api.request('POST', '/v1/departments', { token, rawBody: '{', headers: { 'content-type': 'application/json' } }), // 400
      await api.request('GET', '/openapi.json'),
      await api.request('GET', '/healthz'),
    ]) expectApiSet(r);
  });

  test('the rendered docs (an HTML page) get the browser set, with scripts and styles from the API only', async ({ api }) => {
    for (const path of ['/docs', '/docs/init.js']) {
      const r = await api.request('GET', path);
      expect(r.status).toBe(200);
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'self'");
      expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});
