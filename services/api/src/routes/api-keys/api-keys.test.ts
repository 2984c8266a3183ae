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

    const created = await api.request('POST', '/v1/api-keys', { token: admin.token, body: { name: 'payroll sync', role: 'manager', departmentId: top, scopes: ['roster.read'] } });
    expect(created.status, created.text).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^rk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`rk_${created.body.prefix}_`)).toBe(true);
    const stored = await api.tdb.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [created.body.id]);
    expect(stored.rows[0]!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.rows[0]!.key_hash).not.toContain(key.slice(16));

    const listed = await api.request('GET', '/v1/api-keys', { token: admin.token });
    expect(listed.body.data).toEqual([expect.objectContaining({ id: created.body.id, name: 'payroll sync', role: 'manager', departmentId: top, scopes: ['roster.read'], revokedAt: null })]);
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
