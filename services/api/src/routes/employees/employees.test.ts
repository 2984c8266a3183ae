import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

const outboxTypes = async (api: TestApi): Promise<string[]> =>
  (await api.tdb.db.query<{ type: string }>('SELECT type FROM outbox ORDER BY id')).rows.map((r) => r.type);
const historyCount = async (api: TestApi, id: string): Promise<number> =>
  (await api.tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM department_assignment_history WHERE employee_id = $1', [id])).rows[0]!.n;

describe('employee CRUD', () => {
  test('admin creates an employee who can log in; email is unique case-insensitively; the event is in the outbox', async ({ api }) => {
    const { token, departmentId } = await api.login('admin');
    const body = { email: 'Ada@Example.com', firstName: 'Ada', lastName: 'Lovelace', departmentId, hireDate: '2024-03-01', hourlyRate: '31.25', skills: ['icu', 'icu', 'triage'], password: 'a long enough password' };
    const created = await api.request('POST', '/v1/employees', { token, body });
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/employees/${created.body.id}`);
    expect(created.body).toMatchObject({ email: 'Ada@Example.com', role: 'employee', hireDate: '2024-03-01', hourlyRate: '31.25', skills: ['icu', 'triage'], active: true, departmentId });
    const stored = await api.tdb.db.query<{ password_hash: string }>('SELECT password_hash FROM employees WHERE id = $1', [created.body.id]);
    expect(stored.rows[0]!.password_hash).toMatch(/^scrypt\$/);
    expect(await outboxTypes(api)).toEqual(['employee.created']);

    const login = await api.request('POST', '/v1/auth/token', { body: { email: 'ada@example.com', password: 'a long enough password' } });
    expect(login.status).toBe(200);
    const me = await api.request('GET', `/v1/employees/${created.body.id}`, { token: login.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.lastName).toBe('Lovelace');

    const dup = await api.request('POST', '/v1/employees', { token, body: { ...body, email: 'ADA@example.COM' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.details[0].field).toContain('email');
    const numeric = await api.request('POST', '/v1/employees', { token, body: { ...body, email: 'n@example.com', hourlyRate: 12, password: undefined } });
    expect(numeric.status).toBe(201);
    expect(numeric.body.hourlyRate).toBe('12.00');
  });

  test('create and update reject bad input with a 400 naming the field', async ({ api }) => {
    const { token, departmentId } = await api.login('admin');
    const ok = { email: 'x@example.com', firstName: 'X', lastName: 'Y', departmentId };
    const emp = await api.makeEmployee({ departmentId });
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/employees', { ...ok, email: 'not-an-email' }, 'body.email'],
      ['POST', '/v1/employees', { ...ok, firstName: '  ' }, 'body.firstName'],
      ['POST', '/v1/employees', { email: 'x@example.com', lastName: 'Y', departmentId }, 'body.firstName'],
      ['POST', '/v1/employees', { ...ok, hourlyRate: '1.234' }, 'body.hourlyRate'],
      ['POST', '/v1/employees', { ...ok, hourlyRate: -1 }, 'body.hourlyRate'],
      ['POST', '/v1/employees', { ...ok, role: 'king' }, 'body.role'],
      ['POST', '/v1/employees', { ...ok, hireDate: '2024-02-30' }, 'body.hireDate'],
      ['POST', '/v1/employees', { ...ok, password: 'short' }, 'body.password'],
      ['POST', '/v1/employees', { ...ok, departmentId: '999999' }, 'body.departmentId'],
      ['POST', '/v1/employees', { ...ok, contractId: '999999' }, 'body.contractId'],
      ['POST', '/v1/employees', { ...ok, salary: 1 }, 'body.salary'],
      ['POST', '/v1/employees', { ...ok, lastName: 'a\u0000b' }, 'body.lastName'],
      ['POST', '/v1/employees', { ...ok, email: 'a\u0000b@example.com' }, 'body.email'],
      ['POST', '/v1/employees', { ...ok, hireDate: '0000-01-01' }, 'body.hireDate'],
      ['PATCH', `/v1/employees/${emp}`, {}, 'body'],
      ['PATCH', `/v1/employees/${emp}`, { reason: 'no move' }, 'body.reason'],
      ['PATCH', `/v1/employees/${emp}`, { departmentId: '999999' }, 'body.departmentId'],
      ['PATCH', `/v1/employees/${emp}`, { skills: [''] }, 'body.skills.0'],
      ['PATCH', '/v1/employees/abc', { firstName: 'x' }, 'params.id'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await api.request(method, path, { token, body });
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(JSON.stringify(r.body.error.details), JSON.stringify(body)).toContain(field);
    }
    expect((await api.request('GET', '/v1/employees/424242', { token })).status).toBe(404);
    expect((await api.request('PATCH', '/v1/employees/424242', { token, body: { firstName: 'x' } })).status).toBe(404);
    expect((await api.request('DELETE', '/v1/employees/424242', { token })).status).toBe(404);
    expect(await outboxTypes(api)).toEqual([]);
  });

  test('authorization of reads and writes by role and department subtree', async ({ api }) => {
    const top = await api.makeDepartment({ name: 'Top' });
    const mine = await api.makeDepartment({ name: 'Mine', parentId: top });
    const child = await api.makeDepartment({ name: 'Child', parentId: mine });
    const other = await api.makeDepartment({ name: 'Other', parentId: top });
    const manager = await api.login('manager', mine);
    const employee = await api.login('employee', child);
    const inside = await api.makeEmployee({ departmentId: child });
    const outside = await api.makeEmployee({ departmentId: other });
    const peerManager = await api.makeEmployee({ departmentId: child, role: 'manager' });
    const body = (departmentId: string, extra: object = {}) => ({ email: `n${Math.random()}@example.com`, firstName: 'N', lastName: 'M', departmentId, ...extra });

    expect((await api.request('GET', `/v1/employees/${inside}`)).status).toBe(401);
    // Manager: reads and writes inside the subtree only; never assigns roles.
    expect((await api.request('GET', `/v1/employees/${inside}`, { token: manager.token })).status).toBe(200);
    expect((await api.request('GET', `/v1/employees/${outside}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('POST', '/v1/employees', { token: manager.token, body: body(child) })).status).toBe(201);
    expect((await api.request('POST', '/v1/employees', { token: manager.token, body: body(other) })).status).toBe(403);
    expect((await api.request('POST', '/v1/employees', { token: manager.token, body: body(child, { role: 'manager' }) })).status).toBe(403);
    expect((await api.request('PATCH', `/v1/employees/${inside}`, { token: manager.token, body: { role: 'manager' } })).status).toBe(403);
    expect((await api.request('PATCH', `/v1/employees/${outside}`, { token: manager.token, body: { lastName: 'x' } })).status).toBe(403);
    expect((await api.request('PATCH', `/v1/employees/${peerManager}`, { token: manager.token, body: { lastName: 'x' } })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/employees/${outside}`, { token: manager.token })).status).toBe(403);
    // Employee: themselves only; colleagues do not exist for them.
    expect((await api.request('GET', `/v1/employees/${employee.employeeId}`, { token: employee.token })).status).toBe(200);
    expect((await api.request('GET', `/v1/employees/${inside}`, { token: employee.token })).status).toBe(404);
    expect((await api.request('PATCH', `/v1/employees/${inside}`, { token: employee.token, body: { lastName: 'x' } })).status).toBe(404);
    expect((await api.request('POST', '/v1/employees', { token: employee.token, body: body(child) })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/employees/${inside}`, { token: employee.token })).status).toBe(404);
    const selfName = await api.request('PATCH', `/v1/employees/${employee.employeeId}`, { token: employee.token, body: { firstName: 'Renamed' } }); // passwords: see 'password change' below
    expect(selfName.status).toBe(200);
    expect(selfName.body.firstName).toBe('Renamed');
    expect((await api.request('PATCH', `/v1/employees/${employee.employeeId}`, { token: employee.token, body: { hourlyRate: 99 } })).status).toBe(403);
    expect((await api.request('PATCH', `/v1/employees/${employee.employeeId}`, { token: employee.token, body: { role: 'admin' } })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/employees/${manager.employeeId}`, { token: manager.token })).status).toBe(403);
  });

  test('a department move writes the history row in the same transaction; a failed PATCH writes none', async ({ api }) => {
    const admin = await api.login('admin');
    const from = await api.makeDepartment({ name: 'From' });
    const to = await api.makeDepartment({ name: 'To' });
    const emp = await api.makeEmployee({ departmentId: from });
    await api.makeEmployee({ departmentId: to, email: 'taken@example.com' });

    // The move and a duplicate email in one PATCH: the UPDATE fails, so no history row and no event.
    const failed = await api.request('PATCH', `/v1/employees/${emp}`, { token: admin.token, body: { departmentId: to, email: 'TAKEN@example.com', reason: 'x' } });
    expect(failed.status).toBe(409);
    expect(await historyCount(api, emp)).toBe(0);
    expect((await api.tdb.db.query('SELECT department_id FROM employees WHERE id = $1', [emp])).rows[0]?.department_id).toBe(from);
    expect(await outboxTypes(api)).toEqual([]);

    const moved = await api.request('PATCH', `/v1/employees/${emp}`, { token: admin.token, body: { departmentId: to, reason: 'needed on To' } });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ departmentId: to, departmentName: 'To' });
    const h = await api.tdb.db.query('SELECT from_department_id, to_department_id, changed_by, reason FROM department_assignment_history WHERE employee_id = $1', [emp]);
    expect(h.rows).toEqual([{ from_department_id: from, to_department_id: to, changed_by: admin.employeeId, reason: 'needed on To' }]);
    const events = await api.tdb.db.query<{ type: string; envelope: { scopes: { departmentIds: string[] } } }>('SELECT type, envelope FROM outbox');
    expect(events.rows.map((r) => r.type)).toEqual(['employee.department_changed']);
    expect(events.rows[0]!.envelope.scopes.departmentIds).toEqual([from, to]);

    // Same department again: no move, no history row.
    expect((await api.request('PATCH', `/v1/employees/${emp}`, { token: admin.token, body: { departmentId: to } })).status).toBe(200);
    expect(await historyCount(api, emp)).toBe(1);

    const history = await api.request('GET', `/v1/employees/${emp}/department-history`, { token: admin.token });
    expect(history.status).toBe(200);
    expect(history.body.data).toEqual([expect.objectContaining({ fromDepartment: { id: from, name: 'From' }, toDepartment: { id: to, name: 'To' }, changedBy: admin.employeeId, reason: 'needed on To' })]);
  });

  test('managers move employees only within their subtree', async ({ api }) => {
    const top = await api.makeDepartment();
    const mine = await api.makeDepartment({ parentId: top });
    const child = await api.makeDepartment({ parentId: mine });
    const other = await api.makeDepartment({ parentId: top });
    const manager = await api.login('manager', mine);
    const emp = await api.makeEmployee({ departmentId: mine });
    expect((await api.request('PATCH', `/v1/employees/${emp}`, { token: manager.token, body: { departmentId: other } })).status).toBe(403);
    expect(await historyCount(api, emp)).toBe(0);
    expect((await api.request('PATCH', `/v1/employees/${emp}`, { token: manager.token, body: { departmentId: child } })).status).toBe(200);
    expect(await historyCount(api, emp)).toBe(1);
    // Moved below: still the manager's; the employee's single-record cache entry was invalidated.
    const got = await api.request('GET', `/v1/employees/${emp}`, { token: manager.token });
    expect(got.body.departmentId).toBe(child);
  });

  test('department history pages newest first with a keyset cursor', async ({ api }) => {
    const admin = await api.login('admin');
    const depts = [await api.makeDepartment(), await api.makeDepartment(), await api.makeDepartment()];
    const emp = await api.makeEmployee({ departmentId: depts[0]! });
    for (let i = 1; i <= 5; i++) {
      const r = await api.request('PATCH', `/v1/employees/${emp}`, { token: admin.token, body: { departmentId: depts[i % 3], reason: `move ${i}` } });
      expect(r.status).toBe(200);
    }
    const reasons: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.request('GET', `/v1/employees/${emp}/department-history?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.token });
      expect(page.status).toBe(200);
      expect(page.headers.get('x-db-queries')).toBe('1'); // the employee and the page in one query
      reasons.push(...page.body.data.map((h: { reason: string }) => h.reason));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(reasons).toEqual(['move 5', 'move 4', 'move 3', 'move 2', 'move 1']);
    const self = await api.request('GET', `/v1/employees/${emp}/department-history`, { token: await api.tokenFor(emp) });
    expect(self.body.data).toHaveLength(5);
    const stranger = await api.login('employee');
    expect((await api.request('GET', `/v1/employees/${emp}/department-history`, { token: stranger.token })).status).toBe(404);
    expect((await api.request('GET', `/v1/employees/${emp}/department-history?cursor=nope`, { token: admin.token })).status).toBe(400);
    const unknown = await api.request('GET', '/v1/employees/987654321/department-history', { token: admin.token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    // An employee who never moved: an empty page, not a 404.
    const settled = await api.makeEmployee({ departmentId: depts[0]! });
    const none = await api.request('GET', `/v1/employees/${settled}/department-history`, { token: admin.token });
    expect(none.status, none.text).toBe(200);
    expect(none.body).toEqual({ data: [], nextCursor: null });
  });

  test('role changes are admin-only and apply at once; deactivation locks the account out at once and is idempotent', async ({ api }) => {
    const admin = await api.login('admin');
    const dept = await api.makeDepartment();
    await api.makeEmployee({ departmentId: dept, lastName: 'Colleague' });
    const emp = await api.makeEmployee({ departmentId: dept });
    const token = await api.tokenFor(emp);
    expect((await api.request('GET', '/v1/employees', { token })).body.data).toHaveLength(1);
    const promoted = await api.request('PATCH', `/v1/employees/${emp}`, { token: admin.token, body: { role: 'manager' } });
    expect(promoted.body.role).toBe('manager');
    expect((await api.request('GET', '/v1/employees', { token })).body.data).toHaveLength(2);
    expect((await api.request('PATCH', `/v1/employees/${admin.employeeId}`, { token: admin.token, body: { role: 'employee' } })).status).toBe(403);

    const cached = await api.request('GET', `/v1/employees/${emp}`, { token: admin.token });
    expect(cached.body.active).toBe(true);
    expect((await api.request('DELETE', `/v1/employees/${emp}`, { token: admin.token })).status).toBe(204);
    expect((await api.request('GET', '/v1/employees', { token })).status).toBe(401);
    const after = await api.request('GET', `/v1/employees/${emp}`, { token: admin.token });
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body.active).toBe(false);
    expect((await api.request('DELETE', `/v1/employees/${emp}`, { token: admin.token })).status).toBe(204);
    expect(await outboxTypes(api)).toEqual(['employee.updated', 'employee.deactivated']);
    expect((await api.request('DELETE', `/v1/employees/${admin.employeeId}`, { token: admin.token })).status).toBe(403);
  });

  test('reactivating an employee refreshes the head counts of the cached tree and analytics', async ({ api }) => {
    const { token, departmentId: dept } = await api.login('admin');
    const emp = await api.makeEmployee({ departmentId: dept, active: false });
    const tree = async (): Promise<{ headCount: number; cache: string | null }> => {
      const r = await api.request('GET', `/v1/departments/tree?rootId=${dept}`, { token });
      return { headCount: r.body.data[0].headCount, cache: r.headers.get('x-cache') };
    };
    const overview = async (): Promise<number> =>
      (await api.request('GET', `/v1/analytics/overview?from=2026-01-01&to=2026-01-31&departmentId=${dept}`, { token })).body.headCount;
    expect(await tree()).toEqual({ headCount: 1, cache: 'MISS' }); // the admin
    expect(await overview()).toBe(1);
    expect(await tree()).toEqual({ headCount: 1, cache: 'HIT' });

    const back = await api.request('PATCH', `/v1/employees/${emp}`, { token, body: { active: true } });
    expect(back.status).toBe(200);
    expect(back.body.active).toBe(true);
    expect(await outboxTypes(api)).toEqual(['employee.reactivated']);
    expect(await tree()).toEqual({ headCount: 2, cache: 'MISS' });
    expect(await overview()).toBe(2);
    // Setting active on an active employee is an ordinary update.
    expect((await api.request('PATCH', `/v1/employees/${emp}`, { token, body: { active: true } })).status).toBe(200);
    expect(await outboxTypes(api)).toEqual(['employee.reactivated', 'employee.updated']);
  });

  test("a manager's cached read is re-checked when a department move takes the employee out of their subtree", async ({ api }) => {
    const admin = await api.login('admin');
    const top = await api.makeDepartment();
    const mine = await api.makeDepartment({ parentId: top });
    const sub = await api.makeDepartment({ parentId: mine });
    const manager = await api.login('manager', mine);
    const emp = await api.makeEmployee({ departmentId: sub });
    for (const path of [`/v1/employees/${emp}`, `/v1/employees/${emp}/work-rules`]) {
      expect((await api.request('GET', path, { token: manager.token })).status).toBe(200);
      expect((await api.request('GET', path, { token: manager.token })).headers.get('x-cache')).toBe('HIT');
    }
    expect((await api.request('PATCH', `/v1/departments/${sub}`, { token: admin.token, body: { parentId: top } })).status).toBe(200);
    for (const path of [`/v1/employees/${emp}`, `/v1/employees/${emp}/work-rules`]) {
      expect((await api.request('GET', path, { token: manager.token })).status, path).toBe(403);
    }
  });

  test("a moved employee stops reading the old department's cached templates and schedules at once", async ({ api }) => {
    const admin = await api.login('admin');
    const d1 = await api.makeDepartment();
    const d2 = await api.makeDepartment();
    const emp = await api.makeEmployee({ departmentId: d1 });
    const token = await api.tokenFor(emp);
    await api.makeTemplate({ departmentId: d1 });
    const reads = [`/v1/departments/${d1}/shift-templates`, `/v1/schedules?departmentId=${d1}`];
    for (const path of reads) {
      expect((await api.request('GET', path, { token })).status, path).toBe(200);
      expect((await api.request('GET', path, { token })).headers.get('x-cache'), path).toBe('HIT');
    }
    expect((await api.request('PATCH', `/v1/employees/${emp}`, { token: admin.token, body: { departmentId: d2 } })).status).toBe(200);
    for (const path of reads) expect([403, 404], path).toContain((await api.request('GET', path, { token })).status);
    expect((await api.request('GET', `/v1/departments/${d2}/shift-templates`, { token })).status).toBe(200);
  });

  test('single employee reads are cached and invalidated by a write', async ({ api }) => {
    const admin = await api.login('admin');
    const emp = await api.makeEmployee({ departmentId: admin.departmentId, skills: ['a'] });
    expect((await api.request('GET', `/v1/employees/${emp}`, { token: admin.token })).headers.get('x-cache')).toBe('MISS');
    const hit = await api.request('GET', `/v1/employees/${emp}`, { token: admin.token });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('x-db-queries')).toBe('0');
    expect((await api.request('GET', `/v1/employees/${emp}`, { token: admin.token, headers: { 'if-none-match': hit.headers.get('etag')! } })).status).toBe(304);
    await api.request('PATCH', `/v1/employees/${emp}`, { token: admin.token, body: { skills: ['b', 'c'] } });
    const fresh = await api.request('GET', `/v1/employees/${emp}`, { token: admin.token });
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect(fresh.body.skills).toEqual(['b', 'c']);
  });

  test("renaming the employee's department shows in the single-employee read at once", async ({ api }) => {
    const admin = await api.login('admin');
    const dept = await api.makeDepartment({ name: 'Old name' });
    const emp = await api.makeEmployee({ departmentId: dept });
    await api.request('GET', `/v1/employees/${emp}`, { token: admin.token });
    const hit = await api.request('GET', `/v1/employees/${emp}`, { token: admin.token });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.body.departmentName).toBe('Old name');
    expect((await api.request('PATCH', `/v1/departments/${dept}`, { token: admin.token, body: { name: 'New name' } })).status).toBe(200);
    const after = await api.request('GET', `/v1/employees/${emp}`, { token: admin.token });
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body.departmentName).toBe('New name');
  });

  test("renaming a department shows in its ancestors' cached employee lists at once (stored JSON refreshed, lists invalidated)", async ({ api }) => {
    const admin = await api.login('admin');
    const top = await api.makeDepartment({ name: 'Top' });
    const unit = await api.makeDepartment({ name: 'Unit', parentId: top });
    const emp = await api.makeEmployee({ departmentId: unit, lastName: 'Member' });
    const url = `/v1/employees?departmentId=${top}&includeSubdepartments=true`;
    await api.request('GET', url, { token: admin.token });
    const hit = await api.request('GET', url, { token: admin.token });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.body.data.find((e: { id: string }) => e.id === emp).departmentName).toBe('Unit');
    expect((await api.request('PATCH', `/v1/departments/${unit}`, { token: admin.token, body: { name: 'Unit "renamed"' } })).status).toBe(200);
    const after = await api.request('GET', url, { token: admin.token });
    expect(after.headers.get('x-cache')).toBe('MISS');
    const member = after.body.data.find((e: { id: string }) => e.id === emp);
    expect(member.departmentName).toBe('Unit "renamed"');
    expect(member.updatedAt).toBe(hit.body.data.find((e: { id: string }) => e.id === emp).updatedAt);
  });
});

