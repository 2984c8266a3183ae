import { describe, expect, test as base } from 'vitest';
import { invalidationsFor, recordEvent } from '@rota/events';
import { apiFixture, type TestApi } from '../../testing.ts';
import { todayIn } from './read.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

const outboxTypes = async (api: TestApi): Promise<string[]> =>
  (await api.tdb.db.query<{ type: string }>('SELECT type FROM outbox ORDER BY id')).rows.map((r) => r.type);

/** A manager of `dept`, an employee in it, and the employee's own token. */
async function team(api: TestApi) {
  const dept = await api.makeDepartment({ name: 'Ward' });
  const manager = await api.login('manager', dept);
  const emp = await api.makeEmployee({ departmentId: dept });
  return { dept, manager, emp, empToken: await api.tokenFor(emp) };
}

describe('work rules', () => {
  test('effective rules = contract defaults ⊕ overrides, with per-template caps; PUT replaces and is validated', async ({ api }) => {
    const { dept, manager, emp, empToken } = await team(api);
    const contract = await api.tdb.db.query<{ id: string }>(
      `INSERT INTO contracts (name, max_minutes_per_period, min_minutes_per_period, max_consecutive_days) VALUES ('Part time', 4800, 1200, 5) RETURNING id`);
    await api.tdb.db.query('UPDATE employees SET contract_id = $1 WHERE id = $2', [contract.rows[0]!.id, emp]);
    const night = await api.makeTemplate({ departmentId: dept, code: 'N' });
    const foreign = await api.makeTemplate({ departmentId: await api.makeDepartment(), code: 'X' });

    const before = await api.request('GET', `/v1/employees/${emp}/work-rules`, { token: empToken });
    expect(before.status).toBe(200);
    expect(before.body.contract).toEqual({ id: contract.rows[0]!.id, name: 'Part time' });
    expect(before.body.effective).toMatchObject({ maxMinutesPerPeriod: 4800, minMinutesPerPeriod: 1200, maxConsecutiveDays: 5, minRestMinutes: 660, maxMinutesPerWeek: null });
    expect(before.body.overrides.maxMinutesPerPeriod).toBeNull();
    expect(before.body.shiftLimits).toEqual([]);
    expect((await api.request('GET', `/v1/employees/${emp}/work-rules`, { token: empToken })).headers.get('x-cache')).toBe('HIT');

    const put = await api.request('PUT', `/v1/employees/${emp}/work-rules`, { token: manager.token, body: { maxMinutesPerPeriod: 2400, minRestMinutes: 720, shiftLimits: [{ templateId: night, maxShifts: 0 }] } });
    expect(put.status, put.text).toBe(200);
    expect(put.body.effective).toMatchObject({ maxMinutesPerPeriod: 2400, minMinutesPerPeriod: 1200, minRestMinutes: 720, maxConsecutiveDays: 5 });
    expect(put.body.overrides).toMatchObject({ maxMinutesPerPeriod: 2400, minRestMinutes: 720, minMinutesPerPeriod: null });
    expect(put.body.shiftLimits).toEqual([{ templateId: night, code: 'N', name: expect.any(String), maxShifts: 0 }]);
    const after = await api.request('GET', `/v1/employees/${emp}/work-rules`, { token: empToken });
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body).toEqual(put.body);

    // PUT replaces: what is not sent returns to the contract's value; the caps list is emptied.
    const reset = await api.request('PUT', `/v1/employees/${emp}/work-rules`, { token: manager.token, body: {} });
    expect(reset.body.effective.maxMinutesPerPeriod).toBe(4800);
    expect(reset.body.shiftLimits).toEqual([]);

    const bad: [unknown, string][] = [
      [{ minMinutesPerPeriod: 5000 }, 'body.minMinutesPerPeriod'], // above the contract's max
      [{ maxMinutesPerPeriod: 100 }, 'body.maxMinutesPerPeriod'], // below the contract's min
      [{ minConsecutiveDays: 4, maxConsecutiveDays: 3 }, 'body.minConsecutiveDays'],
      [{ maxConsecutiveDays: 0 }, 'body.maxConsecutiveDays'],
      [{ minRestMinutes: -1 }, 'body.minRestMinutes'],
      [{ maxMinutesPerWeek: 1.5 }, 'body.maxMinutesPerWeek'],
      [{ shiftLimits: [{ templateId: foreign, maxShifts: 1 }] }, 'body.shiftLimits.0.templateId'],
      [{ shiftLimits: [{ templateId: night, maxShifts: 1 }, { templateId: night, maxShifts: 2 }] }, 'body.shiftLimits.1.templateId'],
      [{ shiftLimits: [{ templateId: night, maxShifts: -1 }] }, 'body.shiftLimits.0.maxShifts'],
      [{ overtime: 1 }, 'body.overtime'],
    ];
    for (const [body, field] of bad) {
      const r = await api.request('PUT', `/v1/employees/${emp}/work-rules`, { token: manager.token, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect((await api.request('PUT', `/v1/employees/${emp}/work-rules`, { token: empToken, body: {} })).status).toBe(403);
    const stranger = await api.login('manager');
    expect((await api.request('GET', `/v1/employees/${emp}/work-rules`, { token: stranger.token })).status).toBe(403);
    expect(await outboxTypes(api)).toEqual(['employee.rules_changed', 'employee.rules_changed']);
  });

  test('an employee without contract gets the contract defaults', async ({ api }) => {
    const { token, employeeId } = await api.login('employee');
    const r = await api.request('GET', `/v1/employees/${employeeId}/work-rules`, { token });
    expect(r.body.contract).toBeNull();
    expect(r.body.effective).toEqual({
      maxMinutesPerPeriod: 10560, minMinutesPerPeriod: 0, maxMinutesPerWeek: null, minMinutesPerWeek: null, maxConsecutiveDays: 6,
      minConsecutiveDays: 1, minConsecutiveDaysOff: 1, maxWeekendsPerPeriod: 4, minRestMinutes: 660,
    });
    // The same values a contract created without explicit rules gets from the table defaults.
    const c = await api.tdb.db.query(`INSERT INTO contracts (name) VALUES ('defaults') RETURNING max_minutes_per_period, min_rest_minutes, max_weekends_per_period`);
    expect(c.rows[0]).toEqual({ max_minutes_per_period: 10560, min_rest_minutes: 660, max_weekends_per_period: 4 });
  });
});

describe('availability', () => {
  test('the employee manages their own weekly windows; validated; others cannot', async ({ api }) => {
    const { manager, emp, empToken } = await team(api);
    const a = await api.request('POST', `/v1/employees/${emp}/availability`, { token: empToken, body: { weekday: 1, startTime: '08:00', endTime: '16:00' } });
    expect(a.status, a.text).toBe(201);
    expect(a.body).toMatchObject({ weekday: 1, startTime: '08:00', endTime: '16:00' });
    const b = await api.request('POST', `/v1/employees/${emp}/availability`, { token: manager.token, body: { weekday: 5, startTime: '22:00', endTime: '06:00' } });
    expect(b.status).toBe(201);
    await api.request('POST', `/v1/employees/${emp}/availability`, { token: empToken, body: { weekday: 1, startTime: '06:00', endTime: '07:00' } });
    const list = await api.request('GET', `/v1/employees/${emp}/availability?limit=2`, { token: empToken });
    expect(list.body.data.map((x: { weekday: number; startTime: string }) => `${x.weekday}@${x.startTime}`)).toEqual(['1@06:00', '1@08:00']);
    const rest = await api.request('GET', `/v1/employees/${emp}/availability?limit=2&cursor=${list.body.nextCursor}`, { token: empToken });
    expect(rest.body.data.map((x: { weekday: number }) => x.weekday)).toEqual([5]);
    expect(rest.body.nextCursor).toBeNull();

    for (const [body, field] of [
      [{ weekday: 8, startTime: '08:00', endTime: '09:00' }, 'body.weekday'],
      [{ weekday: 1, startTime: '24:00', endTime: '09:00' }, 'body.startTime'],
      [{ weekday: 1, startTime: '08:00' }, 'body.endTime'],
    ] as const) {
      const r = await api.request('POST', `/v1/employees/${emp}/availability`, { token: empToken, body });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    const colleague = await api.login('employee', (await api.tdb.db.query('SELECT department_id FROM employees WHERE id = $1', [emp])).rows[0]?.department_id);
    expect((await api.request('GET', `/v1/employees/${emp}/availability`, { token: colleague.token })).status).toBe(404);
    expect((await api.request('POST', `/v1/employees/${emp}/availability`, { token: colleague.token, body: { weekday: 1, startTime: '08:00', endTime: '09:00' } })).status).toBe(404);
    expect((await api.request('DELETE', `/v1/employees/${emp}/availability/${a.body.id}`, { token: colleague.token })).status).toBe(404);
    expect((await api.request('DELETE', `/v1/employees/${colleague.employeeId}/availability/${a.body.id}`, { token: colleague.token })).status).toBe(404);

    expect((await api.request('DELETE', `/v1/employees/${emp}/availability/${a.body.id}`, { token: empToken })).status).toBe(204);
    expect((await api.request('DELETE', `/v1/employees/${emp}/availability/${a.body.id}`, { token: empToken })).status).toBe(404);
    const final = await api.request('GET', `/v1/employees/${emp}/availability`, { token: empToken });
    expect(final.headers.get('x-cache')).toBe('MISS');
    expect(final.body.data).toHaveLength(2);
    expect(await outboxTypes(api)).toEqual(Array(4).fill('employee.availability_changed'));
  });
});

describe('time off', () => {
  test('employees request, managers decide (decidedBy/decidedAt), decided requests are frozen for the employee', async ({ api }) => {
    const { manager, emp, empToken } = await team(api);
    const req = await api.request('POST', `/v1/employees/${emp}/time-off`, { token: empToken, body: { startDate: '2026-07-01', endDate: '2026-07-14', reason: 'holiday' } });
    expect(req.status, req.text).toBe(201);
    expect(req.body).toMatchObject({ status: 'requested', decidedBy: null, decidedAt: null, reason: 'holiday' });
    const id = req.body.id;

    expect((await api.request('PATCH', `/v1/employees/${emp}/time-off/${id}`, { token: empToken, body: { status: 'approved' } })).status).toBe(403);
    const edited = await api.request('PATCH', `/v1/employees/${emp}/time-off/${id}`, { token: empToken, body: { endDate: '2026-07-10' } });
    expect(edited.body).toMatchObject({ endDate: '2026-07-10', status: 'requested' });

    const approved = await api.request('PATCH', `/v1/employees/${emp}/time-off/${id}`, { token: manager.token, body: { status: 'approved' } });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: manager.employeeId });
    expect(Date.parse(approved.body.decidedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await api.request('PATCH', `/v1/employees/${emp}/time-off/${id}`, { token: empToken, body: { endDate: '2026-07-20' } })).status).toBe(409);

    await api.request('POST', `/v1/employees/${emp}/time-off`, { token: empToken, body: { startDate: '2026-12-24', endDate: '2026-12-26' } });
    const requested = await api.request('GET', `/v1/employees/${emp}/time-off?status=requested`, { token: empToken });
    expect(requested.body.data.map((t: { startDate: string }) => t.startDate)).toEqual(['2026-12-24']);
    const all = await api.request('GET', `/v1/employees/${emp}/time-off?limit=1`, { token: manager.token });
    expect(all.body.data[0].startDate).toBe('2026-12-24');
    const next = await api.request('GET', `/v1/employees/${emp}/time-off?limit=1&cursor=${all.body.nextCursor}`, { token: manager.token });
    expect(next.body.data[0].startDate).toBe('2026-07-01');
    const window = await api.request('GET', `/v1/employees/${emp}/time-off?from=2026-07-05&to=2026-07-06`, { token: manager.token });
    expect(window.body.data.map((t: { id: string }) => t.id)).toEqual([id]);

    for (const [body, field] of [
      [{ startDate: '2026-07-10', endDate: '2026-07-01' }, 'body.endDate'],
      [{ startDate: '2026-01-01', endDate: '2027-06-01' }, 'body.endDate'],
      [{ startDate: 'tomorrow', endDate: '2026-07-01' }, 'body.startDate'],
      [{ startDate: '2026-07-01', endDate: '2026-07-02', status: 'approved' }, 'body.status'],
    ] as const) {
      const r = await api.request('POST', `/v1/employees/${emp}/time-off`, { token: empToken, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect((await api.request('PATCH', `/v1/employees/${emp}/time-off/${id}`, { token: manager.token, body: { status: 'maybe' } })).status).toBe(400);
    expect((await api.request('PATCH', `/v1/employees/${emp}/time-off/999999`, { token: manager.token, body: { status: 'approved' } })).status).toBe(404);
    // A manager cannot approve their own time off.
    const own = await api.request('POST', `/v1/employees/${manager.employeeId}/time-off`, { token: manager.token, body: { startDate: '2026-08-01', endDate: '2026-08-02' } });
    expect(own.status).toBe(201);
    expect((await api.request('PATCH', `/v1/employees/${manager.employeeId}/time-off/${own.body.id}`, { token: manager.token, body: { status: 'approved' } })).status).toBe(403);
    const stats = await api.tdb.db.query('SELECT count(*)::int AS n FROM outbox WHERE type = $1', ['employee.time_off_changed']);
    expect(stats.rows[0]?.n).toBe(5);
  });
});

describe('shift requests', () => {
  test('create with a template of the own department, list by date, withdraw', async ({ api }) => {
    const { dept, manager, emp, empToken } = await team(api);
    const early = await api.makeTemplate({ departmentId: dept, code: 'E' });
    const foreign = await api.makeTemplate({ departmentId: await api.makeDepartment(), code: 'F' });
    const on = await api.request('POST', `/v1/employees/${emp}/shift-requests`, { token: empToken, body: { date: '2026-05-02', kind: 'on', templateId: early, weight: 5 } });
    expect(on.status, on.text).toBe(201);
    expect(on.body).toMatchObject({ date: '2026-05-02', kind: 'on', template: { id: early, code: 'E' }, weight: 5 });
    const off = await api.request('POST', `/v1/employees/${emp}/shift-requests`, { token: manager.token, body: { date: '2026-05-01', kind: 'off' } });
    expect(off.body).toMatchObject({ template: null, weight: 1 });
    const list = await api.request('GET', `/v1/employees/${emp}/shift-requests`, { token: empToken });
    expect(list.body.data.map((r: { date: string }) => r.date)).toEqual(['2026-05-01', '2026-05-02']);
    expect(Number(list.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    const window = await api.request('GET', `/v1/employees/${emp}/shift-requests?from=2026-05-02&to=2026-05-31`, { token: empToken });
    expect(window.body.data).toHaveLength(1);

    for (const [body, field] of [
      [{ date: '2026-05-03', kind: 'on', templateId: foreign }, 'body.templateId'],
      [{ date: '2026-05-03', kind: 'maybe' }, 'body.kind'],
      [{ date: '2026-05-03', kind: 'on', weight: 0 }, 'body.weight'],
      [{ kind: 'on' }, 'body.date'],
    ] as const) {
      const r = await api.request('POST', `/v1/employees/${emp}/shift-requests`, { token: empToken, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    const stranger = await api.login('employee');
    expect((await api.request('POST', `/v1/employees/${emp}/shift-requests`, { token: stranger.token, body: { date: '2026-05-03', kind: 'on' } })).status).toBe(404);
    expect((await api.request('DELETE', `/v1/employees/${emp}/shift-requests/${on.body.id}`, { token: empToken })).status).toBe(204);
    expect((await api.request('DELETE', `/v1/employees/${emp}/shift-requests/${on.body.id}`, { token: empToken })).status).toBe(404);
    expect((await api.request('GET', `/v1/employees/${emp}/shift-requests`, { token: empToken })).body.data).toHaveLength(1);
    expect(await outboxTypes(api)).toEqual(Array(3).fill('employee.requests_changed'));
  });
});

describe('GET /v1/employees/:id/shifts', () => {
  async function schedule(api: TestApi, dept: string, status: 'draft' | 'published', start: string, end: string): Promise<string> {
    const r = await api.tdb.db.query<{ id: string }>(
      `INSERT INTO schedules (department_id, period_start, period_end, status, published_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [dept, start, end, status, status === 'published' ? new Date() : null]);
    return r.rows[0]!.id;
  }
  async function shift(api: TestApi, o: { schedule: string; dept: string; emp: string; template: string; date: string }): Promise<void> {
    await api.tdb.db.query('SELECT rota_ensure_shift_partitions($1::date, $1::date)', [o.date]);
    await api.tdb.db.query(
      `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, starts_at, ends_at)
       VALUES ($1, $2, $3, $4, $5::date, $5::date + time '08:00', $5::date + time '16:00')`, [o.schedule, o.dept, o.emp, o.template, o.date]);
  }

  test('employees see their shifts of published schedules; managers also drafts; window validated; cached in schedules', async ({ api }) => {
    const { dept, manager, emp, empToken } = await team(api);
    const t = await api.makeTemplate({ departmentId: dept, code: 'D' });
    const published = await schedule(api, dept, 'published', '2026-03-01', '2026-03-31');
    const draft = await schedule(api, dept, 'draft', '2026-04-01', '2026-04-30');
    await shift(api, { schedule: published, dept, emp, template: t, date: '2026-03-30' });
    await shift(api, { schedule: published, dept, emp, template: t, date: '2026-03-02' });
    await shift(api, { schedule: draft, dept, emp, template: t, date: '2026-04-02' });
    await shift(api, { schedule: published, dept, emp: manager.employeeId, template: t, date: '2026-03-03' });

    // Warm the per-process principal memo, so the header counts the route's own queries.
    await api.request('GET', '/v1/me', { token: empToken });
    const own = await api.request('GET', `/v1/employees/${emp}/shifts?from=2026-03-01&to=2026-04-30`, { token: empToken });
    expect(own.status, own.text).toBe(200);
    expect(own.body.from).toBe('2026-03-01');
    expect(own.body.data.map((s: { date: string }) => s.date)).toEqual(['2026-03-02', '2026-03-30']);
    expect(own.body.data[0]).toMatchObject({ schedule: { id: published, status: 'published' }, template: { id: t, code: 'D' }, status: 'scheduled', departmentId: dept });
    expect(own.body.data[0].startsAt).toMatch(/^2026-03-02T/);
    expect(Number(own.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
    const hit = await api.request('GET', `/v1/employees/${emp}/shifts?from=2026-03-01&to=2026-04-30`, { token: empToken });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    // The hot path (http/hot-reads.ts) answers the repeat: no query, not even the access check —
    // a move of the employee or of the department bumps the entry's emp:/dept: scopes.
    expect(hit.headers.get('x-db-queries')).toBe('0');

    // Another writer (e.g. the worker) changes shifts of the department: its event's scopes reach this entry.
    await shift(api, { schedule: published, dept, emp, template: t, date: '2026-03-15' });
    const event = await recordEvent(api.tdb.db, { type: 'shifts.changed', aggregate: { type: 'schedule', id: published }, departmentIds: [dept], scheduleIds: [published] });
    await api.deps.cache.invalidate(invalidationsFor(event));
    const changed = await api.request('GET', `/v1/employees/${emp}/shifts?from=2026-03-01&to=2026-04-30`, { token: empToken });
    expect(changed.headers.get('x-cache')).toBe('MISS');
    expect(changed.body.data.map((s: { date: string }) => s.date)).toEqual(['2026-03-02', '2026-03-15', '2026-03-30']);

    const managerView = await api.request('GET', `/v1/employees/${emp}/shifts?from=2026-03-01&to=2026-04-30`, { token: manager.token });
    expect(managerView.body.data.map((s: { date: string }) => s.date)).toEqual(['2026-03-02', '2026-03-15', '2026-03-30', '2026-04-02']);
    const defaulted = await api.request('GET', `/v1/employees/${emp}/shifts?from=2026-03-01`, { token: manager.token });
    expect(defaulted.body.to).toBe('2026-03-28');
    expect(defaulted.body.data.map((s: { date: string }) => s.date)).toEqual(['2026-03-02', '2026-03-15']);

    for (const [q, field] of [
      ['from=2026-03-10&to=2026-03-01', 'query.to'],
      ['from=2026-01-01&to=2027-01-02', 'query.to'],
      ['from=2026-02-30', 'query.from'],
      ['from=9999-12-30', 'query.from'],
      ['to=0001-01-02', 'query.to'],
      ['day=2026-01-01', 'query.day'],
    ] as const) {
      const r = await api.request('GET', `/v1/employees/${emp}/shifts?${q}`, { token: manager.token });
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect((await api.request('GET', `/v1/employees/${manager.employeeId}/shifts`, { token: empToken })).status).toBe(404);

    // Without from/to the window starts today in the department's time zone, not in UTC. At any
    // hour one of UTC+14 and UTC−11 is on another date than UTC.
    const utcToday = new Date().toISOString().slice(0, 10);
    const zone = ['Pacific/Kiritimati', 'Pacific/Pago_Pago'].find((tz) => todayIn(tz) !== utcToday)!;
    await api.tdb.db.query('UPDATE departments SET timezone = $2 WHERE id = $1', [dept, zone]);
    const today = await api.request('GET', `/v1/employees/${emp}/shifts`, { token: manager.token });
    expect(today.status).toBe(200);
    expect(today.body.from).toBe(new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date()));
    expect(today.body.from).not.toBe(utcToday);
    expect((await api.request('GET', `/v1/employees/${emp}/shifts`, { token: (await api.login('manager')).token })).status).toBe(403);
    expect((await api.request('GET', `/v1/employees/${emp}/shifts`)).status).toBe(401);
  });
});

describe('sub-resources: shared validation and authorization', () => {
  test('400 naming the field, 401 anonymous, 403 for a manager outside the subtree, 404 for colleagues and unknown ids', async ({ api }) => {
    const { emp, empToken } = await team(api);
    const stranger = await api.login('manager');
    const colleague = await api.login('employee');
    const reads = ['work-rules', 'availability', 'time-off', 'shift-requests', 'department-history', 'shifts'];
    for (const sub of reads) {
      expect((await api.request('GET', `/v1/employees/${emp}/${sub}`)).status, sub).toBe(401);
      expect((await api.request('GET', `/v1/employees/${emp}/${sub}`, { token: stranger.token })).status, sub).toBe(403);
      expect((await api.request('GET', `/v1/employees/${emp}/${sub}`, { token: colleague.token })).status, sub).toBe(404);
      expect((await api.request('GET', `/v1/employees/424242/${sub}`, { token: stranger.token })).status, sub).toBe(404);
      expect((await api.request('GET', `/v1/employees/x1/${sub}`, { token: empToken })).body.error.details[0].field, sub).toBe('params.id');
      expect((await api.request('GET', `/v1/employees/${emp}/${sub}`, { token: empToken })).status, sub).toBe(200);
    }
    const bad: [string, string][] = [
      [`/v1/employees/${emp}/availability?limit=0`, 'query.limit'],
      [`/v1/employees/${emp}/availability?cursor=zzz`, 'cursor'],
      [`/v1/employees/${emp}/time-off?status=maybe`, 'query.status'],
      [`/v1/employees/${emp}/time-off?from=2026-13-01`, 'query.from'],
      [`/v1/employees/${emp}/shift-requests?to=yesterday`, 'query.to'],
      [`/v1/employees/${emp}/shift-requests?extra=1`, 'query.extra'],
      [`/v1/employees/${emp}/work-rules?x=1`, 'query.x'],
    ];
    for (const [path, field] of bad) {
      const r = await api.request('GET', path, { token: empToken });
      expect(r.status, path).toBe(400);
      expect(JSON.stringify(r.body.error.details), path).toContain(field);
    }
    const writes: [string, string, unknown][] = [
      ['POST', 'availability', { weekday: 1, startTime: '08:00', endTime: '09:00' }],
      ['POST', 'time-off', { startDate: '2026-01-01', endDate: '2026-01-02' }],
      ['POST', 'shift-requests', { date: '2026-01-01', kind: 'off' }],
      ['PUT', 'work-rules', {}],
    ];
    for (const [method, sub, body] of writes) {
      expect((await api.request(method, `/v1/employees/${emp}/${sub}`, { body })).status, sub).toBe(401);
      expect((await api.request(method, `/v1/employees/${emp}/${sub}`, { token: stranger.token, body })).status, sub).toBe(403);
      expect((await api.request(method, `/v1/employees/${emp}/${sub}`, { token: colleague.token, body })).status, sub).toBe(404);
    }
    expect(await outboxTypes(api)).toEqual([]);
  });
});

describe('sub-resource writes: managers only for role-employee staff of their subtree, everyone for themselves', () => {
  test('a manager cannot edit the time off, availability or shift requests of a peer manager or an admin in their subtree', async ({ api }) => {
    const top = await api.makeDepartment({ name: 'Top' });
    const ward = await api.makeDepartment({ name: 'Ward', parentId: top });
    const manager = await api.login('manager', top);
    const admin = await api.login('admin', ward);
    const peer = await api.makeEmployee({ departmentId: ward, role: 'manager' });
    const peerToken = await api.tokenFor(peer);
    const staff = await api.makeEmployee({ departmentId: ward });
    const staffToken = await api.tokenFor(staff);

    // The peer's approved time off, availability window and shift request (the peer's own writes; an admin decides).
    const off = await api.request('POST', `/v1/employees/${peer}/time-off`, { token: peerToken, body: { startDate: '2026-07-01', endDate: '2026-07-10' } });
    expect(off.status, off.text).toBe(201);
    expect((await api.request('PATCH', `/v1/employees/${peer}/time-off/${off.body.id}`, { token: admin.token, body: { status: 'approved' } })).status).toBe(200);
    const window = await api.request('POST', `/v1/employees/${peer}/availability`, { token: peerToken, body: { weekday: 1, startTime: '08:00', endTime: '16:00' } });
    expect(window.status, window.text).toBe(201);
    const wish = await api.request('POST', `/v1/employees/${peer}/shift-requests`, { token: peerToken, body: { date: '2026-07-02', kind: 'off' } });
    expect(wish.status, wish.text).toBe(201);
    const before = await outboxTypes(api);

    for (const target of [peer, admin.employeeId]) {
      // Reading stays allowed (the subtree rule).
      expect((await api.request('GET', `/v1/employees/${target}/time-off`, { token: manager.token })).status).toBe(200);
      const writes: [string, string, unknown][] = [
        ['POST', `/v1/employees/${target}/time-off`, { startDate: '2026-08-01', endDate: '2026-08-02' }],
        ['POST', `/v1/employees/${target}/availability`, { weekday: 2, startTime: '08:00', endTime: '09:00' }],
        ['POST', `/v1/employees/${target}/shift-requests`, { date: '2026-08-01', kind: 'on' }],
      ];
      if (target === peer) {
        writes.push(
          ['PATCH', `/v1/employees/${peer}/time-off/${off.body.id}`, { endDate: '2026-07-02' }],
          ['PATCH', `/v1/employees/${peer}/time-off/${off.body.id}`, { status: 'rejected' }],
          ['DELETE', `/v1/employees/${peer}/availability/${window.body.id}`, undefined],
          ['DELETE', `/v1/employees/${peer}/shift-requests/${wish.body.id}`, undefined],
        );
      }
      for (const [method, path, body] of writes) {
        const r = await api.request(method, path, { token: manager.token, ...(body === undefined ? {} : { body }) });
        expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
        expect(r.body.error.code).toBe('forbidden');
      }
    }
    expect(await outboxTypes(api)).toEqual(before);
    const kept = await api.request('GET', `/v1/employees/${peer}/time-off`, { token: peerToken });
    expect(kept.body.data[0]).toMatchObject({ status: 'approved', endDate: '2026-07-10' });

    // Allowed: the manager for role-employee staff of the subtree, everyone for themselves, admins for anyone.
    const allowed: [string, string, unknown][] = [
      [manager.token, `/v1/employees/${staff}/time-off`, { startDate: '2026-08-01', endDate: '2026-08-02' }],
      [manager.token, `/v1/employees/${staff}/availability`, { weekday: 2, startTime: '08:00', endTime: '09:00' }],
      [manager.token, `/v1/employees/${staff}/shift-requests`, { date: '2026-08-01', kind: 'on' }],
      [staffToken, `/v1/employees/${staff}/availability`, { weekday: 3, startTime: '08:00', endTime: '09:00' }],
      [manager.token, `/v1/employees/${manager.employeeId}/time-off`, { startDate: '2026-09-01', endDate: '2026-09-02' }],
      [manager.token, `/v1/employees/${manager.employeeId}/availability`, { weekday: 2, startTime: '08:00', endTime: '09:00' }],
      [admin.token, `/v1/employees/${peer}/availability`, { weekday: 4, startTime: '08:00', endTime: '09:00' }],
    ];
    for (const [token, path, body] of allowed) {
      const r = await api.request('POST', path, { token, body });
      expect(r.status, `${path}: ${r.text}`).toBe(201);
    }
    const staffOff = await api.request('GET', `/v1/employees/${staff}/time-off`, { token: manager.token });
    const edited = await api.request('PATCH', `/v1/employees/${staff}/time-off/${staffOff.body.data[0].id}`, { token: manager.token, body: { status: 'approved' } });
    expect(edited.status, edited.text).toBe(200);
    // A manager does not approve their own time off (deciding needs manage rights over the employee).
    const own = await api.request('GET', `/v1/employees/${manager.employeeId}/time-off`, { token: manager.token });
    expect((await api.request('PATCH', `/v1/employees/${manager.employeeId}/time-off/${own.body.data[0].id}`, { token: manager.token, body: { status: 'approved' } })).status).toBe(403);
  });
});
