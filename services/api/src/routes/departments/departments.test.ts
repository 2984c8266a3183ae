import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';
import { makeSchedule } from '../schedules/test-factories.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

describe('departments', () => {
  test('admin creates a hierarchy, reads it as list and tree (one query), and the cache serves repeats', async ({ api }) => {
    const { token } = await api.login('admin');
    const root = await api.request('POST', '/v1/departments', { token, body: { name: 'Hospital', timezone: 'Europe/London' } });
    expect(root.status).toBe(201);
    expect(root.headers.get('location')).toBe(`/v1/departments/${root.body.id}`);
    const ward = await api.request('POST', '/v1/departments', { token, body: { name: 'Ward A', parentId: root.body.id } });
    expect(ward.body.path).toEqual([root.body.id, ward.body.id]);
    await api.makeEmployee({ departmentId: ward.body.id });

    const tree1 = await api.request('GET', `/v1/departments/tree?rootId=${root.body.id}`, { token });
    expect(tree1.status).toBe(200);
    expect(tree1.headers.get('x-db-queries')).toBe('1');
    expect(tree1.headers.get('x-cache')).toBe('MISS');
    expect(tree1.body.data[0]).toMatchObject({ name: 'Hospital', headCount: 0, subtreeHeadCount: 1, children: [{ name: 'Ward A', headCount: 1 }] });
    const tree2 = await api.request('GET', `/v1/departments/tree?rootId=${root.body.id}`, { token });
    expect(tree2.headers.get('x-cache')).toBe('HIT');
    expect(tree2.headers.get('x-db-queries')).toBe('0');
    expect(tree2.text).toBe(tree1.text);

    const etag = tree2.headers.get('etag')!;
    const notModified = await api.request('GET', `/v1/departments/tree?rootId=${root.body.id}`, { token, headers: { 'if-none-match': etag } });
    expect(notModified.status).toBe(304);

    // A write invalidates: the next read shows the rename.
    const renamed = await api.request('PATCH', `/v1/departments/${ward.body.id}`, { token, body: { name: 'Ward B' } });
    expect(renamed.status).toBe(200);
    const tree3 = await api.request('GET', `/v1/departments/tree?rootId=${root.body.id}`, { token });
    expect(tree3.headers.get('x-cache')).toBe('MISS');
    expect(tree3.body.data[0].children[0].name).toBe('Ward B');
  });

  test('list paginates with a cursor and filters by parent; at most 2 queries for any page size', async ({ api }) => {
    const { token } = await api.login('admin');
    const parent = await api.makeDepartment({ name: 'P' });
    for (let i = 0; i < 7; i++) await api.makeDepartment({ parentId: parent });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.request('GET', `/v1/departments?parentId=${parent}&limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expect(page.status).toBe(200);
      expect(Number(page.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((d: { id: string }) => d.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    const big = await api.request('GET', '/v1/departments?limit=500', { token });
    expect(Number(big.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
  });

  test('rejects bad input with a 400 naming the field, never a 5xx', async ({ api }) => {
    const { token } = await api.login('admin');
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/departments', { name: '' }, 'body.name'],
      ['POST', '/v1/departments', { name: 'x', timezone: 'Mars/Base' }, 'body.timezone'],
      ['POST', '/v1/departments', { name: 'x', extra: 1 }, 'body.extra'],
      ['POST', '/v1/departments', { name: 'x', parentId: '999999' }, 'body.parentId'],
      ['POST', '/v1/departments', { name: 42 }, 'body.name'],
      ['GET', '/v1/departments?limit=501', undefined, 'query.limit'],
      ['GET', '/v1/departments?limit=abc', undefined, 'query.limit'],
      ['GET', '/v1/departments?cursor=garbage', undefined, 'cursor'],
      ['GET', '/v1/departments?bogus=1', undefined, 'query.bogus'],
      ['GET', '/v1/departments/abc', undefined, 'params.id'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await api.request(method, path, { token, ...(body !== undefined ? { body } : {}) });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(JSON.stringify(r.body.error.details)).toContain(field);
      expect(r.body.error.requestId).toBe(r.headers.get('x-request-id'));
    }
    const malformed = await api.request('POST', '/v1/departments', { token, rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    const huge = await api.request('POST', '/v1/departments', { token, rawBody: JSON.stringify({ name: 'x'.repeat(2_000_000) }), headers: { 'content-type': 'application/json' } });
    expect(huge.status).toBe(413);
    expect((await api.request('GET', '/v1/departments/424242', { token })).status).toBe(404);
  });

  test('authorization: anonymous 401, employees read only their own department, managers manage their subtree', async ({ api }) => {
    expect((await api.request('GET', '/v1/departments')).status).toBe(401);
    expect((await api.request('GET', '/v1/departments', { token: 'not-a-jwt' })).status).toBe(401);
    const top = await api.makeDepartment({ name: 'Top' });
    const mine = await api.makeDepartment({ name: 'Mine', parentId: top });
    const child = await api.makeDepartment({ name: 'Child', parentId: mine });
    const other = await api.makeDepartment({ name: 'Other', parentId: top });
    const manager = await api.login('manager', mine);
    const employee = await api.login('employee', child);

    const list = await api.request('GET', '/v1/departments', { token: manager.token });
    expect(list.body.data.map((d: { name: string }) => d.name).sort()).toEqual(['Child', 'Mine']);
    expect((await api.request('GET', `/v1/departments/${other}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('POST', '/v1/departments', { token: manager.token, body: { name: 'New', parentId: child } })).status).toBe(201);
    expect((await api.request('POST', '/v1/departments', { token: manager.token, body: { name: 'New', parentId: other } })).status).toBe(403);
    expect((await api.request('POST', '/v1/departments', { token: manager.token, body: { name: 'Root' } })).status).toBe(403);
    expect((await api.request('PATCH', `/v1/departments/${mine}`, { token: manager.token, body: { parentId: other } })).status).toBe(403);

    const own = await api.request('GET', '/v1/departments', { token: employee.token });
    expect(own.body.data.map((d: { name: string }) => d.name)).toEqual(['Child']);
    expect((await api.request('GET', `/v1/departments/${mine}`, { token: employee.token })).status).toBe(404);
    expect((await api.request('POST', '/v1/departments', { token: employee.token, body: { name: 'x', parentId: child } })).status).toBe(403);
  });

  test('moves keep paths right, cycles are 409, delete refuses while employees or children exist', async ({ api }) => {
    const { token } = await api.login('admin');
    const a = await api.makeDepartment({ name: 'A' });
    const b = await api.makeDepartment({ name: 'B', parentId: a });
    const c = await api.makeDepartment({ name: 'C', parentId: b });
    const cycle = await api.request('PATCH', `/v1/departments/${a}`, { token, body: { parentId: c } });
    expect(cycle.status).toBe(409);
    expect(cycle.body.error.details[0].field).toBe('parentId');
    expect((await api.request('DELETE', `/v1/departments/${b}`, { token })).status).toBe(409);
    const emp = await api.makeEmployee({ departmentId: c });
    expect((await api.request('DELETE', `/v1/departments/${c}`, { token })).status).toBe(409);
    await api.tdb.db.query('DELETE FROM employees WHERE id = $1', [emp]);
    expect((await api.request('DELETE', `/v1/departments/${c}`, { token })).status).toBe(204);
    expect((await api.request('GET', `/v1/departments/${c}`, { token })).status).toBe(404);
    const events = await api.tdb.db.query<{ type: string }>('SELECT type FROM outbox ORDER BY id');
    expect(events.rows.map((r) => r.type)).toEqual(['department.deleted']);
  });

  test("a move takes what lies below the moved department out of the old managers' cached reads at once", async ({ api }) => {
    const { token: admin } = await api.login('admin');
    const north = await api.makeDepartment({ name: 'North' });
    const south = await api.makeDepartment({ name: 'South' });
    const site = await api.makeDepartment({ name: 'Site', parentId: north });
    const unit = await api.makeDepartment({ name: 'Unit', parentId: site });
    const s = await makeSchedule(api, { departmentId: unit, start: '2026-03-02', end: '2026-03-08' });
    const { token: northManager } = await api.login('manager', north);
    const { token: southManager } = await api.login('manager', south);
    const reads = [`/v1/schedules/${s}`, `/v1/departments/${unit}/shift-templates`, `/v1/schedules?departmentId=${unit}`];
    for (const url of reads) {
      expect((await api.request('GET', url, { token: northManager })).status, url).toBe(200);
      const again = await api.request('GET', url, { token: northManager });
      expect(again.headers.get('x-cache'), url).toBe('HIT');
      expect((await api.request('GET', url, { token: southManager })).status, url).toBe(403);
    }

    expect((await api.request('PATCH', `/v1/departments/${site}`, { token: admin, body: { parentId: south } })).status).toBe(200);
    for (const url of reads) {
      expect((await api.request('GET', url, { token: northManager })).status, url).toBe(403);
      expect((await api.request('GET', url, { token: southManager })).status, url).toBe(200);
    }
  });
});
