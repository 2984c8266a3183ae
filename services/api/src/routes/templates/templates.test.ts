import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

const night = { code: 'N', name: 'Night', startTime: '22:00', endTime: '06:00', requiredSkills: ['icu'], payMultiplier: 1.25 };

describe('shift templates', () => {
  test('manager creates an overnight template with forbidden successions; list, get, patch, delete; cache and events', async ({ api }) => {
    const dept = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('manager', dept);
    const early = await api.request('POST', `/v1/departments/${dept}/shift-templates`, { token, body: { code: 'E', name: 'Early', startTime: '06:00', endTime: '14:00' } });
    expect(early.status).toBe(201);
    expect(early.body).toMatchObject({ code: 'E', durationMinutes: 480, crossesMidnight: false, payMultiplier: 1, cannotBeFollowedBy: [] });
    const n = await api.request('POST', `/v1/departments/${dept}/shift-templates`, { token, body: { ...night, cannotBeFollowedBy: [early.body.id] } });
    expect(n.status).toBe(201);
    expect(n.headers.get('location')).toBe(`/v1/departments/${dept}/shift-templates/${n.body.id}`);
    expect(n.body).toMatchObject({ startTime: '22:00', endTime: '06:00', durationMinutes: 480, crossesMidnight: true, requiredSkills: ['icu'], payMultiplier: 1.25, cannotBeFollowedBy: [early.body.id] });
    const succ = await api.tdb.db.query('SELECT from_template_id, to_template_id FROM template_successions');
    expect(succ.rows).toEqual([{ from_template_id: n.body.id, to_template_id: early.body.id }]);

    const list1 = await api.request('GET', `/v1/departments/${dept}/shift-templates`, { token });
    expect(list1.status).toBe(200);
    expect(list1.headers.get('x-cache')).toBe('MISS');
    expect(Number(list1.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    expect(list1.body.data.map((t: { code: string }) => t.code)).toEqual(['E', 'N']);
    const list2 = await api.request('GET', `/v1/departments/${dept}/shift-templates`, { token });
    expect(list2.headers.get('x-cache')).toBe('HIT');
    const notModified = await api.request('GET', `/v1/departments/${dept}/shift-templates`, { token, headers: { 'if-none-match': list2.headers.get('etag')! } });
    expect(notModified.status).toBe(304);

    const patched = await api.request('PATCH', `/v1/departments/${dept}/shift-templates/${n.body.id}`, { token, body: { endTime: '07:00', cannotBeFollowedBy: [] } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ durationMinutes: 540, cannotBeFollowedBy: [] });
    const list3 = await api.request('GET', `/v1/departments/${dept}/shift-templates`, { token });
    expect(list3.headers.get('x-cache')).toBe('MISS');
    expect(list3.body.data[1].endTime).toBe('07:00');

    const one = await api.request('GET', `/v1/departments/${dept}/shift-templates/${n.body.id}`, { token });
    expect(one.body.durationMinutes).toBe(540);
    expect((await api.request('DELETE', `/v1/departments/${dept}/shift-templates/${early.body.id}`, { token })).status).toBe(204);
    expect((await api.request('GET', `/v1/departments/${dept}/shift-templates/${early.body.id}`, { token })).status).toBe(404);
    const events = await api.tdb.db.query<{ type: string }>('SELECT type FROM outbox ORDER BY id');
    expect(events.rows.map((r) => r.type)).toEqual(['shift_template.created', 'shift_template.created', 'shift_template.updated', 'shift_template.deleted']);
  });

  test("deleting a template with demand takes its demand out of the daily stats and the cached analytics", async ({ api }) => {
    const dept = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('manager', dept);
    const keep = await api.makeTemplate({ departmentId: dept, code: 'K' });
    const gone = await api.makeTemplate({ departmentId: dept, code: 'G' });
    const rows = [{ date: '2026-03-02', templateId: keep, required: 1 }, { date: '2026-03-02', templateId: gone, required: 3 }, { date: '2026-03-04', templateId: gone, required: 2 }];
    expect((await api.request('PUT', `/v1/departments/${dept}/demand`, { token, body: { rows } })).status).toBe(200);
    const slots = async (): Promise<{ demand: number; cache: string | null }> => {
      const r = await api.request('GET', `/v1/analytics/overview?from=2026-03-01&to=2026-03-07&departmentId=${dept}`, { token });
      return { demand: r.body.demandSlots, cache: r.headers.get('x-cache') };
    };
    expect(await slots()).toEqual({ demand: 6, cache: 'MISS' });
    expect(await slots()).toEqual({ demand: 6, cache: 'HIT' });

    expect((await api.request('DELETE', `/v1/departments/${dept}/shift-templates/${gone}`, { token })).status).toBe(204);
    expect(await slots()).toEqual({ demand: 1, cache: 'MISS' });
    const stats = await api.tdb.db.query<{ date: string; demand: number }>(
      `SELECT date::text AS date, demand_slots AS demand FROM department_daily_stats WHERE department_id = $1 AND demand_slots > 0 ORDER BY date`, [dept]);
    expect(stats.rows).toEqual([{ date: '2026-03-02', demand: 1 }]);
    const events = await api.tdb.db.query<{ type: string; payload: unknown }>(
      `SELECT type, envelope->'payload' AS payload FROM outbox WHERE type <> 'demand.changed' OR envelope->'payload' ? 'deleted' ORDER BY id`);
    expect(events.rows).toEqual([
      { type: 'shift_template.deleted', payload: {} },
      { type: 'demand.changed', payload: { from: '2026-03-02', to: '2026-03-04', inserted: 0, updated: 0, deleted: 2, templateId: gone } },
    ]);
  });

  test('paginates with a cursor, ≤ 2 queries per page', async ({ api }) => {
    const { token, departmentId } = await api.login('admin');
    for (let i = 0; i < 5; i++) await api.makeTemplate({ departmentId, code: `C${i}` });
    await api.request('GET', '/v1/me', { token }); // principal lookup (memoised) is not the list's
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.request('GET', `/v1/departments/${departmentId}/shift-templates?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expect(page.status).toBe(200);
      expect(Number(page.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((t: { code: string }) => t.code));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['C0', 'C1', 'C2', 'C3', 'C4']);
  });

  test('validation: 400 naming the field, 409 on a duplicate code, 409 deleting a template in use', async ({ api }) => {
    const { token, departmentId: dept } = await api.login('admin');
    const other = await api.makeDepartment();
    const foreign = await api.makeTemplate({ departmentId: other });
    const base = `/v1/departments/${dept}/shift-templates`;
    const cases: [string, string, unknown, string][] = [
      ['POST', base, { ...night, code: '' }, 'body.code'],
      ['POST', base, { ...night, code: 'has space' }, 'body.code'],
      ['POST', base, { ...night, startTime: '25:00' }, 'body.startTime'],
      ['POST', base, { ...night, endTime: 'noon' }, 'body.endTime'],
      ['POST', base, { ...night, payMultiplier: 0 }, 'body.payMultiplier'],
      ['POST', base, { ...night, payMultiplier: 11 }, 'body.payMultiplier'],
      ['POST', base, { ...night, requiredSkills: 'icu' }, 'body.requiredSkills'],
      ['POST', base, { ...night, cannotBeFollowedBy: [foreign] }, 'body.cannotBeFollowedBy.0'],
      ['POST', base, { ...night, cannotBeFollowedBy: ['x'] }, 'body.cannotBeFollowedBy.0'],
      ['POST', base, { ...night, bogus: 1 }, 'body.bogus'],
      ['POST', base, { ...night, name: 'a\u0000b' }, 'body.name'],
      ['POST', base, { ...night, requiredSkills: ['x\u0000'] }, 'body.requiredSkills.0'],
      ['POST', base, { name: 'x' }, 'body.code'],
      ['PATCH', `${base}/1`, {}, 'body'],
      ['GET', `${base}?limit=0`, undefined, 'query.limit'],
      ['GET', `/v1/departments/abc/shift-templates`, undefined, 'params.id'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await api.request(method, path, { token, ...(body !== undefined ? { body } : {}) });
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect((await api.request('POST', base, { token, body: night })).status).toBe(201);
    const dup = await api.request('POST', base, { token, body: night });
    expect(dup.status).toBe(409);
    expect(dup.body.error.details[0].field).toBe('code');
    const t = await api.makeTemplate({ departmentId: dept, code: 'X' });
    const dupPatch = await api.request('PATCH', `${base}/${t}`, { token, body: { code: 'N' } });
    expect(dupPatch.status).toBe(409);
    expect(dupPatch.body.error.details[0].field).toBe('code');
    // A template used by shifts cannot be deleted.
    const sched = await api.tdb.db.query<{ id: string }>(`INSERT INTO schedules (department_id, period_start, period_end) VALUES ($1, '2026-03-02', '2026-03-08') RETURNING id`, [dept]);
    await api.tdb.db.query(`SELECT rota_ensure_shift_partitions('2026-03-02', '2026-03-02')`);
    await api.tdb.db.query(`INSERT INTO shifts (schedule_id, department_id, template_id, date, open_slot, starts_at, ends_at) VALUES ($1, $2, $3, '2026-03-02', 1, '2026-03-02T08:00Z', '2026-03-02T16:00Z')`, [sched.rows[0]!.id, dept, t]);
    const inUse = await api.request('DELETE', `${base}/${t}`, { token });
    expect(inUse.status).toBe(409);
    expect((await api.request('DELETE', `${base}/424242`, { token })).status).toBe(404);
    expect((await api.request('GET', `/v1/departments/424242/shift-templates`, { token })).status).toBe(404);
  });

  test('authorization: 401 anonymous, employees read their own department only, managers write within their subtree', async ({ api }) => {
    const top = await api.makeDepartment();
    const mine = await api.makeDepartment({ parentId: top });
    const child = await api.makeDepartment({ parentId: mine });
    const other = await api.makeDepartment({ parentId: top });
    const t = await api.makeTemplate({ departmentId: child });
    const manager = await api.login('manager', mine);
    const employee = await api.login('employee', child);
    expect((await api.request('GET', `/v1/departments/${child}/shift-templates`)).status).toBe(401);
    expect((await api.request('GET', `/v1/departments/${child}/shift-templates`, { token: employee.token })).status).toBe(200);
    expect((await api.request('GET', `/v1/departments/${child}/shift-templates/${t}`, { token: employee.token })).status).toBe(200);
    expect((await api.request('GET', `/v1/departments/${mine}/shift-templates`, { token: employee.token })).status).toBe(404);
    expect((await api.request('POST', `/v1/departments/${child}/shift-templates`, { token: employee.token, body: night })).status).toBe(403);
    expect((await api.request('PATCH', `/v1/departments/${child}/shift-templates/${t}`, { token: employee.token, body: { name: 'x' } })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/departments/${child}/shift-templates/${t}`, { token: employee.token })).status).toBe(403);
    expect((await api.request('POST', `/v1/departments/${child}/shift-templates`, { token: manager.token, body: night })).status).toBe(201);
    expect((await api.request('POST', `/v1/departments/${other}/shift-templates`, { token: manager.token, body: night })).status).toBe(403);
    expect((await api.request('GET', `/v1/departments/${other}/shift-templates`, { token: manager.token })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/departments/${child}/shift-templates/${t}`, { token: manager.token })).status).toBe(204);
  });
});
