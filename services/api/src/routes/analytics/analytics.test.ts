import { describe, expect, test as base } from 'vitest';
import { scopes } from '@rota/cache';
import { apiFixture, type TestApi } from '../../testing.ts';
import { todayIn } from '../employees/read.ts';
import { makeSchedule, makeShift, refreshStats } from '../schedules/test-factories.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

type Truth = { head_count: number; minutes: number; cost: string; demand: number; covered: number; overtime: number };

/** The same figures computed independently, straight from shifts, demand and employees. */
async function truth(api: TestApi, rootId: string, from: string, to: string): Promise<Truth> {
  const r = await api.tdb.db.query<Truth>(
    `WITH scope AS (SELECT id FROM departments WHERE path <@ (SELECT path FROM departments WHERE id = $1)),
     live AS (
       SELECT s.date, s.template_id, s.department_id, (extract(epoch FROM s.ends_at - s.starts_at) / 60)::int AS minutes,
              round((extract(epoch FROM s.ends_at - s.starts_at) / 60) * e.hourly_rate * t.pay_multiplier / 60.0, 2) AS cost
         FROM shifts s JOIN schedules sc ON sc.id = s.schedule_id JOIN employees e ON e.id = s.employee_id
         JOIN shift_templates t ON t.id = s.template_id
        WHERE s.department_id IN (SELECT id FROM scope) AND s.date BETWEEN $2 AND $3 AND s.status <> 'cancelled' AND sc.status <> 'archived')
     SELECT (SELECT count(*)::int FROM employees WHERE active AND department_id IN (SELECT id FROM scope)) AS head_count,
            (SELECT coalesce(sum(minutes), 0)::int FROM live) AS minutes,
            (SELECT coalesce(sum(cost), 0)::numeric(14,2)::text FROM live) AS cost,
            (SELECT coalesce(sum(greatest(minutes - 480, 0)), 0)::int FROM live) AS overtime,
            (SELECT coalesce(sum(required), 0)::int FROM demand WHERE department_id IN (SELECT id FROM scope) AND date BETWEEN $2 AND $3) AS demand,
            (SELECT coalesce(sum(least(d.required, (SELECT count(*) FROM live l WHERE l.date = d.date AND l.template_id = d.template_id))), 0)::int
               FROM demand d WHERE d.department_id IN (SELECT id FROM scope) AND d.date BETWEEN $2 AND $3) AS covered`,
    [rootId, from, to]);
  return r.rows[0]!;
}

