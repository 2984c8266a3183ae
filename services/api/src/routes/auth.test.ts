import { SignJWT } from 'jose';
import { describe, expect, test as base } from 'vitest';
import { apiFixture, type ApiResponse, type TestApi } from '../testing.ts';

// Small limits so a test reaches them; hop count 1 as behind the one ingress of infra/k8s.
const test = base.extend<{ api: TestApi }>({ api: apiFixture({ env: { LOGIN_MAX_PER_ACCOUNT: '3', LOGIN_MAX_PER_IP: '5', TRUST_PROXY: '1' } }) });

const PASSWORD = 'correct horse battery staple';

function login(api: TestApi, email: string, password: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return api.request('POST', '/v1/auth/token', { body: { email, password }, headers });
}

function expectError(r: ApiResponse, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.body).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
}

function expectRetryAfter(r: ApiResponse, windowSeconds = 900): void {
  expectError(r, 429, 'rate_limited');
  const wait = Number(r.headers.get('retry-after'));
  expect(wait).toBeGreaterThan(0);
  expect(wait).toBeLessThanOrEqual(windowSeconds);
}

describe('POST /v1/auth/token', () => {
  test('a wrong password, an unknown email and an inactive account get 401 with the error shape', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    await api.makeEmployee({ departmentId, email: 'ok@example.com' });
    await api.makeEmployee({ departmentId, email: 'gone@example.com', active: false });
    expectError(await login(api, 'ok@example.com', 'not the password'), 401, 'unauthenticated');
    expectError(await login(api, 'nobody@example.com', PASSWORD), 401, 'unauthenticated');
    expectError(await login(api, 'gone@example.com', PASSWORD), 401, 'unauthenticated');
    const ok = await login(api, 'ok@example.com', PASSWORD);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ accessToken: expect.any(String), tokenType: 'Bearer' });
  });

  test('failed logins per account: past the limit 429 with Retry-After, even with the right password; a success clears the count', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    await api.makeEmployee({ departmentId, email: 'ada@example.com' });
    await api.makeEmployee({ departmentId, email: 'bob@example.com' });
    // A failure, then a success clears the account's count (without it the third failure below would be a 429).
    expectError(await login(api, 'ada@example.com', 'wrong password'), 401, 'unauthenticated');
    expect((await login(api, 'ada@example.com', PASSWORD)).status).toBe(200);
    for (let i = 0; i < 3; i++) expectError(await login(api, 'ADA@example.com', 'wrong password'), 401, 'unauthenticated');
    expectRetryAfter(await login(api, 'ada@example.com', PASSWORD));
    // Refused attempts check no password: they are not failures of the address.
    for (let i = 0; i < 3; i++) expectRetryAfter(await login(api, 'ada@example.com', 'wrong password'));
    // Another account from the same address is not affected (4 failures < 5 per IP).
    expect((await login(api, 'bob@example.com', PASSWORD)).status).toBe(200);
  });

  test('parallel guesses get no more attempts than sequential ones (an attempt counts from its start)', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    await api.makeEmployee({ departmentId, email: 'ada@example.com' });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => login(api, 'ada@example.com', `guess ${i}`)));
    expect(results.filter((r) => r.status === 401)).toHaveLength(3);
    for (const r of results.filter((x) => x.status !== 401)) expectRetryAfter(r);
  });

  test('failed logins per IP: past the limit 429 with Retry-After for any account from that address', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    await api.makeEmployee({ departmentId, email: 'ada@example.com' });
    for (let i = 0; i < 5; i++) expectError(await login(api, `guess${i}@example.com`, 'wrong password'), 401, 'unauthenticated');
    expectRetryAfter(await login(api, 'ada@example.com', PASSWORD));
    expectRetryAfter(await login(api, 'someone@example.com', 'wrong password'));
  });

  test('successful logins are not counted: more users than the per-IP limit log in from one address', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    const emails = Array.from({ length: 8 }, (_, i) => `shift${i}@example.com`);
    for (const email of emails) await api.makeEmployee({ departmentId, email });
    for (const email of emails) {
      const r = await login(api, email, PASSWORD);
      expect(r.status, `${email}: ${r.text}`).toBe(200);
    }
    // And twice each: 16 logins from one address with a limit of 5.
    for (const email of emails) expect((await login(api, email, PASSWORD)).status).toBe(200);
  });

  test('behind one proxy (TRUST_PROXY=1) spoofed X-Forwarded-For entries do not change the address the limit counts', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    await api.makeEmployee({ departmentId, email: 'ada@example.com' });
    // The ingress appends the real client (203.0.113.7); the client wrote a fresh fake entry each time.
    const via = (fake: string, real = '203.0.113.7'): Record<string, string> => ({ 'x-forwarded-for': `${fake}, ${real}` });
    for (let i = 0; i < 5; i++) expectError(await login(api, `guess${i}@example.com`, 'wrong', via(`198.51.100.${i}`)), 401, 'unauthenticated');
    expectRetryAfter(await login(api, 'guess9@example.com', 'wrong', via('198.51.100.99')));
    expectRetryAfter(await login(api, 'guess9@example.com', 'wrong', { 'x-forwarded-for': '10.1.2.3, 192.0.2.1, 203.0.113.7' }));
    // Another real client behind the same ingress still logs in.
    expect((await login(api, 'ada@example.com', PASSWORD, via('198.51.100.1', '203.0.113.8'))).status).toBe(200);
  });

  test('ignores the Authorization header: an expired, invalid or malformed token does not prevent login', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    const id = await api.makeEmployee({ departmentId, email: 'ada@example.com' });
    const expired = await sign(api, { sub: id, iat: now() - 3600, exp: now() - 60 });
    for (const authorization of [`Bearer ${expired}`, 'Bearer not-a-token', 'Basic YWRhOnB3', `Bearer rk_${'a'.repeat(12)}_${'A'.repeat(43)}`]) {
      const r = await login(api, 'ada@example.com', PASSWORD, { authorization });
      expect(r.status, `${authorization}: ${r.text}`).toBe(200);
      const me = await api.request('GET', '/v1/me', { token: r.body.accessToken });
      expect(me.status).toBe(200);
    }
    // Also spelt with a trailing slash (Express routes it the same).
    expect((await api.request('POST', '/v1/auth/token/', { body: { email: 'ada@example.com', password: PASSWORD }, headers: { authorization: `Bearer ${expired}` } })).status).toBe(200);
    // Every other route still refuses the expired token.
    expectError(await api.request('GET', '/v1/me', { token: expired }), 401, 'unauthenticated');
  });
});

