import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

const names = (r: { body: { data: { lastName: string }[] } }): string[] => r.body.data.map((e) => e.lastName).sort();

/** Follows nextCursor to the end; asserts the query budget on every page. */
async function readAll(api: TestApi, token: string, path: string, limit: number, during?: () => Promise<void>): Promise<any[]> {
  const rows: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page: any = await api.request('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { token });
    expect(page.status, page.text).toBe(200);
    expect(Number(page.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    rows.push(...page.body.data);
    await during?.();
    cursor = page.body.nextCursor;
    if (!cursor) break;
  }
  return rows;
}

describe('GET /v1/employees', () => {
  test('filters by department (with subtree), role, skill, active and q; embeds what a UI needs; at most 2 queries', async ({ api }) => {
    const { token } = await api.login('admin');
    const root = await api.makeDepartment({ name: 'Hospital' });
    const ward = await api.makeDepartment({ name: 'Ward', parentId: root });
    const other = await api.makeDepartment({ name: 'Other' });
    await api.makeEmployee({ departmentId: root, lastName: 'Root', role: 'manager', skills: ['triage'], hourlyRate: 21.5 });
    await api.makeEmployee({ departmentId: ward, lastName: 'Ward_One', skills: ['triage', 'icu'], email: 'ward.one@example.com' });
    await api.makeEmployee({ departmentId: ward, lastName: 'WardTwo', active: false, email: '100%sure@example.com' });
    await api.makeEmployee({ departmentId: other, lastName: 'Elsewhere', skills: ['icu'] });

    const dept = await api.request('GET', `/v1/employees?departmentId=${root}`, { token });
    expect(names(dept)).toEqual(['Root']);
    expect(dept.body.data[0]).toMatchObject({ departmentId: root, departmentName: 'Hospital', hourlyRate: '21.50', role: 'manager', skills: ['triage'], active: true });
    expect(dept.body.data[0].hireDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Object.keys(dept.body.data[0]).sort()).toEqual(
      ['active', 'contractId', 'createdAt', 'departmentId', 'departmentName', 'email', 'firstName', 'hireDate', 'hourlyRate', 'id', 'lastName', 'role', 'skills', 'updatedAt']);

    const tree = await api.request('GET', `/v1/employees?departmentId=${root}&includeSubdepartments=true`, { token });
    expect(names(tree)).toEqual(['Root', 'WardTwo', 'Ward_One']);
    expect(Number(tree.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    expect(names(await api.request('GET', `/v1/employees?departmentId=${root}&includeSubdepartments=true&active=true`, { token }))).toEqual(['Root', 'Ward_One']);
    expect(names(await api.request('GET', '/v1/employees?role=manager', { token }))).toEqual(['Root']);
    expect(names(await api.request('GET', '/v1/employees?skill=icu', { token }))).toEqual(['Elsewhere', 'Ward_One']);
    expect(names(await api.request('GET', '/v1/employees?q=ward.ONE', { token }))).toEqual(['Ward_One']);
    // LIKE wildcards in q are literal: "_" matches only an underscore, "%" only a percent sign.
    expect(names(await api.request('GET', '/v1/employees?q=Ward_', { token }))).toEqual(['Ward_One']);
    expect(names(await api.request('GET', `/v1/employees?q=${encodeURIComponent('100%s')}`, { token }))).toEqual(['WardTwo']);
    expect(names(await api.request('GET', `/v1/employees?q=${encodeURIComponent('%')}`, { token }))).toEqual(['WardTwo']);
    const empty = await api.request('GET', `/v1/employees?departmentId=${other}&role=manager`, { token });
    expect(empty.body).toEqual({ data: [], nextCursor: null });
    const big = await api.request('GET', '/v1/employees?limit=500', { token });
    expect(Number(big.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
  });

  test('a list item is byte for byte the single read of the employee, and exactly what JSON.stringify would write', async ({ api }) => {
    const { token } = await api.login('admin');
    const dept = await api.makeDepartment({ name: 'Säle "Nord" \\ 東' });
    const tricky = [
      { lastName: 'O\'Brien "the\\great"', firstName: 'Zoë\tTab', skills: ['a"b', 'c\\d', 'ümlaut', '😀'] },
      { lastName: 'Ctl\u0001\u001f\u007fEnd', firstName: 'Line\nBreak', skills: [] },
      { lastName: '</script><b>&amp;', firstName: '\u2028\u2029sep', skills: ['x'] },
    ];
    for (const t of tricky) await api.makeEmployee({ departmentId: dept, ...t, hourlyRate: 19.05 });
    // Microseconds (the API truncates to milliseconds, as Date does), a pre-1970 and a late date,
    // zero milliseconds, a contract and a null one.
    await api.tdb.db.query(
      `UPDATE employees SET created_at = CASE WHEN last_name LIKE 'O%' THEN timestamptz '1969-12-31 23:59:59.999999+00'
                                              WHEN last_name LIKE 'C%' THEN timestamptz '2031-06-30 12:00:00+05:30'
                                              ELSE timestamptz '2024-02-29 08:07:06.123456+00' END,
              contract_id = CASE WHEN last_name LIKE 'O%' THEN (SELECT min(id) FROM contracts) END
        WHERE department_id = $1`, [dept]);
    const list = await api.request('GET', `/v1/employees?departmentId=${dept}`, { token });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(3);
    // Compact, canonical JSON: exactly what JSON.stringify would have written.
    expect(list.text).toBe(JSON.stringify(list.body));
    for (const item of list.body.data) {
      const one = await api.request('GET', `/v1/employees/${item.id}`, { token });
      expect(one.status).toBe(200);
      expect(JSON.stringify(item)).toBe(one.text);
    }
    expect(list.body.data.map((e: { createdAt: string }) => e.createdAt).sort())
      .toEqual(['1969-12-31T23:59:59.999Z', '2024-02-29T08:07:06.123Z', '2031-06-30T06:30:00.000Z']);
    // The values themselves, as stored (Postgres builds this JSON, employees.api_json; nothing in Node re-creates it).
    const obrien = list.body.data.find((e: { lastName: string }) => e.lastName.startsWith('O'));
    const stored = (await api.tdb.db.query<{ id: string; contract_id: string | null; updated_at: Date }>(
      'SELECT id, contract_id, updated_at FROM employees WHERE id = $1', [obrien.id])).rows[0]!;
    expect(obrien).toEqual({
      id: stored.id, email: obrien.email, firstName: 'Zoë\tTab', lastName: 'O\'Brien "the\\great"', role: 'employee',
      departmentId: dept, departmentName: 'Säle "Nord" \\ 東', contractId: stored.contract_id, hireDate: obrien.hireDate,
      hourlyRate: '19.05', skills: ['a"b', 'c\\d', 'ümlaut', '😀'], active: true,
      createdAt: '1969-12-31T23:59:59.999Z', updatedAt: stored.updated_at.toISOString(),
    });
    expect(list.body.data.find((e: { firstName: string }) => e.firstName === 'Line\nBreak').skills).toEqual([]);
  });

  test('Postgres keeps the stored JSON true for every writer; updatedAt moves only when the employee changes', async ({ api }) => {
    const { token } = await api.login('admin');
    const alpha = await api.makeDepartment({ name: 'Alpha' });
    const beta = await api.makeDepartment({ name: 'Beta' });
    const id = await api.makeEmployee({ departmentId: alpha, lastName: 'Stored', skills: ['a'] });
    const row = async () => (await api.tdb.db.query<{ api_json: string; updated_at: Date }>(
      'SELECT api_json, updated_at FROM employees WHERE id = $1', [id])).rows[0]!;
    const first = await row();
    expect(JSON.parse(first.api_json)).toMatchObject({ id, departmentName: 'Alpha', skills: ['a'], updatedAt: first.updated_at.toISOString() });

    // A rename of the department rewrites the name in its employees' JSON; they did not change.
    await api.tdb.db.query(`UPDATE departments SET name = 'Alpha "2"' WHERE id = $1`, [alpha]);
    const renamed = await row();
    expect(JSON.parse(renamed.api_json)).toEqual({ ...JSON.parse(first.api_json), departmentName: 'Alpha "2"' });
    expect(renamed.updated_at).toEqual(first.updated_at);
    // The column cannot be written: a statement setting it gets it rebuilt. A no-op update changes nothing.
    await api.tdb.db.query(`UPDATE employees SET api_json = '{"forged":true}' WHERE id = $1`, [id]);
    await api.tdb.db.query('UPDATE employees SET last_name = last_name WHERE id = $1', [id]);
    expect(await row()).toEqual(renamed);

    // A writer other than the API (plain SQL): the JSON and updatedAt follow.
    await api.tdb.db.query(`UPDATE employees SET department_id = $2, skills = '{sql}', hourly_rate = 30 WHERE id = $1`, [id, beta]);
    const moved = await row();
    expect(moved.updated_at.getTime()).toBeGreaterThan(first.updated_at.getTime());
    expect(JSON.parse(moved.api_json)).toEqual({
      ...JSON.parse(first.api_json), departmentId: beta, departmentName: 'Beta', skills: ['sql'], hourlyRate: '30.00', updatedAt: moved.updated_at.toISOString(),
    });
    // What the API serves is that text.
    const list = await api.request('GET', `/v1/employees?departmentId=${beta}`, { token });
    expect(list.text).toBe(`{"data":[${moved.api_json}],"nextCursor":null}`);
  });

  test('create and update answer with the same representation as the reads', async ({ api }) => {
    const { token, departmentId } = await api.login('admin');
    const created = await api.request('POST', '/v1/employees', {
      token, body: { email: 'unicode.tab@example.com', firstName: 'Ünïcode', lastName: 'Tab\tName', departmentId, skills: ['x"y'], hourlyRate: '12.50' },
    });
    expect(created.status, created.text).toBe(201);
    const read = await api.request('GET', `/v1/employees/${created.body.id}`, { token });
    expect(created.text).toBe(read.text);
    const patched = await api.request('PATCH', `/v1/employees/${created.body.id}`, { token, body: { lastName: 'Renamed\\' } });
    expect(patched.status, patched.text).toBe(200);
    const again = await api.request('GET', `/v1/employees/${created.body.id}`, { token });
    expect(patched.text).toBe(again.text);
    expect(again.body).toMatchObject({ lastName: 'Renamed\\', firstName: 'Ünïcode', skills: ['x"y'], hourlyRate: '12.50' });
  });

  test.for([
    ['lastName', 'asc'], ['lastName', 'desc'], ['hireDate', 'asc'], ['hireDate', 'desc'], ['createdAt', 'asc'], ['createdAt', 'desc'],
  ] as const)('keyset pagination by %s %s returns every row once, in order, despite ties and concurrent inserts', async ([sort, order], { api }) => {
    const { token, departmentId } = await api.login('admin');
    // Many ties on every sort column; created_at values differ only in microseconds.
    await api.tdb.db.query(
      `INSERT INTO employees (email, first_name, last_name, department_id, hire_date, created_at)
       SELECT 'p' || g || '@x.io', 'F', 'L' || (g % 5), $1, date '2020-01-01' + (g % 4),
              timestamptz '2024-01-01' + (g % 6) * interval '1 microsecond'
         FROM generate_series(1, 60) g`, [departmentId]);
    const col = { lastName: 'last_name', hireDate: 'hire_date', createdAt: 'created_at' }[sort];
    const expected = await api.tdb.db.query<{ id: string }>(
      `SELECT id FROM employees WHERE department_id = $1 ORDER BY ${col} ${order}, id ${order}`, [departmentId]);
    let n = 0;
    const rows = await readAll(api, token, `/v1/employees?departmentId=${departmentId}&sort=${sort}&order=${order}`, 7, async () => {
      // Inserted while paging, sorting into the middle; excluded from the comparison below.
      await api.tdb.db.query(`INSERT INTO employees (email, first_name, last_name, department_id, hire_date, created_at)
        VALUES ($1, 'F', 'L2', $2, '2020-01-02', timestamptz '2024-01-01' + interval '3 microseconds')`, [`late${n++}@x.io`, departmentId]);
    });
    const seen = rows.filter((r) => !r.email.startsWith('late')).map((r) => r.id);
    expect(seen).toEqual(expected.rows.map((r) => r.id));
  });

  test('a write invalidates the lists that contain the employee, while an unrelated department stays cached', async ({ api }) => {
    const { token } = await api.login('admin');
    const parent = await api.makeDepartment({ name: 'Parent' });
    const a = await api.makeDepartment({ name: 'A', parentId: parent });
    const b = await api.makeDepartment({ name: 'B' });
    const emp = await api.makeEmployee({ departmentId: a, lastName: 'Before' });
    await api.makeEmployee({ departmentId: b, lastName: 'Bee' });
    const paths = [`/v1/employees?departmentId=${a}`, `/v1/employees?departmentId=${parent}&includeSubdepartments=true`, '/v1/employees', `/v1/employees?departmentId=${b}`];
    for (const p of paths) expect((await api.request('GET', p, { token })).headers.get('x-cache')).toBe('MISS');
    for (const p of paths) {
      const hit = await api.request('GET', p, { token });
      expect(hit.headers.get('x-cache'), p).toBe('HIT');
      expect(hit.headers.get('x-db-queries')).toBe('0');
    }

    const patched = await api.request('PATCH', `/v1/employees/${emp}`, { token, body: { lastName: 'After' } });
    expect(patched.status).toBe(200);
    for (const p of paths.slice(0, 3)) {
      const r = await api.request('GET', p, { token });
      expect(r.headers.get('x-cache'), p).toBe('MISS');
      expect(names(r)).toContain('After');
      expect(names(r)).not.toContain('Before');
    }
    const unrelated = await api.request('GET', paths[3]!, { token });
    expect(unrelated.headers.get('x-cache')).toBe('HIT');
    expect(names(unrelated)).toEqual(['Bee']);
  });

  test('authorization: 401 anonymous; managers see their subtree (403 outside or above it); employees see themselves', async ({ api }) => {
    expect((await api.request('GET', '/v1/employees')).status).toBe(401);
    const top = await api.makeDepartment({ name: 'Top' });
    const mine = await api.makeDepartment({ name: 'Mine', parentId: top });
    const child = await api.makeDepartment({ name: 'Child', parentId: mine });
    const other = await api.makeDepartment({ name: 'Other', parentId: top });
    await api.makeEmployee({ departmentId: top, lastName: 'TopPerson' });
    await api.makeEmployee({ departmentId: child, lastName: 'ChildPerson' });
    await api.makeEmployee({ departmentId: other, lastName: 'OtherPerson' });
    const manager = await api.login('manager', mine);
    const employee = await api.login('employee', child);

    const list = await api.request('GET', '/v1/employees', { token: manager.token });
    expect(new Set(list.body.data.map((e: { departmentId: string }) => e.departmentId))).toEqual(new Set([mine, child]));
    expect(list.body.data).toHaveLength(3); // the manager, ChildPerson and the employee
    expect(names(await api.request('GET', `/v1/employees?departmentId=${child}`, { token: manager.token }))).toContain('ChildPerson');
    expect((await api.request('GET', `/v1/employees?departmentId=${other}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('GET', `/v1/employees?departmentId=${top}&includeSubdepartments=true`, { token: manager.token })).status).toBe(403);

    const own = await api.request('GET', '/v1/employees', { token: employee.token });
    expect(own.body.data.map((e: { id: string }) => e.id)).toEqual([employee.employeeId]);
    expect((await api.request('GET', `/v1/employees?departmentId=${child}`, { token: employee.token })).body.data).toHaveLength(1);
    expect((await api.request('GET', `/v1/employees?departmentId=${mine}`, { token: employee.token })).status).toBe(403);
  });

  test('rejects bad input with a 400 naming the field', async ({ api }) => {
    const { token, departmentId } = await api.login('admin');
    const page = await api.request('GET', `/v1/employees?limit=1&sort=hireDate`, { token });
    await api.makeEmployee({ departmentId });
    const foreignCursor = (await api.request('GET', '/v1/employees?limit=1&sort=hireDate', { token })).body.nextCursor as string;
    expect(page.status).toBe(200);
    const cases: [string, string][] = [
      ['/v1/employees?limit=0', 'query.limit'],
      ['/v1/employees?limit=501', 'query.limit'],
      ['/v1/employees?sort=salary', 'query.sort'],
      ['/v1/employees?order=up', 'query.order'],
      ['/v1/employees?role=boss', 'query.role'],
      ['/v1/employees?active=yes', 'query.active'],
      ['/v1/employees?departmentId=abc', 'query.departmentId'],
      ['/v1/employees?departmentId=999999', 'query.departmentId'],
      ['/v1/employees?includeSubdepartments=true', 'query.includeSubdepartments'],
      ['/v1/employees?q=', 'query.q'],
      [`/v1/employees?q=${'x'.repeat(101)}`, 'query.q'],
      ['/v1/employees?bogus=1', 'query.bogus'],
      ['/v1/employees?q=a%00b', 'query.q'],
      ['/v1/employees?skill=%00', 'query.skill'],
      ['/v1/employees?cursor=garbage', 'cursor'],
      [`/v1/employees?sort=lastName&cursor=${foreignCursor}`, 'cursor'],
    ];
    for (const [path, field] of cases) {
      const r = await api.request('GET', path, { token });
      expect(r.status, path).toBe(400);
      expect(JSON.stringify(r.body.error.details), path).toContain(field);
    }
  });
});
