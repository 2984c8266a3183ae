import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';
import { realQueue } from '../generation/testing.ts';
import { makeSchedule, makeShift, refreshStats } from './test-factories.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });
const withQueue = base.extend<{ api: TestApi }>({ api: apiFixture({ generation: realQueue }) });

describe('schedules', () => {
  test('list filters by department (and subtree), status and overlapping period; keyset by period desc; ≤ 2 queries', async ({ api }) => {
    const { token } = await api.login('admin');
    const top = await api.makeDepartment({ name: 'Top' });
    const ward = await api.makeDepartment({ name: 'Ward', parentId: top });
    const other = await api.makeDepartment({ name: 'Other' });
    const ids: string[] = [];
    for (let w = 0; w < 6; w++) {
      const start = new Date(Date.parse('2026-01-05T00:00:00Z') + w * 7 * 86_400_000).toISOString().slice(0, 10);
      const end = new Date(Date.parse(`${start}T00:00:00Z`) + 6 * 86_400_000).toISOString().slice(0, 10);
      ids.push(await makeSchedule(api, { departmentId: w % 2 ? top : ward, start, end, status: w < 3 ? 'published' : 'draft' }));
    }
    await makeSchedule(api, { departmentId: other, start: '2026-01-05', end: '2026-01-11' });
    await api.request('GET', '/v1/me', { token });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.request('GET', `/v1/schedules?departmentId=${top}&includeSubdepartments=true&limit=4${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expect(page.status).toBe(200);
      expect(page.headers.get('x-db-queries')).toBe('1'); // the department (authorization) and the page in one query
      seen.push(...page.body.data.map((s: { id: string }) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const unknown = await api.request('GET', '/v1/schedules?departmentId=987654', { token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const none = await api.request('GET', `/v1/schedules?departmentId=${ward}&status=archived`, { token });
    expect(none.status, none.text).toBe(200);
    expect(none.body).toEqual({ data: [], nextCursor: null });
    const onlyTop = await api.request('GET', `/v1/schedules?departmentId=${top}`, { token });
    expect(onlyTop.body.data.map((s: { id: string }) => s.id)).toEqual([ids[5], ids[3], ids[1]]);
    const published = await api.request('GET', `/v1/schedules?departmentId=${top}&includeSubdepartments=true&status=published`, { token });
    expect(published.body.data.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[1], ids[0]]);
    // Overlap: 2026-01-11 is the last day of week 0, 2026-01-12 the first of week 1.
    const overlap = await api.request('GET', `/v1/schedules?departmentId=${top}&includeSubdepartments=true&from=2026-01-11&to=2026-01-12`, { token });
    expect(overlap.body.data.map((s: { id: string }) => s.id)).toEqual([ids[1], ids[0]]);
    expect(overlap.body.data[0]).toMatchObject({ departmentId: top, departmentName: 'Top', periodStart: '2026-01-12', periodEnd: '2026-01-18', status: 'published', version: 1 });
    const all = await api.request('GET', '/v1/schedules?limit=500', { token });
    expect(all.body.data).toHaveLength(7);
    expect(Number(all.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
  });

  test('get returns score and the coverage summary from daily stats in one query; shifts list pages by date with names and codes', async ({ api }) => {
    const dept = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('manager', dept);
    const t = await api.makeTemplate({ departmentId: dept, code: 'E', start: '06:00', end: '16:00' });
    const ann = await api.makeEmployee({ departmentId: dept, firstName: 'Ann', lastName: 'Lee', hourlyRate: 30 });
    const bob = await api.makeEmployee({ departmentId: dept, firstName: 'Bob', lastName: 'Ray', hourlyRate: 20 });
    const s = await makeSchedule(api, { departmentId: dept, start: '2026-03-02', end: '2026-03-08' });
    await api.tdb.db.query(`UPDATE schedules SET score = '{"hard": 0, "soft": 12.5}' WHERE id = $1`, [s]);
    await api.tdb.db.query(`INSERT INTO demand (department_id, template_id, date, required) VALUES ($1, $2, '2026-03-02', 2), ($1, $2, '2026-03-03', 2)`, [dept, t]);
    const shifts = [
      await makeShift(api, { scheduleId: s, employeeId: ann, templateId: t, date: '2026-03-02' }),
      await makeShift(api, { scheduleId: s, employeeId: bob, templateId: t, date: '2026-03-02' }),
      await makeShift(api, { scheduleId: s, employeeId: ann, templateId: t, date: '2026-03-03' }),
      await makeShift(api, { scheduleId: s, employeeId: null, templateId: t, date: '2026-03-04' }),
    ];
    await refreshStats(api, dept, '2026-03-02', '2026-03-08');
    await api.request('GET', '/v1/me', { token }); // the principal lookup (memoised) is not the endpoint's

    const got = await api.request('GET', `/v1/schedules/${s}`, { token });
    expect(got.status).toBe(200);
    expect(Number(got.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    expect(got.body).toMatchObject({ id: s, status: 'draft', score: { hard: 0, soft: 12.5 } });
    // 3 assigned 10 h shifts: 30 h; cost 10×30 + 10×20 + 10×30 = 800; overtime 2 h each.
    expect(got.body.coverage).toEqual({
      demandSlots: 4, coveredSlots: 3, understaffedSlots: 1, coveragePercent: 75, scheduledHours: 30, labourCost: '800.00',
      overtimeHours: 6, shiftCount: 3, openShifts: 1,
    });
    const again = await api.request('GET', `/v1/schedules/${s}`, { token });
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.headers.get('x-db-queries')).toBe('0');

    const p1 = await api.request('GET', `/v1/schedules/${s}/shifts?limit=3`, { token });
    expect(p1.status).toBe(200);
    expect(Number(p1.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    expect(p1.body.data.map((x: { id: string }) => x.id)).toEqual(shifts.slice(0, 3));
    expect(p1.body.data[0]).toMatchObject({ date: '2026-03-02', employeeName: 'Ann Lee', templateCode: 'E', startsAt: '2026-03-02T06:00:00.000Z', endsAt: '2026-03-02T16:00:00.000Z', status: 'scheduled', source: 'generated' });
    const p2 = await api.request('GET', `/v1/schedules/${s}/shifts?limit=3&cursor=${p1.body.nextCursor}`, { token });
    expect(p2.body).toMatchObject({ data: [{ id: shifts[3], employeeId: null, employeeName: null, openSlot: 1 }], nextCursor: null });
    const annOnly = await api.request('GET', `/v1/schedules/${s}/shifts?employeeId=${ann}&from=2026-03-03`, { token });
    expect(annOnly.body.data.map((x: { id: string }) => x.id)).toEqual([shifts[2]]);
    const big = await api.request('GET', `/v1/schedules/${s}/shifts?limit=500`, { token });
    expect(Number(big.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
  });

  test('publish: draft → published (version + 1, published_by), overlapping published schedules archived, event recorded, 409 when not a draft', async ({ api }) => {
    const dept = await api.makeDepartment();
    const { token, employeeId } = await api.login('manager', dept);
    const t = await api.makeTemplate({ departmentId: dept });
    const e = await api.makeEmployee({ departmentId: dept });
    const old = await makeSchedule(api, { departmentId: dept, start: '2026-03-02', end: '2026-03-15', status: 'published' });
    const untouched = await makeSchedule(api, { departmentId: dept, start: '2026-03-16', end: '2026-03-22', status: 'published' });
    await makeShift(api, { scheduleId: old, employeeId: e, templateId: t, date: '2026-03-03' });
    const draft = await makeSchedule(api, { departmentId: dept, start: '2026-03-09', end: '2026-03-15' });
    await refreshStats(api, dept, '2026-03-02', '2026-03-22');
    const before = await api.request('GET', `/v1/schedules?departmentId=${dept}&status=published`, { token });
    expect(before.body.data).toHaveLength(2);

    const r = await api.request('POST', `/v1/schedules/${draft}/publish`, { token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: draft, status: 'published', version: 2, publishedBy: employeeId, archivedScheduleIds: [old] });
    expect(r.body.publishedAt).toBeTruthy();
    const rows = await api.tdb.db.query<{ id: string; status: string }>('SELECT id, status FROM schedules ORDER BY id');
    expect(rows.rows).toEqual([{ id: old, status: 'archived' }, { id: untouched, status: 'published' }, { id: draft, status: 'published' }]);
    // The archived roster's shifts no longer count in analytics.
    const stats = await api.tdb.db.query<{ n: number }>(`SELECT coalesce(sum(shift_count), 0)::int AS n FROM department_daily_stats WHERE department_id = $1`, [dept]);
    expect(stats.rows[0]!.n).toBe(0);
    // Lists were invalidated by the commit.
    const after = await api.request('GET', `/v1/schedules?departmentId=${dept}&status=published`, { token });
    expect(after.body.data.map((s: { id: string }) => s.id)).toEqual([untouched, draft]);
    const ev = await api.tdb.db.query<{ type: string; envelope: any }>(`SELECT type, envelope FROM outbox`);
    expect(ev.rows.map((x) => x.type)).toEqual(['schedule.published']);
    expect(ev.rows[0]!.envelope.scopes.scheduleIds).toEqual([draft, old]);

    const again = await api.request('POST', `/v1/schedules/${draft}/publish`, { token });
    expect(again.status).toBe(409);
    expect((await api.request('POST', `/v1/schedules/${old}/publish`, { token })).status).toBe(409);
    expect((await api.request('POST', '/v1/schedules/987654/publish', { token })).status).toBe(404);
  });

  test('publish checks the whole roster against every hard rule, minimums included: 409 listing them; acceptRuleViolations publishes and reports them', async ({ api }) => {
    const dept = await api.makeDepartment();
    const { token } = await api.login('manager', dept);
    const t = await api.makeTemplate({ departmentId: dept, code: 'D', start: '08:00', end: '16:00' });
    const ann = await api.makeEmployee({ departmentId: dept, firstName: 'Ann' });
    const bob = await api.makeEmployee({ departmentId: dept, firstName: 'Bob' });
    await api.tdb.db.query('INSERT INTO employee_rules (employee_id, min_minutes_per_period) VALUES ($1, 960)', [ann]);
    const draft = await makeSchedule(api, { departmentId: dept, start: '2026-03-02', end: '2026-03-08' });
    const annShifts = [
      await makeShift(api, { scheduleId: draft, employeeId: ann, templateId: t, date: '2026-03-02' }),
      await makeShift(api, { scheduleId: draft, employeeId: ann, templateId: t, date: '2026-03-03' }),
    ];
    await makeShift(api, { scheduleId: draft, employeeId: bob, templateId: t, date: '2026-03-04' });

    // As generated: nothing broken. Checked, then left a draft (the transaction rolls back on 409).
    const clean = await api.request('POST', `/v1/schedules/${draft}/publish?acceptRuleViolations=false`, { token });
    expect(clean.status, clean.text).toBe(200);
    expect(clean.body.ruleViolations).toEqual([]);
    await api.tdb.db.query(`UPDATE schedules SET status = 'draft', published_at = NULL WHERE id = $1`, [draft]);

    // A manual deletion (allowed: a single edit is not refused for a minimum) leaves Ann short, and
    // time off approved after generation falls on Bob's shift.
    const del = await api.request('DELETE', `/v1/shifts/${annShifts[1]}`, { token });
    expect(del.status, del.text).toBeLessThan(300);
    await api.tdb.db.query(`INSERT INTO time_off (employee_id, start_date, end_date, status) VALUES ($1, '2026-03-04', '2026-03-05', 'approved')`, [bob]);

    // The same check without publishing; an employee may not run it.
    const preview = await api.request('GET', `/v1/schedules/${draft}/rule-violations`, { token });
    expect(preview.status, preview.text).toBe(200);
    expect(preview.headers.get('cache-control')).toBe('private, no-store');
    expect(preview.body).toMatchObject({ scheduleId: draft, status: 'draft', unchecked: 0 });
    expect(preview.body.violations.map((v: { rule: string }) => v.rule).sort()).toEqual(['min-minutes-per-period', 'not-allowed']);
    const employee = await api.login('employee', dept);
    expect((await api.request('GET', `/v1/schedules/${draft}/rule-violations`, { token: employee.token })).status).toBe(404);
    expect((await api.request('GET', '/v1/schedules/987654/rule-violations', { token })).status).toBe(404);
    expect((await api.request('GET', '/v1/schedules/x/rule-violations', { token })).status).toBe(400);

    // The run that generated the roster had found Ann's minimums out of reach and lifted them.
    const run = await api.tdb.db.query<{ id: string }>(
      `INSERT INTO generation_runs (department_id, period_start, period_end, requested_by, request_hash, status, result)
       VALUES ($1, '2026-03-02', '2026-03-08', 'user:1', 'h', 'succeeded', $2) RETURNING id`, [dept, JSON.stringify({ relaxedMinimumsEmployeeIds: [ann] })]);
    await api.tdb.db.query('UPDATE schedules SET generation_run_id = $2 WHERE id = $1', [draft, run.rows[0]!.id]);

    const refused = await api.request('POST', `/v1/schedules/${draft}/publish`, { token });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('rule_violation');
    expect(refused.body.error.message).toContain('acceptRuleViolations=true');
    expect(refused.body.error.message).toContain('1 of them minimums its generation already lifted');
    expect(refused.body.error.details).toEqual(expect.arrayContaining([
      { rule: 'min-minutes-per-period', employeeId: ann, message: '480 minutes, at least 960', liftedByGeneration: true },
      expect.objectContaining({ rule: 'not-allowed', employeeId: bob, date: '2026-03-04', message: expect.stringContaining('2026-03-04') }),
    ]));
    expect(refused.body.error.details).toHaveLength(2);
    expect((await api.tdb.db.query('SELECT status FROM schedules WHERE id = $1', [draft])).rows[0]).toEqual({ status: 'draft' });
    expect((await api.tdb.db.query(`SELECT 1 FROM outbox WHERE type = 'schedule.published'`)).rows).toHaveLength(1); // the clean publish's only

    const bad = await api.request('POST', `/v1/schedules/${draft}/publish?acceptRuleViolations=yes`, { token });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error.details)).toContain('query.acceptRuleViolations');

    const forced = await api.request('POST', `/v1/schedules/${draft}/publish?acceptRuleViolations=true`, { token });
    expect(forced.status, forced.text).toBe(200);
    expect(forced.body).toMatchObject({ id: draft, status: 'published' });
    expect(forced.body.ruleViolations.map((v: { rule: string }) => v.rule).sort()).toEqual(['min-minutes-per-period', 'not-allowed']);
    const ev = await api.tdb.db.query<{ envelope: any }>(`SELECT envelope FROM outbox WHERE type = 'schedule.published' ORDER BY id DESC LIMIT 1`);
    expect(ev.rows[0]!.envelope.payload.ruleViolations).toBe(2);
    // Published: still checked (the data may change after publishing); archived: refused.
    expect((await api.request('GET', `/v1/schedules/${draft}/rule-violations`, { token })).body).toMatchObject({ status: 'published' });
    expect((await api.request('POST', `/v1/schedules/${draft}/archive`, { token })).status).toBe(200);
    expect((await api.request('GET', `/v1/schedules/${draft}/rule-violations`, { token })).status).toBe(409);
  });

  test('validation: 400 naming the field', async ({ api }) => {
    const { token } = await api.login('admin');
    const cases: [string, string][] = [
      ['/v1/schedules?status=live', 'query.status'],
      ['/v1/schedules?from=2026-13-01', 'query.from'],
      ['/v1/schedules?from=2026-03-10&to=2026-03-01', 'query.to'],
      ['/v1/schedules?departmentId=x', 'query.departmentId'],
      ['/v1/schedules?includeSubdepartments=yes', 'query.includeSubdepartments'],
      ['/v1/schedules?limit=501', 'query.limit'],
      ['/v1/schedules?cursor=zzz', 'cursor'],
      ['/v1/schedules?x=1', 'query.x'],
      ['/v1/schedules/abc', 'params.id'],
      ['/v1/schedules/1/shifts?employeeId=-1', 'query.employeeId'],
      ['/v1/schedules/1/export?format=pdf', 'query.format'],
    ];
    for (const [path, field] of cases) {
      const r = await api.request('GET', path, { token });
      expect(r.status, path).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect((await api.request('GET', '/v1/schedules/987654', { token })).status).toBe(404);
    expect((await api.request('GET', '/v1/schedules/987654/shifts', { token })).status).toBe(404);
    expect((await api.request('GET', '/v1/schedules/987654/export', { token })).status).toBe(404);
  });

  test('authorization: employees see only published schedules of their own department; managers only their subtree', async ({ api }) => {
    const top = await api.makeDepartment();
    const mine = await api.makeDepartment({ parentId: top });
    const other = await api.makeDepartment({ parentId: top });
    const pub = await makeSchedule(api, { departmentId: mine, start: '2026-03-02', end: '2026-03-08', status: 'published' });
    const draft = await makeSchedule(api, { departmentId: mine, start: '2026-03-09', end: '2026-03-15' });
    const foreign = await makeSchedule(api, { departmentId: other, start: '2026-03-02', end: '2026-03-08', status: 'published' });
    const employee = await api.login('employee', mine);
    const manager = await api.login('manager', mine);

    expect((await api.request('GET', '/v1/schedules')).status).toBe(401);
    const list = await api.request('GET', '/v1/schedules', { token: employee.token });
    expect(list.body.data.map((s: { id: string }) => s.id)).toEqual([pub]);
    expect((await api.request('GET', `/v1/schedules?departmentId=${other}`, { token: employee.token })).status).toBe(404);
    expect((await api.request('GET', `/v1/schedules/${pub}`, { token: employee.token })).status).toBe(200);
    expect((await api.request('GET', `/v1/schedules/${pub}/shifts`, { token: employee.token })).status).toBe(200);
    expect((await api.request('GET', `/v1/schedules/${pub}/export`, { token: employee.token })).status).toBe(200);
    for (const path of [`/v1/schedules/${draft}`, `/v1/schedules/${draft}/shifts`, `/v1/schedules/${draft}/export`, `/v1/schedules/${foreign}`]) {
      expect((await api.request('GET', path, { token: employee.token })).status, path).toBe(404);
    }
    expect((await api.request('POST', `/v1/schedules/${draft}/publish`, { token: employee.token })).status).toBe(404);
    expect((await api.request('POST', `/v1/schedules/${pub}/publish`, { token: employee.token })).status).toBe(403);

    const mlist = await api.request('GET', '/v1/schedules', { token: manager.token });
    expect(mlist.body.data.map((s: { id: string }) => s.id).sort()).toEqual([pub, draft].sort());
    expect((await api.request('GET', `/v1/schedules?departmentId=${other}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('GET', `/v1/schedules/${foreign}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('GET', `/v1/schedules/${foreign}/shifts`, { token: manager.token })).status).toBe(403);
    expect((await api.request('GET', `/v1/schedules/${foreign}/export`, { token: manager.token })).status).toBe(403);
    expect((await api.request('POST', `/v1/schedules/${foreign}/publish`, { token: manager.token })).status).toBe(403);
    expect((await api.request('POST', `/v1/schedules/${draft}/publish`, { token: manager.token })).status).toBe(200);
  });

  withQueue('archive: a published period can be generated again; the schedule stops counting and employees stop seeing it; idempotent; managers of the subtree only', async ({ api }) => {
    const ward = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('manager', ward);
    const emp = await api.login('employee', ward);
    const t = await api.makeTemplate({ departmentId: ward, code: 'D', start: '08:00', end: '16:00' });
    const s = await makeSchedule(api, { departmentId: ward, start: '2030-03-04', end: '2030-03-10', status: 'published' });
    await makeShift(api, { scheduleId: s, employeeId: emp.employeeId, templateId: t, date: '2030-03-05' });
    await refreshStats(api, ward, '2030-03-04', '2030-03-10');
    const hours = async (): Promise<number> =>
      (await api.request('GET', `/v1/analytics/overview?from=2030-03-04&to=2030-03-10&departmentId=${ward}`, { token })).body.scheduledHours;
    expect(await hours()).toBe(8);
    expect((await api.request('GET', `/v1/schedules/${s}`, { token: emp.token })).status).toBe(200);
    const generate = () => api.request('POST', '/v1/schedule-generations', { token, body: { departmentId: ward, periodStart: '2030-03-04', periodEnd: '2030-03-10' } });
    expect((await generate()).status).toBe(409); // a published schedule covers the period

    expect((await api.request('POST', `/v1/schedules/${s}/archive`, { token: emp.token })).status).toBe(403);
    expect((await api.request('POST', `/v1/schedules/${s}/archive`, { token: (await api.login('manager')).token })).status).toBe(403);
    const archived = await api.request('POST', `/v1/schedules/${s}/archive`, { token });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ id: s, status: 'archived', version: 2 });
    expect(await hours()).toBe(0);
    expect((await api.request('GET', `/v1/schedules/${s}`, { token: emp.token })).status).toBe(404);
    const again = await api.request('POST', `/v1/schedules/${s}/archive`, { token });
    expect(again.body).toMatchObject({ status: 'archived', version: 2 });
    const events = await api.tdb.db.query<{ type: string }>(`SELECT type FROM outbox WHERE type LIKE 'schedule.%' ORDER BY id`);
    expect(events.rows.map((r) => r.type)).toEqual(['schedule.archived']);
    expect((await generate()).status).toBe(202);
    expect((await api.request('POST', '/v1/schedules/999999/archive', { token })).status).toBe(404);
    expect((await api.request('POST', '/v1/schedules/x/archive', { token })).status).toBe(400);
  });
});