const now = (): number => Math.floor(Date.now() / 1000);

/** A token signed with the API's secret; claims default to a valid one. */
async function sign(api: TestApi, claims: { sub: string; iat?: number; exp?: number; iss?: string; aud?: string }, alg = 'HS256'): Promise<string> {
  const t = now();
  return new SignJWT({})
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(claims.iss ?? api.deps.tokens.issuer)
    .setAudience(claims.aud ?? 'rota-api')
    .setIssuedAt(claims.iat ?? t)
    .setExpirationTime(claims.exp ?? t + 600)
    .sign(new TextEncoder().encode(api.deps.tokens.secret));
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('JWT rejection: 401 with the error shape', () => {
  test('a valid token is accepted (the control for the cases below)', async ({ api }) => {
    const { employeeId } = await api.login('employee');
    expect((await api.request('GET', '/v1/me', { token: await sign(api, { sub: employeeId }) })).status).toBe(200);
  });

  test('expired, other algorithms (HS384, HS512, none), wrong iss or aud, bad signature, garbage', async ({ api }) => {
    const { employeeId, token } = await api.login('employee');
    const t = now();
    const claims = { sub: employeeId, iss: api.deps.tokens.issuer, aud: 'rota-api', iat: t, exp: t + 600 };
    const [header, payload] = token.split('.');
    const cases: [string, string][] = [
      ['expired', await sign(api, { sub: employeeId, iat: t - 3600, exp: t - 1 })],
      ['HS384', await sign(api, { sub: employeeId }, 'HS384')],
      ['HS512', await sign(api, { sub: employeeId }, 'HS512')],
      ['alg none, no signature', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`],
      ['alg none, signature of the real token', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.${token.split('.')[2]}`],
      ['wrong issuer', await sign(api, { sub: employeeId, iss: 'someone-else' })],
      ['wrong audience', await sign(api, { sub: employeeId, aud: 'other-api' })],
      ['claims changed after signing', `${header}.${b64({ ...claims, sub: '1' })}.${token.split('.')[2]}`],
      ['signed with another secret', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(employeeId).setIssuer(claims.iss)
        .setAudience('rota-api').setIssuedAt(t).setExpirationTime(t + 600).sign(new TextEncoder().encode('x'.repeat(48)))],
      ['garbage', 'not.a.token'],
      ['one segment', 'abc'],
      ['truncated', `${header}.${payload}`],
    ];
    for (const [name, jwt] of cases) {
      const r = await api.request('GET', '/v1/me', { token: jwt });
      expect(r.status, `${name}: ${r.text}`).toBe(401);
      expect(r.body, name).toEqual({ error: { code: 'unauthenticated', message: expect.any(String), requestId: expect.any(String) } });
    }
    expectError(await api.request('GET', '/v1/me', { headers: { authorization: 'Token abc' } }), 401, 'unauthenticated');
    // The genuine token still works.
    expect((await api.request('GET', '/v1/me', { token })).status).toBe(200);
  });
});