describe('password change', () => {
  const OLD = 'correct horse battery staple'; // the factories' password
  const login = (api: TestApi, email: string, password: string) => api.request('POST', '/v1/auth/token', { body: { email, password } });

  test('changing your own password takes the current one; afterwards older tokens are refused and the new password logs in', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    const id = await api.makeEmployee({ departmentId, email: 'ada@example.com' });
    const session = (await login(api, 'ada@example.com', OLD)).body.accessToken as string;
    const other = (await login(api, 'ada@example.com', OLD)).body.accessToken as string;
    // Both tokens are in use (and memoised by the authenticator).
    expect((await api.request('GET', '/v1/me', { token: session })).status).toBe(200);
    expect((await api.request('GET', `/v1/employees/${id}`, { token: other })).status).toBe(200);

    const missing = await api.request('PATCH', `/v1/employees/${id}`, { token: session, body: { password: 'a brand new password' } });
    expect(missing.status, missing.text).toBe(400);
    expect(missing.body.error.details[0].field).toBe('body.currentPassword');
    const wrong = await api.request('PATCH', `/v1/employees/${id}`, { token: session, body: { password: 'a brand new password', currentPassword: 'not it' } });
    expect(wrong.status, wrong.text).toBe(403);
    expect(wrong.body.error).toMatchObject({ code: 'forbidden', details: [{ field: 'body.currentPassword' }] });
    const alone = await api.request('PATCH', `/v1/employees/${id}`, { token: session, body: { currentPassword: OLD } });
    expect(alone.status).toBe(400);
    expect(alone.body.error.details[0].field).toBe('body.currentPassword');
    // Nothing changed so far.
    expect((await login(api, 'ada@example.com', OLD)).status).toBe(200);
    expect((await api.request('GET', '/v1/me', { token: other })).status).toBe(200);

    const changed = await api.request('PATCH', `/v1/employees/${id}`, { token: session, body: { password: 'a brand new password', currentPassword: OLD } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.text).not.toContain('password');
    // At once on this instance: every token issued before the change is refused, the old password too.
    for (const token of [session, other]) {
      const r = await api.request('GET', '/v1/me', { token });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthenticated');
    }
    expect((await login(api, 'ada@example.com', OLD)).status).toBe(401);
    const fresh = await login(api, 'ada@example.com', 'a brand new password');
    expect(fresh.status).toBe(200);
    expect((await api.request('GET', '/v1/me', { token: fresh.body.accessToken })).status).toBe(200);
    const events = await api.tdb.db.query<{ envelope: { payload: { changed: string[] } } }>(`SELECT envelope FROM outbox WHERE type = 'employee.updated'`);
    expect(events.rows.map((e) => e.envelope.payload.changed)).toEqual([['password']]);
  });

  test('wrong current passwords count as failed logins of the account (429 past the limit)', async ({ api }) => {
    const departmentId = await api.makeDepartment();
    const id = await api.makeEmployee({ departmentId, email: 'bob@example.com' });
    const token = await api.tokenFor(id);
    const max = api.deps.config.LOGIN_MAX_PER_ACCOUNT;
    for (let i = 0; i < max; i++) {
      expect((await api.request('PATCH', `/v1/employees/${id}`, { token, body: { password: 'a brand new password', currentPassword: `guess ${i}` } })).status).toBe(403);
    }
    const blocked = await api.request('PATCH', `/v1/employees/${id}`, { token, body: { password: 'a brand new password', currentPassword: OLD } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test("an admin resets another user's password without theirs; the user's older tokens are refused", async ({ api }) => {
    const admin = await api.login('admin');
    const departmentId = await api.makeDepartment();
    const id = await api.makeEmployee({ departmentId, email: 'cy@example.com' });
    const token = (await login(api, 'cy@example.com', OLD)).body.accessToken as string;
    expect((await api.request('GET', '/v1/me', { token })).status).toBe(200);
    const reset = await api.request('PATCH', `/v1/employees/${id}`, { token: admin.token, body: { password: 'reset by the admin' } });
    expect(reset.status, reset.text).toBe(200);
    expect((await api.request('GET', '/v1/me', { token })).status).toBe(401);
    expect((await login(api, 'cy@example.com', 'reset by the admin')).status).toBe(200);
    // The admin's own session is untouched.
    expect((await api.request('GET', '/v1/me', { token: admin.token })).status).toBe(200);
    // A manager resets a role-employee of their subtree the same way.
    const manager = await api.login('manager', departmentId);
    expect((await api.request('PATCH', `/v1/employees/${id}`, { token: manager.token, body: { password: 'reset by the manager' } })).status).toBe(200);
    expect((await login(api, 'cy@example.com', 'reset by the manager')).status).toBe(200);
  });
});
