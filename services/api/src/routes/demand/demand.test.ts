import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';
import { makeSchedule, makeShift } from '../schedules/test-factories.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

function days(from: string, n: number): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

describe('demand', () => {
  test('bulk upsert reports inserted/updated/unchanged, refreshes daily stats and records one event; GET reads it back cached', async ({ api }) => {
    const dept = await api.makeDepartment();
    const { token } = await api.login('manager', dept);
    const early = await api.makeTemplate({ departmentId: dept, code: 'E' });
    const late = await api.makeTemplate({ departmentId: dept, code: 'L', start: '14:00', end: '22:00' });
    const emp = await api.makeEmployee({ departmentId: dept });
    const sched = await makeSchedule(api, { departmentId: dept, start: '2026-03-02', end: '2026-03-08' });
    await makeShift(api, { scheduleId: sched, employeeId: emp, templateId: early, date: '2026-03-02' });

    const rows = days('2026-03-02', 7).flatMap((date) => [{ date, templateId: early, required: 2 }, { date, templateId: late, required: 1, weightUnder: 50, weightOver: 5 }]);
    const put1 = await api.request('PUT', `/v1/departments/${dept}/demand`, { token, body: { rows } });
    expect(put1.status).toBe(200);
    expect(put1.body).toEqual({ inserted: 14, updated: 0, unchanged: 0, from: '2026-03-02', to: '2026-03-08' });
    const stats = await api.tdb.db.query<{ date: string; demand_slots: number; covered_slots: number }>(
      `SELECT date::text AS date, demand_slots, covered_slots FROM department_daily_stats WHERE department_id = $1 ORDER BY date`, [dept]);
    expect(stats.rows).toHaveLength(7);
    expect(stats.rows[0]).toEqual({ date: '2026-03-02', demand_slots: 3, covered_slots: 1 });

    const get1 = await api.request('GET', `/v1/departments/${dept}/demand?from=2026-03-02&to=2026-03-03`, { token });
    expect(get1.status).toBe(200);
    expect(get1.headers.get('x-cache')).toBe('MISS');
    expect(Number(get1.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    expect(get1.body.data).toEqual([
      { date: '2026-03-02', templateId: early, templateCode: 'E', required: 2, weightUnder: 100, weightOver: 1 },
      { date: '2026-03-02', templateId: late, templateCode: 'L', required: 1, weightUnder: 50, weightOver: 5 },
      { date: '2026-03-03', templateId: early, templateCode: 'E', required: 2, weightUnder: 100, weightOver: 1 },
      { date: '2026-03-03', templateId: late, templateCode: 'L', required: 1, weightUnder: 50, weightOver: 5 },
    ]);
    expect((await api.request('GET', `/v1/departments/${dept}/demand?from=2026-03-02&to=2026-03-03`, { token })).headers.get('x-cache')).toBe('HIT');

    const changed = rows.map((r, i) => (i === 0 ? { ...r, required: 3 } : r));
    const put2 = await api.request('PUT', `/v1/departments/${dept}/demand`, { token, body: { rows: [...changed, { date: '2026-03-09', templateId: early, required: 1 }] } });
    expect(put2.body).toMatchObject({ inserted: 1, updated: 1, unchanged: 13 });
    const get2 = await api.request('GET', `/v1/departments/${dept}/demand?from=2026-03-02&to=2026-03-02&templateId=${early}`, { token });
    expect(get2.headers.get('x-cache')).toBe('MISS');
    expect(get2.body.data).toEqual([{ date: '2026-03-02', templateId: early, templateCode: 'E', required: 3, weightUnder: 100, weightOver: 1 }]);

    // Re-sending the same rows changes nothing and records nothing.
    const put3 = await api.request('PUT', `/v1/departments/${dept}/demand`, { token, body: { rows: changed } });
    expect(put3.body).toMatchObject({ inserted: 0, updated: 0, unchanged: 14 });
    const events = await api.tdb.db.query<{ type: string; envelope: { payload: { from: string; to: string } } }>('SELECT type, envelope FROM outbox ORDER BY id');
    expect(events.rows.map((e) => e.type)).toEqual(['demand.changed', 'demand.changed']);
    expect(events.rows[1]!.envelope.payload).toMatchObject({ from: '2026-03-02', to: '2026-03-09' });
  });

  test('10,000 rows in one request', async ({ api }) => {
    const { token, departmentId: dept } = await api.login('admin');
    const templates: string[] = [];
    for (let i = 0; i < 10; i++) templates.push(await api.makeTemplate({ departmentId: dept, code: `T${i}` }));
    const rows = days('2025-01-01', 1000).flatMap((date) => templates.map((templateId) => ({ date, templateId, required: 1 })));
    expect(rows).toHaveLength(10_000);
    const r = await api.request('PUT', `/v1/departments/${dept}/demand`, { token, body: { rows } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ inserted: 10_000, updated: 0, unchanged: 0 });
    const n = await api.tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM demand WHERE department_id = $1', [dept]);
    expect(n.rows[0]!.n).toBe(10_000);
    const tooMany = await api.request('PUT', `/v1/departments/${dept}/demand`, { token, body: { rows: [...rows.slice(0, 5000), ...rows.slice(0, 5001)].map((x, i) => ({ ...x, required: i % 2 })) } });
    expect([400, 413]).toContain(tooMany.status);
  });

  test('validation names the row and field; templates of other departments are refused', async ({ api }) => {
    const { token, departmentId: dept } = await api.login('admin');
    const t = await api.makeTemplate({ departmentId: dept });
    const foreign = await api.makeTemplate({ departmentId: await api.makeDepartment() });
    const ok = { date: '2026-03-02', templateId: t, required: 1 };
    const url = `/v1/departments/${dept}/demand`;
    const cases: [unknown, string][] = [
      [{ rows: [ok, ok, ok, { ...ok, date: '2026-03-05', required: -1 }] }, 'body.rows.3.required'],
      [{ rows: [ok, { ...ok, required: 1.5 }] }, 'body.rows.1.required'],
      [{ rows: [{ ...ok, date: '2026-02-30' }] }, 'body.rows.0.date'],
      [{ rows: [{ ...ok, templateId: 'abc' }] }, 'body.rows.0.templateId'],
      [{ rows: [{ ...ok, weightUnder: -5 }] }, 'body.rows.0.weightUnder'],
      [{ rows: [{ ...ok, extra: true }] }, 'body.rows.0.extra'],
      [{ rows: [] }, 'body.rows'],
      [{}, 'body.rows'],
      [{ rows: [ok, { ...ok, date: '2026-03-03' }, { ...ok }] }, 'body.rows.2'],
      [{ rows: [ok, { ...ok, templateId: foreign }] }, 'body.rows.1.templateId'],
      [{ rows: [{ ...ok, templateId: '999999' }] }, 'body.rows.0.templateId'],
      // 1,098 days from the earliest row to the latest (the stats of every day between are refreshed).
      [{ rows: [{ ...ok, date: '2029-03-03' }, ok, { ...ok, date: '2026-06-01' }] }, 'body.rows.0.date'],
      [{ rows: [{ ...ok, date: '0001-01-01' }, { ...ok, date: '9999-12-31' }] }, 'body.rows.1.date'],
    ];
    for (const [body, field] of cases) {
      const r = await api.request('PUT', url, { token, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    const q: [string, string][] = [
      ['', 'query.from'], ['?from=2026-01-01', 'query.to'], ['?from=2026-01-10&to=2026-01-01', 'query.to'],
      ['?from=2026-01-01&to=2027-01-02', 'query.to'], ['?from=x&to=2026-01-01', 'query.from'], ['?from=2026-01-01&to=2026-01-02&templateId=x', 'query.templateId'],
    ];
    for (const [qs, field] of q) {
      const r = await api.request('GET', `${url}${qs}`, { token });
      expect(r.status, qs).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect((await api.tdb.db.query('SELECT 1 FROM demand')).rowCount).toBe(0);
    // 1,096 days, both ends included, is allowed.
    const years = await api.request('PUT', url, { token, body: { rows: [ok, { ...ok, date: '2029-03-01' }] } });
    expect(years.status).toBe(200);
    expect(years.body).toMatchObject({ inserted: 2, from: '2026-03-02', to: '2029-03-01' });
  });

  test('authorization: employees read their own department, managers write their subtree only', async ({ api }) => {
    const top = await api.makeDepartment();
    const mine = await api.makeDepartment({ parentId: top });
    const other = await api.makeDepartment({ parentId: top });
    const t = await api.makeTemplate({ departmentId: mine });
    const to = await api.makeTemplate({ departmentId: other });
    const manager = await api.login('manager', mine);
    const employee = await api.login('employee', mine);
    const range = '?from=2026-03-01&to=2026-03-31';
    const rows = [{ date: '2026-03-02', templateId: t, required: 1 }];
    expect((await api.request('GET', `/v1/departments/${mine}/demand${range}`)).status).toBe(401);
    expect((await api.request('PUT', `/v1/departments/${mine}/demand`, { body: { rows } })).status).toBe(401);
    expect((await api.request('GET', `/v1/departments/${mine}/demand${range}`, { token: employee.token })).status).toBe(200);
    expect((await api.request('GET', `/v1/departments/${other}/demand${range}`, { token: employee.token })).status).toBe(404);
    expect((await api.request('PUT', `/v1/departments/${mine}/demand`, { token: employee.token, body: { rows } })).status).toBe(403);
    expect((await api.request('PUT', `/v1/departments/${mine}/demand`, { token: manager.token, body: { rows } })).status).toBe(200);
    expect((await api.request('PUT', `/v1/departments/${other}/demand`, { token: manager.token, body: { rows: [{ ...rows[0], templateId: to }] } })).status).toBe(403);
    expect((await api.request('GET', `/v1/departments/${other}/demand${range}`, { token: manager.token })).status).toBe(403);
  });
});
