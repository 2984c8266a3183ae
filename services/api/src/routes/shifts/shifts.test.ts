import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';
import { makeSchedule, makeShift } from '../schedules/test-factories.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

// The period 2026-03-02 (Monday) .. 2026-03-29 (Sunday): four full weeks.
async function setup(api: TestApi, timezone = 'UTC') {
  const dept = await api.makeDepartment({ name: 'Ward', timezone });
  const manager = await api.login('manager', dept);
  const E = await api.makeTemplate({ departmentId: dept, code: 'E', start: '06:00', end: '14:00' });
  const L = await api.makeTemplate({ departmentId: dept, code: 'L', start: '14:00', end: '22:00' });
  const N = await api.makeTemplate({ departmentId: dept, code: 'N', start: '22:00', end: '06:00', skills: ['icu'] });
  const schedule = await makeSchedule(api, { departmentId: dept, start: '2026-03-02', end: '2026-03-29' });
  return { dept, token: manager.token, E, L, N, schedule };
}

describe('manual shifts', () => {
  test('create, change and delete: times from the template in the department zone, source manual, stats and events in the same transaction', async ({ api }) => {
    const { dept, token, E, N, schedule } = await setup(api, 'Europe/Berlin');
    const ann = await api.makeEmployee({ departmentId: dept, firstName: 'Ann', lastName: 'Lee', skills: ['icu'], hourlyRate: 30 });
    const created = await api.request('POST', '/v1/shifts', { token, body: { scheduleId: schedule, employeeId: ann, templateId: E, date: '2026-03-02' } });
    expect(created.status).toBe(201);
    // 06:00 CET = 05:00Z
    expect(created.body).toMatchObject({ scheduleId: schedule, departmentId: dept, employeeId: ann, employeeName: 'Ann Lee', templateCode: 'E', date: '2026-03-02', startsAt: '2026-03-02T05:00:00.000Z', endsAt: '2026-03-02T13:00:00.000Z', status: 'scheduled', source: 'manual', openSlot: 0 });
    const stats = async (date: string) => (await api.tdb.db.query<{ shift_count: number; labour_cost: string }>(
      'SELECT shift_count, labour_cost::text AS labour_cost FROM department_daily_stats WHERE department_id = $1 AND date = $2', [dept, date])).rows[0];
    expect(await stats('2026-03-02')).toEqual({ shift_count: 1, labour_cost: '240.00' });

    // Move it to the night of the DST change: 22:00 CET → 06:00 CEST is 7 hours.
    const moved = await api.request('PATCH', `/v1/shifts/${created.body.id}`, { token, body: { templateId: N, date: '2026-03-28', status: 'confirmed' } });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: created.body.id, templateCode: 'N', date: '2026-03-28', startsAt: '2026-03-28T21:00:00.000Z', endsAt: '2026-03-29T04:00:00.000Z', status: 'confirmed' });
    expect(await stats('2026-03-02')).toBeUndefined();
    expect(await stats('2026-03-28')).toEqual({ shift_count: 1, labour_cost: '210.00' });

    const open = await api.request('PATCH', `/v1/shifts/${created.body.id}`, { token, body: { employeeId: null } });
    expect(open.body).toMatchObject({ employeeId: null, openSlot: 1 });
    const second = await api.request('POST', '/v1/shifts', { token, body: { scheduleId: schedule, employeeId: null, templateId: N, date: '2026-03-28' } });
    expect(second.body.openSlot).toBe(2);

    // Reads see the change at once (the API invalidates after its own commit).
    const list = await api.request('GET', `/v1/schedules/${schedule}/shifts`, { token });
    expect(list.body.data).toHaveLength(2);
    expect((await api.request('DELETE', `/v1/shifts/${second.body.id}`, { token })).status).toBe(204);
    const list2 = await api.request('GET', `/v1/schedules/${schedule}/shifts`, { token });
    expect(list2.body.data.map((s: { id: string }) => s.id)).toEqual([created.body.id]);
    expect((await api.request('DELETE', `/v1/shifts/${second.body.id}`, { token })).status).toBe(404);

    const events = await api.tdb.db.query<{ type: string; envelope: any }>('SELECT type, envelope FROM outbox ORDER BY id');
    expect(events.rows.map((e) => e.type)).toEqual(['shifts.changed', 'shifts.changed', 'shifts.changed', 'shifts.changed', 'shifts.changed']);
    expect(events.rows[0]!.envelope.scopes).toMatchObject({ departmentIds: [dept], scheduleIds: [schedule], employeeIds: [ann] });
    expect(events.rows[2]!.envelope.scopes.employeeIds).toEqual([ann]); // the employee who lost the shift
    const sources = await api.tdb.db.query<{ source: string }>('SELECT DISTINCT source FROM shifts');
    expect(sources.rows).toEqual([{ source: 'manual' }]);

    // Across a month boundary the row moves to another partition (created on demand).
    const span = await makeSchedule(api, { departmentId: dept, start: '2026-04-27', end: '2026-05-10' });
    const x = await api.request('POST', '/v1/shifts', { token, body: { scheduleId: span, employeeId: ann, templateId: E, date: '2026-04-30' } });
    expect(x.status).toBe(201);
    const y = await api.request('PATCH', `/v1/shifts/${x.body.id}`, { token, body: { date: '2026-05-04' } });
    expect(y.status).toBe(200);
    const where = await api.tdb.db.query<{ part: string; date: string }>(`SELECT tableoid::regclass::text AS part, date::text AS date FROM shifts WHERE id = $1`, [x.body.id]);
    expect(where.rows).toEqual([{ part: 'shifts_2026_05', date: '2026-05-04' }]);
    // A deactivated employee's shift can still be confirmed (the employee is not being assigned).
    await api.tdb.db.query('UPDATE employees SET active = false WHERE id = $1', [ann]);
    expect((await api.request('PATCH', `/v1/shifts/${x.body.id}`, { token, body: { status: 'confirmed' } })).status).toBe(200);
  });

  test('every hard rule broken by an edit is named in a 409 rule_violation, and nothing is written', async ({ api }) => {
    const { dept, token, E, L, N, schedule } = await setup(api);
    const db = api.tdb.db;
    const post = (employeeId: string, templateId: string, date: string) =>
      api.request('POST', '/v1/shifts', { token, body: { scheduleId: schedule, employeeId, templateId, date } });
    const expectRules = async (r: Awaited<ReturnType<typeof post>>, rules: string[]) => {
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body.error.code).toBe('rule_violation');
      expect(r.body.error.details.map((d: { rule: string }) => d.rule).sort()).toEqual([...rules].sort());
      for (const d of r.body.error.details) expect(d.message).toBeTruthy();
    };
    const emp = async (rules: Record<string, number> = {}, skills: string[] = []) => {
      const id = await api.makeEmployee({ departmentId: dept, skills });
      const cols = Object.keys(rules);
      if (cols.length) {
        await db.query(`INSERT INTO employee_rules (employee_id, ${cols.join(', ')}) VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')})`, [id, ...Object.values(rules)]);
      }
      return id;
    };
    const ok = async (r: Awaited<ReturnType<typeof post>>) => expect(r.status, JSON.stringify(r.body)).toBe(201);

    // skills
    await expectRules(await post(await emp(), N, '2026-03-02'), ['skills']);
    // approved time off (a requested one does not block)
    const off = await emp();
    await db.query(`INSERT INTO time_off (employee_id, start_date, end_date, status) VALUES ($1, '2026-03-03', '2026-03-04', 'approved'), ($1, '2026-03-05', '2026-03-05', 'requested')`, [off]);
    await expectRules(await post(off, E, '2026-03-04'), ['time-off']);
    await ok(await post(off, E, '2026-03-05'));
    // availability: only Monday mornings
    const avail = await emp();
    await db.query(`INSERT INTO availability (employee_id, weekday, start_time, end_time) VALUES ($1, 1, '06:00', '14:00')`, [avail]);
    await ok(await post(avail, E, '2026-03-02'));
    await expectRules(await post(avail, L, '2026-03-09'), ['availability']);
    // one shift per day (back to back: no rest either)
    const twice = await emp();
    await ok(await post(twice, E, '2026-03-02'));
    await expectRules(await post(twice, L, '2026-03-02'), ['one-shift-per-day', 'min-rest']);
    // min rest: late then early is 8 hours, 11 required by default
    const rest = await emp();
    await ok(await post(rest, L, '2026-03-02'));
    await expectRules(await post(rest, E, '2026-03-03'), ['min-rest']);
    // forbidden succession L → E (rest rule relaxed so only the succession is broken)
    await db.query('INSERT INTO template_successions (department_id, from_template_id, to_template_id) VALUES ($1, $2, $3)', [dept, L, E]);
    const succ = await emp({ min_rest_minutes: 0 });
    await ok(await post(succ, L, '2026-03-09'));
    await expectRules(await post(succ, E, '2026-03-10'), ['forbidden-succession']);
    // per-type cap: at most one early shift
    const cap = await emp();
    await db.query('INSERT INTO employee_shift_limits (employee_id, template_id, max_shifts) VALUES ($1, $2, 1)', [cap, E]);
    await ok(await post(cap, E, '2026-03-02'));
    await expectRules(await post(cap, E, '2026-03-12'), ['max-shifts-per-type']);
    // max minutes per period (two 8 h shifts)
    const period = await emp({ max_minutes_per_period: 960 });
    await ok(await post(period, E, '2026-03-02'));
    await ok(await post(period, E, '2026-03-10'));
    await expectRules(await post(period, E, '2026-03-20'), ['max-minutes-per-period']);
    // max minutes per week
    const week = await emp({ max_minutes_per_week: 960 });
    await ok(await post(week, E, '2026-03-02'));
    await ok(await post(week, E, '2026-03-04'));
    await expectRules(await post(week, E, '2026-03-06'), ['max-minutes-per-week']);
    await ok(await post(week, E, '2026-03-09')); // next week
    // max consecutive days
    const run = await emp({ max_consecutive_days: 2 });
    await ok(await post(run, E, '2026-03-02'));
    await ok(await post(run, E, '2026-03-04'));
    await expectRules(await post(run, E, '2026-03-03'), ['max-consecutive-days']);
    // max weekends
    const wk = await emp({ max_weekends_per_period: 1 });
    await ok(await post(wk, E, '2026-03-07'));
    await ok(await post(wk, E, '2026-03-08')); // same weekend
    await expectRules(await post(wk, E, '2026-03-14'), ['max-weekends']);
    // several at once: all listed
    const many = await emp({ max_weekends_per_period: 0 });
    await db.query(`INSERT INTO time_off (employee_id, start_date, end_date, status) VALUES ($1, '2026-03-07', '2026-03-07', 'approved')`, [many]);
    await expectRules(await post(many, N, '2026-03-07'), ['skills', 'time-off', 'max-weekends']);

    // A PATCH is checked too; a cancelled shift counts for nothing.
    const p = await emp();
    const a = (await post(p, L, '2026-03-02')).body.id;
    const b = (await post(p, E, '2026-03-04')).body.id;
    const bad = await api.request('PATCH', `/v1/shifts/${b}`, { token, body: { date: '2026-03-03' } });
    await expectRules(bad, ['min-rest', 'forbidden-succession']); // L → E was forbidden above
    expect((await api.request('PATCH', `/v1/shifts/${a}`, { token, body: { status: 'cancelled' } })).status).toBe(200);
    expect((await api.request('PATCH', `/v1/shifts/${b}`, { token, body: { date: '2026-03-03' } })).status).toBe(200);

    // Refused edits wrote nothing: the only shifts are the accepted ones.
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM shifts');
    expect(n.rows[0]!.n).toBe(17);
  });

  test("an edit is checked against the employee's shifts in every live schedule around it: the department's adjacent rosters, other departments', manual ones", async ({ api }) => {
    const dept = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('manager', dept);
    const E = await api.makeTemplate({ departmentId: dept, code: 'E', start: '06:00', end: '14:00' });
    const L = await api.makeTemplate({ departmentId: dept, code: 'L', start: '14:00', end: '22:00' });
    const N = await api.makeTemplate({ departmentId: dept, code: 'N', start: '22:00', end: '06:00' });
    await api.tdb.db.query('INSERT INTO template_successions (department_id, from_template_id, to_template_id) VALUES ($1, $2, $3)', [dept, N, E]);
    const january = await makeSchedule(api, { departmentId: dept, start: '2026-01-01', end: '2026-01-31', status: 'published' });
    const february = await makeSchedule(api, { departmentId: dept, start: '2026-02-01', end: '2026-02-28' });
    const post = (employeeId: string, templateId: string, date: string) =>
      api.request('POST', '/v1/shifts', { token, body: { scheduleId: february, employeeId, templateId, date } });
    const rulesOf = (r: Awaited<ReturnType<typeof post>>): string[] => {
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body.error.code).toBe('rule_violation');
      return r.body.error.details.map((d: { rule: string }) => d.rule).sort();
    };

    // A night on 31 January in the published January roster, then an early on 1 February.
    const ann = await api.makeEmployee({ departmentId: dept });
    await makeShift(api, { scheduleId: january, employeeId: ann, templateId: N, date: '2026-01-31' });
    expect(rulesOf(await post(ann, E, '2026-02-01'))).toEqual(['forbidden-succession', 'min-rest']);
    // A PATCH onto that day is refused the same way.
    const later = await post(ann, E, '2026-02-03');
    expect(later.status).toBe(201);
    expect(rulesOf(await api.request('PATCH', `/v1/shifts/${later.body.id}`, { token, body: { date: '2026-02-01' } }))).toEqual(['forbidden-succession', 'min-rest']);

    // Working days in a row continue across the month: 29–31 January + 1 February > 3.
    const bob = await api.makeEmployee({ departmentId: dept });
    await api.tdb.db.query('INSERT INTO employee_rules (employee_id, max_consecutive_days) VALUES ($1, 3)', [bob]);
    for (const d of ['2026-01-29', '2026-01-30', '2026-01-31']) await makeShift(api, { scheduleId: january, employeeId: bob, templateId: E, date: d });
    expect(rulesOf(await post(bob, E, '2026-02-01'))).toEqual(['max-consecutive-days']);
    expect((await post(bob, E, '2026-02-02')).status).toBe(201);

    // A shift in another department's live schedule the same day: one shift a day (and no rest).
    const cara = await api.makeEmployee({ departmentId: dept });
    const elsewhere = await api.makeDepartment();
    const X = await api.makeTemplate({ departmentId: elsewhere, code: 'X', start: '08:00', end: '12:00' });
    const theirs = await makeSchedule(api, { departmentId: elsewhere, start: '2026-02-02', end: '2026-02-08' });
    await makeShift(api, { scheduleId: theirs, employeeId: cara, templateId: X, date: '2026-02-04' });
    expect(rulesOf(await post(cara, L, '2026-02-04'))).toEqual(['min-rest', 'one-shift-per-day']);

    // The department's other live schedules on this period's own days are alternatives, not
    // bookings: a trial draft over the end of January may give ann an early on 20 January, when
    // the published roster has her on a night that day (her night on the 31st, outside the trial's
    // period but inside January's, still counts there).
    await makeShift(api, { scheduleId: january, employeeId: ann, templateId: N, date: '2026-01-20' });
    const trial = await makeSchedule(api, { departmentId: dept, start: '2026-01-15', end: '2026-01-30' });
    const inTrial = await api.request('POST', '/v1/shifts', { token, body: { scheduleId: trial, employeeId: ann, templateId: E, date: '2026-01-20' } });
    expect(inTrial.status, JSON.stringify(inTrial.body)).toBe(201);
    // …and then January's own edits do not count the trial's shifts on January's days either.
    expect((await api.request('PATCH', `/v1/shifts/${inTrial.body.id}`, { token, body: { date: '2026-01-21' } })).status).toBe(200);

    // An archived roster no longer counts.
    await api.tdb.db.query(`UPDATE schedules SET status = 'archived' WHERE id = $1`, [january]);
    expect((await api.request('PATCH', `/v1/shifts/${later.body.id}`, { token, body: { date: '2026-02-01' } })).status).toBe(200);
  });

  test("max minutes per week counts the adjacent rosters' shifts in the weeks the period's first and last days cut", async ({ api }) => {
    const dept = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('manager', dept);
    const E = await api.makeTemplate({ departmentId: dept, code: 'E', start: '06:00', end: '14:00' });
    // This period: Friday 6 .. Tuesday 10 March 2026, between a published and a draft roster.
    const previous = await makeSchedule(api, { departmentId: dept, start: '2026-02-23', end: '2026-03-05', status: 'published' });
    const period = await makeSchedule(api, { departmentId: dept, start: '2026-03-06', end: '2026-03-10' });
    const next = await makeSchedule(api, { departmentId: dept, start: '2026-03-11', end: '2026-03-17' });
    const post = (employeeId: string, date: string) => api.request('POST', '/v1/shifts', { token, body: { scheduleId: period, employeeId, templateId: E, date } });
    const weekRule = async (employeeId: string, date: string) => {
      const r = await post(employeeId, date);
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body.error.details).toMatchObject([{ rule: 'max-minutes-per-week', date: expect.any(String), message: expect.stringContaining('1920 minutes in the week of') }]);
      return r.body.error.details[0].date;
    };
    // 24 h a week at most. Ann worked Monday 2 and Tuesday 3 March in the previous roster (2 days
    // in a row at most: runs alone would read only 3 days back, to Tuesday).
    const ann = await api.makeEmployee({ departmentId: dept });
    await api.tdb.db.query('INSERT INTO employee_rules (employee_id, max_minutes_per_week, max_consecutive_days) VALUES ($1, 1440, 2)', [ann]);
    for (const d of ['2026-03-02', '2026-03-03']) await makeShift(api, { scheduleId: previous, employeeId: ann, templateId: E, date: d });
    expect((await post(ann, '2026-03-06')).status).toBe(201);
    expect(await weekRule(ann, '2026-03-07')).toBe('2026-03-02');
    // Bob works Thursday 12 and Friday 13 in the next roster.
    const bob = await api.makeEmployee({ departmentId: dept });
    await api.tdb.db.query('INSERT INTO employee_rules (employee_id, max_minutes_per_week) VALUES ($1, 1440)', [bob]);
    for (const d of ['2026-03-12', '2026-03-13']) await makeShift(api, { scheduleId: next, employeeId: bob, templateId: E, date: d });
    expect((await post(bob, '2026-03-09')).status).toBe(201);
    expect(await weekRule(bob, '2026-03-10')).toBe('2026-03-09');
    // The week of 2–8 March is not broken for Bob, who has nothing before the period.
    expect((await post(bob, '2026-03-06')).status).toBe(201);
  });

  test("a trial draft over the adjacent roster's days does not count their shifts twice toward a week", async ({ api }) => {
    const dept = await api.makeDepartment({ name: 'Ward' });
    const { token } = await api.login('manager', dept);
    const E = await api.makeTemplate({ departmentId: dept, code: 'E', start: '06:00', end: '14:00' });
    // Published to Thursday 5 March, and a trial draft for Monday 2 – Thursday 5 with the same
    // Monday and Tuesday shifts: alternatives, of which the published roster is the plan.
    const published = await makeSchedule(api, { departmentId: dept, start: '2026-02-23', end: '2026-03-05', status: 'published' });
    const trial = await makeSchedule(api, { departmentId: dept, start: '2026-03-02', end: '2026-03-05' });
    const period = await makeSchedule(api, { departmentId: dept, start: '2026-03-06', end: '2026-03-10' });
    const ann = await api.makeEmployee({ departmentId: dept });
    await api.tdb.db.query('INSERT INTO employee_rules (employee_id, max_minutes_per_week) VALUES ($1, 1440)', [ann]);
    for (const s of [published, trial]) for (const d of ['2026-03-02', '2026-03-03']) await makeShift(api, { scheduleId: s, employeeId: ann, templateId: E, date: d });
    const post = (date: string) => api.request('POST', '/v1/shifts', { token, body: { scheduleId: period, employeeId: ann, templateId: E, date } });
    // 16 h worked that week, not 32: Friday fits the 24 h maximum, Saturday does not.
    const friday = await post('2026-03-06');
    expect(friday.status, JSON.stringify(friday.body)).toBe(201);
    const saturday = await post('2026-03-07');
    expect(saturday.status).toBe(409);
    expect(saturday.body.error.details).toMatchObject([{ rule: 'max-minutes-per-week', message: expect.stringContaining('1920 minutes in the week of') }]);
  });

  test('validation: 400 naming the field; archived schedule 409; duplicate shift 409; unknown shift 404', async ({ api }) => {
    const { dept, token, E, schedule } = await setup(api);
    const ann = await api.makeEmployee({ departmentId: dept });
    const other = await api.makeDepartment();
    const foreignT = await api.makeTemplate({ departmentId: other });
    const foreignE = await api.makeEmployee({ departmentId: other });
    const inactive = await api.makeEmployee({ departmentId: dept, active: false });
    const ok = { scheduleId: schedule, employeeId: ann, templateId: E, date: '2026-03-02' };
    const cases: [unknown, string][] = [
      [{ ...ok, date: '2026-04-01' }, 'body.date'],
      [{ ...ok, date: '2026-02-31' }, 'body.date'],
      [{ ...ok, templateId: foreignT }, 'body.templateId'],
      [{ ...ok, employeeId: foreignE }, 'body.employeeId'],
      [{ ...ok, employeeId: inactive }, 'body.employeeId'],
      [{ ...ok, employeeId: '987654' }, 'body.employeeId'],
      [{ ...ok, employeeId: undefined }, 'body.employeeId'],
      [{ ...ok, status: 'done' }, 'body.status'],
      [{ ...ok, scheduleId: 'x' }, 'body.scheduleId'],
      [{ ...ok, extra: 1 }, 'body.extra'],
    ];
    for (const [body, field] of cases) {
      const r = await api.request('POST', '/v1/shifts', { token, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect((await api.request('POST', '/v1/shifts', { token, body: { ...ok, scheduleId: '987654' } })).status).toBe(404);
    const retired = await api.makeTemplate({ departmentId: dept, code: 'OLD' });
    await api.tdb.db.query('UPDATE shift_templates SET active = false WHERE id = $1', [retired]);
    const r = await api.request('POST', '/v1/shifts', { token, body: { ...ok, templateId: retired } });
    expect(r.status).toBe(400);
    expect(r.body.error.details[0].field).toBe('body.templateId');
    const s = await api.request('POST', '/v1/shifts', { token, body: { ...ok, status: 'cancelled' } });
    expect(s.status).toBe(201);
    const dup = await api.request('POST', '/v1/shifts', { token, body: ok });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
    expect((await api.request('PATCH', `/v1/shifts/${s.body.id}`, { token, body: {} })).status).toBe(400);
    expect((await api.request('PATCH', `/v1/shifts/${s.body.id}`, { token, body: { date: '2027-01-01' } })).status).toBe(400);
    expect((await api.request('PATCH', '/v1/shifts/987654', { token, body: { status: 'confirmed' } })).status).toBe(404);
    expect((await api.request('PATCH', '/v1/shifts/abc', { token, body: { status: 'confirmed' } })).status).toBe(400);
    await api.tdb.db.query(`UPDATE schedules SET status = 'archived' WHERE id = $1`, [schedule]);
    expect((await api.request('POST', '/v1/shifts', { token, body: { ...ok, date: '2026-03-03' } })).status).toBe(409);
    expect((await api.request('DELETE', `/v1/shifts/${s.body.id}`, { token })).status).toBe(409);
  });

  test('concurrent edits for one employee are checked one after the other', async ({ api }) => {
    const { dept, token, E, L, schedule } = await setup(api);
    const ann = await api.makeEmployee({ departmentId: dept });
    const results = await Promise.all([E, L, E, L].map((templateId) =>
      api.request('POST', '/v1/shifts', { token, body: { scheduleId: schedule, employeeId: ann, templateId, date: '2026-03-10' } })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    const n = await api.tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM shifts WHERE employee_id = $1', [ann]);
    expect(n.rows[0]!.n).toBe(1);
  });

  test('authorization: 401 anonymous, employees may not edit, managers only inside their subtree', async ({ api }) => {
    const top = await api.makeDepartment();
    const mine = await api.makeDepartment({ parentId: top });
    const other = await api.makeDepartment({ parentId: top });
    const t = await api.makeTemplate({ departmentId: other });
    const e = await api.makeEmployee({ departmentId: other });
    const s = await makeSchedule(api, { departmentId: other, start: '2026-03-02', end: '2026-03-08', status: 'published' });
    const shift = await makeShift(api, { scheduleId: s, employeeId: e, templateId: t, date: '2026-03-02' });
    const body = { scheduleId: s, employeeId: e, templateId: t, date: '2026-03-03' };
    const manager = await api.login('manager', mine);
    const employee = await api.login('employee', other);
    const admin = await api.login('admin', top);
    expect((await api.request('POST', '/v1/shifts', { body })).status).toBe(401);
    expect((await api.request('POST', '/v1/shifts', { token: employee.token, body })).status).toBe(403);
    expect((await api.request('PATCH', `/v1/shifts/${shift}`, { token: employee.token, body: { status: 'confirmed' } })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/shifts/${shift}`, { token: employee.token })).status).toBe(403);
    expect((await api.request('POST', '/v1/shifts', { token: manager.token, body })).status).toBe(403);
    expect((await api.request('PATCH', `/v1/shifts/${shift}`, { token: manager.token, body: { status: 'confirmed' } })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/shifts/${shift}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('POST', '/v1/shifts', { token: admin.token, body })).status).toBe(201);
    expect((await api.request('DELETE', `/v1/shifts/${shift}`, { token: admin.token })).status).toBe(204);
  });
});
