import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

describe('API keys', () => {
  test('an admin creates a manager key; the key acts with its role and department subtree; revoked it gets 401', async ({ api }) => {
    const admin = await api.login('admin');
    const top = await api.makeDepartment({ name: 'Top' });
    const ward = await api.makeDepartment({ name: 'Ward', parentId: top });
    const other = await api.makeDepartment({ name: 'Other' });
    const inWard = await api.makeEmployee({ departmentId: ward });
    const outside = await api.makeEmployee({ departmentId: other });

    const created = await api.request('POST', '/v1/api-keys', { token: admin.token, body: { name: 'payroll sync', role: 'manager', departmentId: top, scopes: ['employees:read'] } });
    expect(created.status, created.text).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^rk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`rk_${created.body.prefix}_`)).toBe(true);
    const stored = await api.tdb.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [created.body.id]);
    expect(stored.rows[0]!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.rows[0]!.key_hash).not.toContain(key.slice(16));

    const listed = await api.request('GET', '/v1/api-keys', { token: admin.token });
    expect(listed.body.data).toEqual([expect.objectContaining({ id: created.body.id, name: 'payroll sync', role: 'manager', departmentId: top, scopes: ['employees:read'], revokedAt: null })]);
    expect(listed.text).not.toContain(key.slice(16));

    const me = await api.request('GET', '/v1/me', { token: key });
    expect(me.body).toMatchObject({ kind: 'apiKey', role: 'manager', departmentId: top });
    const list = await api.request('GET', '/v1/employees', { token: key });
    expect(list.status).toBe(200);
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([inWard]);
    expect((await api.request('GET', `/v1/employees/${inWard}`, { token: key })).status).toBe(200);
    expect((await api.request('GET', `/v1/employees/${outside}`, { token: key })).status).toBe(403);
    expect((await api.request('GET', `/v1/employees?departmentId=${other}`, { token: key })).status).toBe(403);
    // A manager key cannot manage keys.
    expect((await api.request('GET', '/v1/api-keys', { token: key })).status).toBe(403);

    expect((await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { token: admin.token })).status).toBe(204);
    expect((await api.request('GET', '/v1/employees', { token: key })).status).toBe(401);
    // Both writes recorded a change event in their transaction; a repeated revoke records none.
    expect((await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { token: admin.token })).status).toBe(204);
    const events = await api.deps.db.query<{ type: string; envelope: { aggregate: { id: string }; scopes: { departmentIds: string[] }; payload: Record<string, unknown> } }>(
      `SELECT type, envelope FROM outbox WHERE type LIKE 'api_key.%' AND envelope->'aggregate'->>'id' = $1 ORDER BY id`, [created.body.id]);
    expect(events.rows.map((e) => e.type)).toEqual(['api_key.created', 'api_key.revoked']);
    expect(events.rows[0]!.envelope.scopes.departmentIds).toEqual([top]);
    expect(events.rows[0]!.envelope.payload).toMatchObject({ name: 'payroll sync', role: 'manager' });
    expect(JSON.stringify(events.rows)).not.toContain(key); // never the secret
    expect((await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { token: admin.token })).status).toBe(204);
    expect((await api.request('GET', '/v1/api-keys', { token: admin.token })).body.data).toEqual([]);
    const withRevoked = await api.request('GET', '/v1/api-keys?includeRevoked=true', { token: admin.token });
    expect(withRevoked.body.data[0].revokedAt).not.toBeNull();
    // A forged secret with a real prefix is refused.
    const forged = `rk_${created.body.prefix}_${'A'.repeat(43)}`;
    expect((await api.request('GET', '/v1/me', { token: forged })).status).toBe(401);
  });

  test('validation, pagination and authorization', async ({ api }) => {
    const admin = await api.login('admin');
    const manager = await api.login('manager');
    const employee = await api.login('employee');
    for (const [body, field] of [
      [{ name: '', role: 'admin' }, 'body.name'],
      [{ name: 'x', role: 'root' }, 'body.role'],
      [{ name: 'x', role: 'manager' }, 'body.departmentId'],
      [{ name: 'x', role: 'manager', departmentId: '999999' }, 'body.departmentId'],
      [{ name: 'x', role: 'admin', scopes: ['Not Valid'] }, 'body.scopes.0'],
      [{ name: 'x', role: 'admin', secret: 'mine' }, 'body.secret'],
    ] as const) {
      const r = await api.request('POST', '/v1/api-keys', { token: admin.token, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    for (let i = 0; i < 5; i++) expect((await api.request('POST', '/v1/api-keys', { token: admin.token, body: { name: `k${i}`, role: 'admin' } })).status).toBe(201);
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.request('GET', `/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.token });
      names.push(...page.body.data.map((k: { name: string }) => k.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(names).toEqual(['k4', 'k3', 'k2', 'k1', 'k0']);

    expect((await api.request('GET', '/v1/api-keys')).status).toBe(401);
    for (const token of [manager.token, employee.token]) {
      expect((await api.request('POST', '/v1/api-keys', { token, body: { name: 'x', role: 'admin' } })).status).toBe(403);
      expect((await api.request('GET', '/v1/api-keys', { token })).status).toBe(403);
      expect((await api.request('DELETE', '/v1/api-keys/1', { token })).status).toBe(403);
    }
    expect((await api.request('DELETE', '/v1/api-keys/999999', { token: admin.token })).status).toBe(404);
    expect((await api.request('DELETE', '/v1/api-keys/abc', { token: admin.token })).status).toBe(400);
  });
});

/** http_hot_reads_total{result="served"} from /metrics. */
async function hotServed(api: TestApi): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  return Number(/^http_hot_reads_total\{[^}]*result="served"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('API key scopes', () => {
  async function key(api: TestApi, adminToken: string, body: Record<string, unknown>): Promise<string> {
    const r = await api.request('POST', '/v1/api-keys', { token: adminToken, body: { name: 'k', ...body } });
    expect(r.status, r.text).toBe(201);
    return r.body.key as string;
  }

  /** An admin, a department and an employee in it. */
  async function ward(api: TestApi) {
    const admin = await api.login('admin');
    const dept = await api.makeDepartment({ name: 'Ward' });
    return { admin, dept, emp: await api.makeEmployee({ departmentId: dept }) };
  }

  test('creation accepts only the documented scopes (400 naming the field)', async ({ api }) => {
    const admin = await api.login('admin');
    for (const scopes of [['roster.read'], ['employees:read', 'employees:delete'], ['EMPLOYEES:READ']]) {
      const r = await api.request('POST', '/v1/api-keys', { token: admin.token, body: { name: 'x', role: 'admin', scopes } });
      expect(r.status, JSON.stringify(scopes)).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.details[0].field).toMatch(/^body\.scopes\.\d$/);
      expect(r.body.error.details[0].message).toContain('employees:read');
    }
    const ok = await api.request('POST', '/v1/api-keys', { token: admin.token, body: { name: 'x', role: 'admin', scopes: ['schedules:publish', 'analytics:read', 'analytics:read'] } });
    expect(ok.status).toBe(201);
    expect(ok.body.scopes).toEqual(['schedules:publish', 'analytics:read']);
  });

  test('a key with scopes may only do what they allow (403 otherwise); a key without scopes keeps its role\'s access', async ({ api }) => {
    const { admin, dept, emp } = await ward(api);
    const readOnly = await key(api, admin.token, { role: 'manager', departmentId: dept, scopes: ['employees:read'] });
    const readWrite = await key(api, admin.token, { role: 'manager', departmentId: dept, scopes: ['employees:read', 'employees:write'] });
    const unscoped = await key(api, admin.token, { role: 'manager', departmentId: dept });
    const newEmployee = (email: string) => ({ email, firstName: 'N', lastName: 'E', departmentId: dept });

    expect((await api.request('GET', '/v1/employees', { token: readOnly })).status).toBe(200);
    expect((await api.request('GET', `/v1/employees/${emp}/time-off`, { token: readOnly })).status).toBe(200);
    expect((await api.request('GET', '/v1/me', { token: readOnly })).status).toBe(200); // needs no scope
    const refused: [string, string, unknown][] = [
      ['POST', '/v1/employees', newEmployee('a@example.com')],
      ['PATCH', `/v1/employees/${emp}`, { lastName: 'Changed' }],
      ['DELETE', `/v1/employees/${emp}`, undefined],
      ['POST', `/v1/employees/${emp}/time-off`, { startDate: '2026-01-01', endDate: '2026-01-02' }],
      ['GET', '/v1/departments', undefined],
      ['GET', `/v1/departments/${dept}/shift-templates`, undefined],
      ['GET', '/v1/schedules', undefined],
      // Refused before the handler looks anything up: no 404 for a schedule that does not exist.
      ['POST', '/v1/schedules/999999/publish', undefined],
      ['GET', '/v1/analytics/overview?from=2026-01-01&to=2026-01-31', undefined],
    ];
    for (const [method, path, body] of refused) {
      const r = await api.request(method, path, { token: readOnly, ...(body === undefined ? {} : { body }) });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/lacks the scope (employees:write|departments:read|schedules:read|schedules:publish|analytics:read)$/) });
    }
    const row = (await api.tdb.db.query<{ last_name: string; active: boolean }>('SELECT last_name, active FROM employees WHERE id = $1', [emp])).rows[0]!;
    expect(row.last_name).not.toBe('Changed');
    expect(row.active).toBe(true);
    expect((await api.tdb.db.query(`SELECT 1 FROM outbox WHERE type NOT LIKE 'api_key.%'`)).rowCount).toBe(0);

    expect((await api.request('POST', '/v1/employees', { token: readWrite, body: newEmployee('b@example.com') })).status).toBe(201);
    expect((await api.request('GET', '/v1/departments', { token: readWrite })).status).toBe(403);
    // No scopes: the manager role's whole access, as before scopes were enforced.
    expect((await api.request('POST', '/v1/employees', { token: unscoped, body: newEmployee('c@example.com') })).status).toBe(201);
    expect((await api.request('GET', '/v1/departments', { token: unscoped })).status).toBe(200);
    // Scopes never widen the role: a manager key with api-keys scopes is still no admin.
    const managerWithAdminScopes = await key(api, admin.token, { role: 'manager', departmentId: dept, scopes: ['api-keys:read'] });
    expect((await api.request('GET', '/v1/api-keys', { token: managerWithAdminScopes })).status).toBe(403);
    // Admin keys too.
    const adminAnalytics = await key(api, admin.token, { role: 'admin', scopes: ['analytics:read'] });
    expect((await api.request('GET', '/v1/api-keys', { token: adminAnalytics })).status).toBe(403);
    expect((await api.request('POST', '/v1/departments', { token: adminAnalytics, body: { name: 'New' } })).status).toBe(403);
    expect((await api.request('GET', '/v1/analytics/overview?from=2026-01-01&to=2026-01-31', { token: adminAnalytics })).status).toBe(200);
  });

  test('the cached-read hot path refuses a key without the read scope even after another key was served that URL', async ({ api }) => {
    const { admin, dept, emp } = await ward(api);
    const reader = await key(api, admin.token, { role: 'manager', departmentId: dept, scopes: ['employees:read'] });
    const other = await key(api, admin.token, { role: 'manager', departmentId: dept, scopes: ['departments:read', 'employees:write'] });
    const url = `/v1/employees/${emp}`;

    expect((await api.request('GET', url, { token: reader })).headers.get('x-cache')).toBe('MISS');
    const before = await hotServed(api);
    const hit = await api.request('GET', url, { token: reader });
    expect(hit.status).toBe(200);
    expect(await hotServed(api)).toBe(before + 1); // answered by the hot path
    // The read-only key is refused a write, and its reads still hit.
    expect((await api.request('PATCH', url, { token: reader, body: { lastName: 'X' } })).status).toBe(403);
    // Same role, department and URL, the entry is fresh in Redis: still 403, every time.
    for (let i = 0; i < 3; i++) {
      const r = await api.request('GET', url, { token: other });
      expect(r.status, r.text).toBe(403);
      expect(r.body.error.message).toContain('employees:read');
    }
    expect(await hotServed(api)).toBe(before + 1);
    expect((await api.request('GET', url, { token: reader })).status).toBe(200);
  });

  test('/openapi.json names the scope each operation needs', async ({ api }) => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    expect(doc.paths['/v1/employees'].post.security).toEqual([{ bearer: ['employees:write'] }]);
    expect(doc.paths['/v1/employees'].get.security).toEqual([{ bearer: ['employees:read'] }]);
    expect(doc.paths['/v1/schedules/{id}/publish'].post.security).toEqual([{ bearer: ['schedules:publish'] }]);
    expect(doc.paths['/v1/auth/token'].post.security).toEqual([]);
    expect(doc.paths['/v1/me'].get.security).toBeUndefined(); // the document's default: any bearer
    expect(doc.components.securitySchemes.bearer.description).toContain('schedules:generate');
  });
});