describe('analytics', () => {
  test('a new hourly rate or pay multiplier re-prices rostered shifts from today on; past days keep their cost', async ({ api }) => {
    const ward = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('admin', ward);
    const D = await api.makeTemplate({ departmentId: ward, code: 'D', start: '08:00', end: '16:00' });
    const ann = await api.makeEmployee({ departmentId: ward, hourlyRate: 20 });
    const day = (offset: number): string => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const [yesterday, tomorrow] = [day(-1), day(1)];
    const s = await makeSchedule(api, { departmentId: ward, start: day(-3), end: day(3), status: 'published' });
    await makeShift(api, { scheduleId: s, employeeId: ann, templateId: D, date: yesterday });
    await makeShift(api, { scheduleId: s, employeeId: ann, templateId: D, date: tomorrow });
    await refreshStats(api, ward, day(-3), day(3));
    const cost = async (date: string): Promise<{ cost: string; cache: string | null }> => {
      const r = await api.request('GET', `/v1/analytics/departments/${ward}/daily?from=${date}&to=${date}`, { token });
      return { cost: r.body.data[0].labourCost, cache: r.headers.get('x-cache') };
    };
    expect(await cost(tomorrow)).toEqual({ cost: '160.00', cache: 'MISS' });
    expect(await cost(tomorrow)).toEqual({ cost: '160.00', cache: 'HIT' });

    expect((await api.request('PATCH', `/v1/employees/${ann}`, { token, body: { hourlyRate: 25 } })).status).toBe(200);
    expect(await cost(tomorrow)).toEqual({ cost: '200.00', cache: 'MISS' });
    expect((await cost(yesterday)).cost).toBe('160.00');

    expect((await api.request('PATCH', `/v1/departments/${ward}/shift-templates/${D}`, { token, body: { payMultiplier: 1.5 } })).status).toBe(200);
    expect(await cost(tomorrow)).toEqual({ cost: '300.00', cache: 'MISS' });
    expect((await cost(yesterday)).cost).toBe('160.00');

    // A second raise on the same day replaces the first; the rate before today stays recorded.
    expect((await api.request('PATCH', `/v1/employees/${ann}`, { token, body: { hourlyRate: '30.00' } })).status).toBe(200);
    expect(await cost(tomorrow)).toEqual({ cost: '360.00', cache: 'MISS' });
    // However late a past day is recomputed (a corrected shift, a publish over it), it is priced
    // at the rates that applied then: 8 h × 20 × 1.0, not today's 30 × 1.5.
    await refreshStats(api, ward, day(-3), day(3));
    await api.deps.cache.invalidate([{ ns: 'analytics', scopes: [scopes.department(ward)] }]);
    expect((await cost(yesterday)).cost).toBe('160.00');
    expect((await cost(tomorrow)).cost).toBe('360.00');
    const history = await api.tdb.db.query<{ valid_from: string; hourly_rate: string }>(
      `SELECT valid_from::text, hourly_rate::text FROM employee_rate_history WHERE employee_id = $1 ORDER BY valid_from`, [ann]);
    expect(history.rows).toEqual([{ valid_from: '-infinity', hourly_rate: '20.00' }, { valid_from: todayIn('UTC'), hourly_rate: '30.00' }]);
    // The same rate again records nothing.
    expect((await api.request('PATCH', `/v1/employees/${ann}`, { token, body: { hourlyRate: 30 } })).status).toBe(200);
    expect((await api.tdb.db.query('SELECT 1 FROM employee_rate_history WHERE employee_id = $1', [ann])).rowCount).toBe(2);
  });

  test('a later change closes the rate in force until then: rates never overlap', async ({ api }) => {
    const ward = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('admin', ward);
    const ann = await api.makeEmployee({ departmentId: ward, hourlyRate: 15 });
    // Changed once before, on 1 Jan 2020.
    await api.tdb.db.query(`INSERT INTO employee_rate_history (employee_id, valid_from, valid_until, hourly_rate)
      VALUES ($1, '-infinity', '2020-01-01', 10), ($1, '2020-01-01', 'infinity', 15)`, [ann]);
    expect((await api.request('PATCH', `/v1/employees/${ann}`, { token, body: { hourlyRate: '18.50' } })).status).toBe(200);
    const today = todayIn('UTC');
    const rows = await api.tdb.db.query(`SELECT valid_from::text, valid_until::text, hourly_rate::text FROM employee_rate_history WHERE employee_id = $1 ORDER BY valid_from`, [ann]);
    expect(rows.rows).toEqual([
      { valid_from: '-infinity', valid_until: '2020-01-01', hourly_rate: '10.00' },
      { valid_from: '2020-01-01', valid_until: today, hourly_rate: '15.00' },
      { valid_from: today, valid_until: 'infinity', hourly_rate: '18.50' },
    ]);
    // A change recorded from a later date than this department's today (made while the employee
    // was in a department ahead in time) is not undercut: the new rate replaces it, no overlap.
    await api.tdb.db.query(`UPDATE employee_rate_history SET valid_until = '2999-01-01' WHERE employee_id = $1 AND valid_from = $2`, [ann, today]);
    await api.tdb.db.query(`INSERT INTO employee_rate_history VALUES ($1, '2999-01-01', 'infinity', 18.50)`, [ann]);
    expect((await api.request('PATCH', `/v1/employees/${ann}`, { token, body: { hourlyRate: 19 } })).status).toBe(200);
    const last = await api.tdb.db.query(`SELECT valid_from::text, valid_until::text, hourly_rate::text FROM employee_rate_history WHERE employee_id = $1 ORDER BY valid_from DESC LIMIT 2`, [ann]);
    expect(last.rows).toEqual([
      { valid_from: '2999-01-01', valid_until: 'infinity', hourly_rate: '19.00' },
      { valid_from: today, valid_until: '2999-01-01', hourly_rate: '18.50' },
    ]);
    // Concurrent first changes of one template's multiplier (template writes only share-lock their
    // department) apply one after the other: no error, no overlap, and the last one written wins.
    const D = await api.makeTemplate({ departmentId: ward, code: 'D', start: '08:00', end: '16:00' });
    const patches = await Promise.all([1.1, 1.2, 1.3, 1.4, 1.5, 1.6].map((m) =>
      api.request('PATCH', `/v1/departments/${ward}/shift-templates/${D}`, { token, body: { payMultiplier: m } })));
    expect(patches.map((p) => p.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const hist = await api.tdb.db.query<{ valid_from: string; valid_until: string; pay_multiplier: string }>(
      `SELECT valid_from::text, valid_until::text, pay_multiplier::text FROM template_pay_multiplier_history WHERE template_id = $1 ORDER BY valid_from`, [D]);
    expect(hist.rows).toHaveLength(2);
    expect(hist.rows[0]).toEqual({ valid_from: '-infinity', valid_until: today, pay_multiplier: '1.000' });
    const now = await api.tdb.db.query<{ pay_multiplier: string }>('SELECT pay_multiplier::text FROM shift_templates WHERE id = $1', [D]);
    expect(hist.rows[1]).toEqual({ valid_from: today, valid_until: 'infinity', pay_multiplier: now.rows[0]!.pay_multiplier });
  });

  test("'from today on' is today in the department's time zone", async ({ api }) => {
    // At any hour one of UTC+14 and UTC−11 is on another date than UTC.
    const utcToday = new Date().toISOString().slice(0, 10);
    const zone = ['Pacific/Kiritimati', 'Pacific/Pago_Pago'].find((tz) => todayIn(tz) !== utcToday)!;
    const localToday = todayIn(zone);
    const ward = await api.makeDepartment({ name: 'Ward', timezone: zone });
    const { token } = await api.login('admin', ward);
    const D = await api.makeTemplate({ departmentId: ward, code: 'D', start: '08:00', end: '16:00' });
    const ann = await api.makeEmployee({ departmentId: ward, hourlyRate: 20 });
    const [from, to] = [utcToday, localToday].sort() as [string, string];
    const s = await makeSchedule(api, { departmentId: ward, start: from, end: to, status: 'published' });
    for (const date of [utcToday, localToday]) await makeShift(api, { scheduleId: s, employeeId: ann, templateId: D, date });
    await refreshStats(api, ward, from, to);
    expect((await api.request('PATCH', `/v1/employees/${ann}`, { token, body: { hourlyRate: 25 } })).status).toBe(200);
    const daily = await api.request('GET', `/v1/analytics/departments/${ward}/daily?from=${from}&to=${to}`, { token });
    const costOf = (date: string): string => daily.body.data.find((x: { date: string }) => x.date === date).labourCost;
    expect(costOf(localToday)).toBe('200.00'); // today there: re-priced
    expect(costOf(utcToday)).toBe(utcToday > localToday ? '200.00' : '160.00'); // yesterday there: kept
  });

  test('each day counts one plan: the published schedule, else the newest draft — overlapping drafts do not add up', async ({ api }) => {
    const ward = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('admin', ward);
    const D = await api.makeTemplate({ departmentId: ward, code: 'D', start: '08:00', end: '16:00' });
    const ann = await api.makeEmployee({ departmentId: ward, hourlyRate: 20 });
    const bob = await api.makeEmployee({ departmentId: ward, hourlyRate: 20 });
    const cyd = await api.makeEmployee({ departmentId: ward, hourlyRate: 20 });
    expect((await api.request('PUT', `/v1/departments/${ward}/demand`, { token, body: { rows: [
      { date: '2026-01-20', templateId: D, required: 2 }, { date: '2026-02-03', templateId: D, required: 2 },
    ] } })).status).toBe(200);
    const post = (scheduleId: string, employeeId: string, date: string) =>
      api.request('POST', '/v1/shifts', { token, body: { scheduleId, employeeId, templateId: D, date } });
    // January is published; a trial draft for 15 Jan–14 Feb overlaps it; an older draft covers February too.
    const jan = await makeSchedule(api, { departmentId: ward, start: '2026-01-01', end: '2026-01-31' });
    const feb = await makeSchedule(api, { departmentId: ward, start: '2026-02-01', end: '2026-02-28' });
    const trial = await makeSchedule(api, { departmentId: ward, start: '2026-01-15', end: '2026-02-14' });
    for (const r of [await post(jan, ann, '2026-01-20'), await post(trial, bob, '2026-01-20'), await post(trial, cyd, '2026-01-20'),
      await post(feb, ann, '2026-02-03'), await post(trial, bob, '2026-02-03')]) expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect((await api.request('POST', `/v1/schedules/${jan}/publish`, { token })).status).toBe(200);

    const day = async (date: string): Promise<unknown> => {
      const r = await api.request('GET', `/v1/analytics/departments/${ward}/daily?from=${date}&to=${date}`, { token });
      expect(r.status).toBe(200);
      const d = r.body.data[0];
      return { hours: d.scheduledHours, covered: d.coveredSlots, cost: d.labourCost };
    };
    // 20 Jan: the published January roster alone (1 person), not + the trial's 2.
    expect(await day('2026-01-20')).toEqual({ hours: 8, covered: 1, cost: '160.00' });
    // 3 Feb: no published schedule; the newest draft (the trial, 1 person) rather than both drafts.
    expect(await day('2026-02-03')).toEqual({ hours: 8, covered: 1, cost: '160.00' });
    const overview = await api.request('GET', `/v1/analytics/overview?from=2026-01-01&to=2026-02-28&departmentId=${ward}`, { token });
    expect(overview.body).toMatchObject({ scheduledHours: 16, coveredSlots: 2, demandSlots: 4 });

    // Publishing February makes it the plan of its days (the trial's February shifts stop counting).
    expect((await api.request('POST', `/v1/schedules/${feb}/publish`, { token })).status).toBe(200);
    expect(await day('2026-02-03')).toEqual({ hours: 8, covered: 1, cost: '160.00' });
    const stats = await api.tdb.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM department_daily_stats WHERE department_id = $1 AND date = '2026-02-03' AND shift_count = 1`, [ward]);
    expect(stats.rows[0]!.n).toBe(1);
  });

  test('overview and daily figures equal an independent computation over shifts; writers keep them fresh; ≤ 2 queries; cached', async ({ api }) => {
    const root = await api.makeDepartment({ name: 'Hospital' });
    const ward = await api.makeDepartment({ name: 'Ward', parentId: root });
    const { token } = await api.login('admin', root);
    const E = await api.makeTemplate({ departmentId: ward, code: 'E', start: '06:00', end: '16:00' }); // 10 h: 2 h overtime
    const R = await api.makeTemplate({ departmentId: root, code: 'R', start: '09:00', end: '17:00' });
    await api.tdb.db.query('UPDATE shift_templates SET pay_multiplier = 1.5 WHERE id = $1', [R]);
    const ann = await api.makeEmployee({ departmentId: ward, hourlyRate: 21.5 });
    const bob = await api.makeEmployee({ departmentId: ward, hourlyRate: 30 });
    const cyd = await api.makeEmployee({ departmentId: root, hourlyRate: 40 });
    await api.makeEmployee({ departmentId: root, active: false }); // not in the head count (the admin is)
    const sw = await makeSchedule(api, { departmentId: ward, start: '2026-03-02', end: '2026-03-08' });
    const sr = await makeSchedule(api, { departmentId: root, start: '2026-03-02', end: '2026-03-08' });
    const archived = await makeSchedule(api, { departmentId: ward, start: '2026-03-01', end: '2026-03-08', status: 'archived' });
    await makeShift(api, { scheduleId: archived, employeeId: ann, templateId: E, date: '2026-03-05' }); // never counts
    await refreshStats(api, ward, '2026-03-01', '2026-03-08');

    // Writes through the API keep the daily stats fresh.
    const put = (dept: string, rows: unknown[]) => api.request('PUT', `/v1/departments/${dept}/demand`, { token, body: { rows } });
    expect((await put(ward, [{ date: '2026-03-02', templateId: E, required: 2 }, { date: '2026-03-03', templateId: E, required: 1 }])).status).toBe(200);
    expect((await put(root, [{ date: '2026-03-02', templateId: R, required: 1 }])).status).toBe(200);
    const post = (scheduleId: string, employeeId: string | null, templateId: string, date: string, status?: string) =>
      api.request('POST', '/v1/shifts', { token, body: { scheduleId, employeeId, templateId, date, ...(status ? { status } : {}) } });
    for (const r of [
      await post(sw, ann, E, '2026-03-02'), await post(sw, bob, E, '2026-03-03'), await post(sw, ann, E, '2026-03-04'),
      await post(sw, null, E, '2026-03-02'), await post(sw, bob, E, '2026-03-05', 'cancelled'), await post(sr, cyd, R, '2026-03-02'),
    ]) expect(r.status, JSON.stringify(r.body)).toBe(201);

    await api.request('GET', '/v1/me', { token });
    const url = `/v1/analytics/overview?from=2026-03-01&to=2026-03-31&departmentId=${root}`;
    const o = await api.request('GET', url, { token });
    expect(o.status).toBe(200);
    expect(o.headers.get('x-db-queries')).toBe('1'); // the department (authorization) and its totals in one query
    const t = await truth(api, root, '2026-03-01', '2026-03-31');
    expect(t).toEqual({ head_count: 4, minutes: 3 * 600 + 480, cost: '1210.00', demand: 4, covered: 3, overtime: 360 });
    expect(o.body).toMatchObject({
      departmentId: root, headCount: t.head_count, scheduledHours: t.minutes / 60, labourCost: t.cost, demandSlots: t.demand,
      coveredSlots: t.covered, understaffedSlots: t.demand - t.covered, coveragePercent: 75, overtimeHours: t.overtime / 60,
      shiftCount: 4, openShifts: 1,
    });
    expect((await api.request('GET', url, { token })).headers.get('x-cache')).toBe('HIT');

    const daily = await api.request('GET', `/v1/analytics/departments/${ward}/daily?from=2026-03-01&to=2026-03-07`, { token });
    expect(daily.status).toBe(200);
    expect(Number(daily.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    expect(daily.body.data).toHaveLength(7);
    expect(daily.body.data[0]).toMatchObject({ date: '2026-03-01', scheduledHours: 0, demandSlots: 0, coveragePercent: null });
    expect(daily.body.data[1]).toMatchObject({ date: '2026-03-02', scheduledHours: 10, labourCost: '215.00', scheduledHeadCount: 1, demandSlots: 2, coveredSlots: 1, understaffedSlots: 1, coveragePercent: 50, openShifts: 1, overtimeHours: 2 });
    const wardTruth = await truth(api, ward, '2026-03-01', '2026-03-07');
    const sum = (k: 'scheduledHours' | 'demandSlots' | 'coveredSlots' | 'overtimeHours') => daily.body.data.reduce((s: number, d: Record<string, number>) => s + d[k]!, 0);
    expect(sum('scheduledHours')).toBe(wardTruth.minutes / 60);
    expect(sum('demandSlots')).toBe(wardTruth.demand);
    expect(sum('coveredSlots')).toBe(wardTruth.covered);
    expect(sum('overtimeHours')).toBe(wardTruth.overtime / 60);
    const rootOnly = await api.request('GET', `/v1/analytics/departments/${root}/daily?from=2026-03-02&to=2026-03-02&includeSubdepartments=false`, { token });
    expect(rootOnly.body.data[0]).toMatchObject({ scheduledHours: 8, labourCost: '480.00', demandSlots: 1, coveredSlots: 1 });
    const rootTree = await api.request('GET', `/v1/analytics/departments/${root}/daily?from=2026-03-02&to=2026-03-02`, { token });
    expect(rootTree.body.data[0]).toMatchObject({ scheduledHours: 18, labourCost: '695.00', demandSlots: 3, coveredSlots: 2 });

    // A change is visible at once: the API invalidates the analytics scopes after its commit.
    expect((await post(sw, bob, E, '2026-03-02')).status).toBe(201);
    const o2 = await api.request('GET', url, { token });
    expect(o2.headers.get('x-cache')).toBe('MISS');
    expect(o2.body.coveredSlots).toBe(4);
    expect(o2.body.coveragePercent).toBe(100);
    expect(o2.body.scheduledHours).toBe((await truth(api, root, '2026-03-01', '2026-03-31')).minutes / 60);
  });

  test('validation: from/to required, ordered, at most 366 days; ids checked', async ({ api }) => {
    const { token, departmentId } = await api.login('admin');
    const cases: [string, string][] = [
      ['/v1/analytics/overview', 'query.from'],
      ['/v1/analytics/overview?from=2026-01-01', 'query.to'],
      ['/v1/analytics/overview?from=2026-01-31&to=2026-01-01', 'query.to'],
      ['/v1/analytics/overview?from=2026-01-01&to=2027-01-02', 'query.to'],
      ['/v1/analytics/overview?from=2026-01-01&to=2026-01-02&departmentId=0', 'query.departmentId'],
      ['/v1/analytics/overview?from=20260101&to=2026-01-02', 'query.from'],
      [`/v1/analytics/departments/${departmentId}/daily?from=2026-01-01&to=2027-06-01`, 'query.to'],
      [`/v1/analytics/departments/${departmentId}/daily?from=2026-01-01&to=2026-01-02&includeSubdepartments=1`, 'query.includeSubdepartments'],
      ['/v1/analytics/departments/x/daily?from=2026-01-01&to=2026-01-02', 'params.id'],
    ];
    for (const [path, field] of cases) {
      const r = await api.request('GET', path, { token });
      expect(r.status, path).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect((await api.request('GET', '/v1/analytics/overview?from=2026-01-01&to=2026-12-31', { token })).status).toBe(200); // 365 days
    expect((await api.request('GET', '/v1/analytics/departments/987654/daily?from=2026-01-01&to=2026-01-02', { token })).status).toBe(404);
  });

  test('authorization: 401 anonymous, employees 403, managers limited to their subtree', async ({ api }) => {
    const top = await api.makeDepartment();
    const mine = await api.makeDepartment({ parentId: top });
    const other = await api.makeDepartment({ parentId: top });
    await api.makeEmployee({ departmentId: other });
    await api.makeEmployee({ departmentId: other });
    const manager = await api.login('manager', mine);
    const employee = await api.login('employee', mine);
    const range = 'from=2026-03-01&to=2026-03-31';
    expect((await api.request('GET', `/v1/analytics/overview?${range}`)).status).toBe(401);
    expect((await api.request('GET', `/v1/analytics/overview?${range}`, { token: employee.token })).status).toBe(403);
    expect((await api.request('GET', `/v1/analytics/departments/${mine}/daily?${range}`, { token: employee.token })).status).toBe(403);
    const own = await api.request('GET', `/v1/analytics/overview?${range}`, { token: manager.token });
    expect(own.status).toBe(200);
    expect(own.body.headCount).toBe(2); // the manager and the employee of `mine`, not `other`
    expect((await api.request('GET', `/v1/analytics/overview?${range}&departmentId=${other}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('GET', `/v1/analytics/overview?${range}&departmentId=${top}`, { token: manager.token })).status).toBe(403);
    const unknown = await api.request('GET', `/v1/analytics/overview?${range}&departmentId=987654`, { token: manager.token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const sub = await api.request('GET', `/v1/analytics/overview?${range}&departmentId=${mine}`, { token: manager.token });
    expect(sub.status, sub.text).toBe(200);
    expect(sub.body).toMatchObject({ departmentId: mine, headCount: 2, shiftCount: 0, scheduledHours: 0 });
    expect((await api.request('GET', `/v1/analytics/departments/${other}/daily?${range}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('GET', `/v1/analytics/departments/${mine}/daily?${range}`, { token: manager.token })).status).toBe(200);
  });
});
