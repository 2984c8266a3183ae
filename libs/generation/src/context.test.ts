/**
 * Bookings around and inside the generated period (SPEC §2 rules across the period's edges): the
 * load gives them to the solver, the write checks them again, the stored-roster check sees them.
 */
import { describe, expect, test as base } from 'vitest';
import { solve } from '@rota/solver';
import type { Db } from '@rota/db';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import {
  GenerationConflictError, checkStoredRoster, createScenario, insertRun, loadInstance, readRun, writeResult, type Scenario,
} from './index.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

/** E 06:00–14:00 and N 22:00–06:00; no E the day after an N; at most 6 days in a row, 11 h rest. */
async function department(db: Db, employees: number, periodStart: string): Promise<Scenario> {
  const s = await createScenario(db, {
    employees, periodStart, days: 7,
    templates: [{ code: 'E', start: '06:00', end: '14:00' }, { code: 'N', start: '22:00', end: '06:00' }],
    successions: [['N', 'E']],
    // Every employee is wanted on the early shift every day.
    demand: (t) => (t === 0 ? employees : 0),
    contract: { maxConsecutive: 6, minRest: 660, maxMinutes: 7 * 480, maxWeekends: 2 },
    timeOffShare: 0, availabilityShare: 0, requestsPerEmployee: 0,
  });
  // …and wants to work on the first day: only a rule can keep them off it.
  await db.query(`INSERT INTO shift_requests (employee_id, date, kind, weight) SELECT unnest($1::bigint[]), $2, 'on', 3`, [s.employeeIds, periodStart]);
  return s;
}

/** A schedule of the department with the given shifts (employee index, template index, date). */
async function bookSchedule(db: Db, s: Scenario, period: [string, string], status: 'published' | 'draft', shifts: [number, number, string][]): Promise<string> {
  await db.query('SELECT rota_ensure_shift_partitions($1::date, $2::date)', period);
  const sc = await db.query<{ id: string }>(
    `INSERT INTO schedules (department_id, period_start, period_end, status, published_at)
     VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'published' THEN now() END) RETURNING id`, [s.departmentId, ...period, status]);
  const id = sc.rows[0]!.id;
  for (const [e, t, date] of shifts) await bookShift(db, s, id, e, t, date, 'generated');
  return id;
}

async function bookShift(db: Db, s: Scenario, scheduleId: string, e: number, t: number, date: string, source: 'generated' | 'manual'): Promise<void> {
  await db.query('SELECT rota_ensure_shift_partitions($1::date, $1::date)', [date]);
  await db.query(
    `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at, source)
     SELECT $1, $2, $3, t.id, $5::date, 0, ($5::date + t.start_time) AT TIME ZONE 'UTC',
            ($5::date + CASE WHEN t.end_time <= t.start_time THEN 1 ELSE 0 END + t.end_time) AT TIME ZONE 'UTC', $6
       FROM shift_templates t WHERE t.id = $4`,
    [scheduleId, s.departmentId, s.employeeIds[e], s.templateIds[t], date, source]);
}

async function solveRun(db: Db, runId: string) {
  await db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [runId]);
  const loaded = await loadInstance(db, (await readRun(db, runId))!);
  const r = solve(loaded.instance, { seed: 1, maxIterations: 3000, timeLimitMs: 10_000 });
  const summary = { elapsedMs: 1, iterations: r.iterations, stoppedBy: r.stoppedBy, score: r.score };
  return { loaded, r, write: () => writeResult(db, loaded, r.assignment, summary) };
}

/** Dates each employee works in a schedule. */
async function workedDates(db: Db, s: Scenario, scheduleId: string): Promise<string[][]> {
  const r = await db.query<{ employee_id: string; date: string }>(
    `SELECT employee_id, to_char(date, 'YYYY-MM-DD') AS date FROM shifts WHERE schedule_id = $1 AND employee_id IS NOT NULL ORDER BY date`, [scheduleId]);
  return s.employeeIds.map((id) => r.rows.filter((x) => x.employee_id === id).map((x) => x.date));
}

// Weekly periods: last week 2030-01-07..13 (Monday..Sunday), this week 2030-01-14..20.
const MON = '2030-01-14';
const LAST_WEEK: [string, string] = ['2030-01-07', '2030-01-13'];

describe('a regenerated draft', () => {
  test("keeps a manager's cancellation: that employee is not put back on that shift, and its slot is filled or left open", async ({ tdb }) => {
    const s = await department(tdb.db, 2, MON);
    const first = await (await solveRun(tdb.db, await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: MON, periodEnd: '2030-01-20' }))).write();
    if (first.kind !== 'written') throw new Error('not written');
    const sched = first.result.scheduleId;
    // Demand wants both on the early shift on Monday (and they asked for it): the manager cancels employee 0's.
    const cancelled = await tdb.db.query<{ id: string }>(
      `UPDATE shifts SET status = 'cancelled', source = 'manual', updated_at = now()
        WHERE schedule_id = $1 AND employee_id = $2 AND template_id = $3 AND date = $4 RETURNING id`,
      [sched, s.employeeIds[0], s.templateIds[0], MON]);
    expect(cancelled.rowCount).toBe(1);

    const again = await solveRun(tdb.db, await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: MON, periodEnd: '2030-01-20' }));
    expect(again.loaded.instance.employees[0]!.allowed[0]![0]).toBe(false);
    const out = await again.write();
    if (out.kind !== 'written') throw new Error('not written');
    expect(out.result.scheduleId).toBe(sched);
    const monday = await tdb.db.query<{ employee_id: string | null; status: string }>(
      `SELECT employee_id, status FROM shifts WHERE schedule_id = $1 AND template_id = $2 AND date = $3 ORDER BY id`, [sched, s.templateIds[0], MON]);
    // The cancelled row is still there and cancelled; employee 0 holds no other early that day.
    expect(monday.rows.filter((r) => r.employee_id === s.employeeIds[0])).toEqual([{ employee_id: s.employeeIds[0], status: 'cancelled' }]);
    // Two are wanted: employee 1, and an open shift for the slot employee 0 no longer fills.
    const live = monday.rows.filter((r) => r.status !== 'cancelled');
    expect(live.map((r) => r.employee_id)).toEqual(expect.arrayContaining([s.employeeIds[1], null]));
    expect(live).toHaveLength(2);
  });
});

describe('bookings around the period', () => {
  test("last week's published roster binds this week's: rest and succession after Sunday's night, working days in a row", async ({ tdb }) => {
    const s = await department(tdb.db, 3, MON);
    // Employee 0: a night on Sunday. Employee 1: early shifts Tuesday..Sunday (6 days). Employee 2: nothing.
    await bookSchedule(tdb.db, s, LAST_WEEK, 'published', [
      [0, 1, '2030-01-13'], ...[8, 9, 10, 11, 12, 13].map((d): [number, number, string] => [1, 0, `2030-01-${d}`]),
    ]);
    const runId = await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: MON, periodEnd: '2030-01-20' });
    const { loaded, write } = await solveRun(tdb.db, runId);
    expect(loaded.instance.employees[1]).toMatchObject({ knownDaysBefore: loaded.contextWindow });
    const out = await write();
    if (out.kind !== 'written') throw new Error('not written');
    expect(out.result.hardViolations).toBe(0);
    const worked = await workedDates(tdb.db, s, out.result.scheduleId);
    // Demand and their requests want everyone on Monday; the rules keep employees 0 and 1 off.
    expect(worked[0]![0]).toBe('2030-01-15');
    expect(worked[1]![0]).toBe('2030-01-15');
    expect(worked[2]![0]).toBe(MON);
    expect((await checkStoredRoster(tdb.db, runId, out.result.scheduleId)).violations).toEqual([]);
  });

  test("next week's roster binds too: no night on Sunday before its Monday early, even where demand wants one", async ({ tdb }) => {
    const s = await department(tdb.db, 1, MON);
    // On Sunday only a night is wanted, and next week's roster has an early on Monday.
    await tdb.db.query(`UPDATE demand SET required = (template_id = $1)::int WHERE date = '2030-01-20'`, [s.templateIds[1]]);
    await bookSchedule(tdb.db, s, ['2030-01-21', '2030-01-27'], 'draft', [[0, 0, '2030-01-21']]);
    const { write } = await solveRun(tdb.db, await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: MON, periodEnd: '2030-01-20' }));
    const out = await write();
    if (out.kind !== 'written') throw new Error('not written');
    const sunday = await tdb.db.query<{ code: string }>(
      `SELECT t.code FROM shifts x JOIN shift_templates t ON t.id = x.template_id WHERE x.schedule_id = $1 AND x.employee_id IS NOT NULL AND x.date = '2030-01-20'`,
      [out.result.scheduleId]);
    expect(sunday.rows.map((r) => r.code)).toEqual([]);
  });

  test('a booking inside the period from another schedule counts toward the period: minutes and working days in a row', async ({ tdb }) => {
    const s = await department(tdb.db, 1, MON);
    await tdb.db.query(`UPDATE contracts SET max_minutes_per_period = 4 * 480, max_consecutive_days = 3
                         WHERE id = (SELECT contract_id FROM employees WHERE id = $1)`, [s.employeeIds[0]]);
    // A manual shift on Thursday in another department's live schedule.
    const other = await createScenario(tdb.db, { employees: 0, periodStart: MON, days: 7 });
    const sc = await bookSchedule(tdb.db, other, [MON, '2030-01-20'], 'published', []);
    await tdb.db.query('UPDATE shifts SET department_id = $1 WHERE schedule_id = $2', [other.departmentId, sc]);
    await bookShift(tdb.db, { ...other, employeeIds: s.employeeIds }, sc, 0, 0, '2030-01-17', 'manual');
    const { write } = await solveRun(tdb.db, await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: MON, periodEnd: '2030-01-20' }));
    const out = await write();
    if (out.kind !== 'written') throw new Error('not written');
    const worked = (await workedDates(tdb.db, s, out.result.scheduleId))[0]!;
    // 3 generated + the booked one = 4 × 480 minutes; never 4 days in a row with Thursday.
    expect(worked).toHaveLength(3);
    expect(worked).not.toContain('2030-01-17');
    const days = [...worked, '2030-01-17'].map((d) => Number(d.slice(8))).sort((a, b) => a - b);
    for (let i = 0; i + 3 < days.length; i++) expect(days[i + 3]! - days[i]!).toBeGreaterThan(3);
  });

  test('the stored-roster check sees a booking made before the period after the roster was written', async ({ tdb }) => {
    const s = await department(tdb.db, 1, MON);
    const runId = await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: MON, periodEnd: '2030-01-20' });
    const out = await (await solveRun(tdb.db, runId)).write();
    if (out.kind !== 'written') throw new Error('not written');
    expect((await workedDates(tdb.db, s, out.result.scheduleId))[0]).toContain(MON);
    expect((await checkStoredRoster(tdb.db, runId, out.result.scheduleId)).violations).toEqual([]);
    // Sunday night in last week's roster, added afterwards.
    await bookSchedule(tdb.db, s, LAST_WEEK, 'published', [[0, 1, '2030-01-13']]);
    const check = await checkStoredRoster(tdb.db, runId, out.result.scheduleId);
    expect(check.violations.map((v) => [v.rule, v.day])).toEqual([['min-rest', 0], ['forbidden-succession', 0]]);
  });

  test('a booking made next to the roster while it was being solved makes the write refuse it (retryable)', async ({ tdb }) => {
    const s = await department(tdb.db, 1, MON);
    const runId = await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: MON, periodEnd: '2030-01-20' });
    const { r, write } = await solveRun(tdb.db, runId);
    expect(r.assignment[0]![0]).toBe(0);
    await bookSchedule(tdb.db, s, LAST_WEEK, 'published', [[0, 1, '2030-01-13']]);
    await expect(write()).rejects.toThrow(GenerationConflictError);
    await expect(write()).rejects.toThrow(/min-rest .*forbidden-succession/);
    // The retry loads the booking and keeps Monday free.
    const retry = await (await solveRun(tdb.db, runId)).write();
    if (retry.kind !== 'written') throw new Error('not written');
    expect((await workedDates(tdb.db, s, retry.result.scheduleId))[0]).not.toContain(MON);
  });

  test("a period starting mid-week counts last roster's shifts of that week toward the weekly maximum, from the week's Monday on", async ({ tdb }) => {
    // A weekend period (Saturday 19, Sunday 20 January) after a Monday..Friday roster with 24 h:
    // Monday, Tuesday and Thursday. 32 h a week at most, an early wanted on both days.
    const SAT = '2030-01-19';
    const s = await createScenario(tdb.db, {
      employees: 1, periodStart: SAT, days: 2,
      templates: [{ code: 'E', start: '06:00', end: '14:00' }],
      demand: () => 1,
      // 3 days in a row at most: the runs alone would read 4 days back (to Tuesday), not to Monday.
      contract: { maxConsecutive: 3, minRest: 660, maxMinutes: 2 * 480, maxWeekends: 1 },
      timeOffShare: 0, availabilityShare: 0, requestsPerEmployee: 0,
    });
    await tdb.db.query('UPDATE contracts SET max_minutes_per_week = 32 * 60 WHERE id = (SELECT contract_id FROM employees WHERE id = $1)', [s.employeeIds[0]]);
    const weekdays = await bookSchedule(tdb.db, s, ['2030-01-14', '2030-01-18'], 'published', [[0, 0, '2030-01-14'], [0, 0, '2030-01-15'], [0, 0, '2030-01-17']]);
    const runId = await insertRun(tdb.db, s);
    const { loaded, write } = await solveRun(tdb.db, runId);
    expect(loaded.contextWindow).toBeGreaterThanOrEqual(6);
    expect(loaded.instance.employees[0]!.fixed?.map((f) => f.day)).toEqual([-5, -4, -2]);
    const out = await write();
    if (out.kind !== 'written') throw new Error('not written');
    expect(out.result.hardViolations).toBe(0);
    // 24 h booked + one 8 h shift = 32 h; the other weekend day stays open.
    expect((await workedDates(tdb.db, s, out.result.scheduleId))[0]).toHaveLength(1);
    expect((await checkStoredRoster(tdb.db, runId, out.result.scheduleId)).violations).toEqual([]);
    // Wednesday added by hand to the weekday roster afterwards: the stored roster's week is over.
    await bookShift(tdb.db, s, weekdays, 0, 0, '2030-01-16', 'manual');
    expect((await checkStoredRoster(tdb.db, runId, out.result.scheduleId)).violations).toMatchObject([
      { rule: 'max-week-minutes', day: -5, message: '2400 minutes in the week from day -5, at most 1920' },
    ]);
  });

  test("of a published roster and a trial draft over its last days only the plan's shifts count: a week's minutes are not doubled", async ({ tdb }) => {
    const SAT = '2030-01-19';
    const s = await createScenario(tdb.db, {
      employees: 1, periodStart: SAT, days: 2,
      templates: [{ code: 'E', start: '06:00', end: '14:00' }],
      demand: () => 1,
      contract: { maxConsecutive: 6, minRest: 660, maxMinutes: 2 * 480, maxWeekends: 1 },
      timeOffShare: 0, availabilityShare: 0, requestsPerEmployee: 0,
    });
    await tdb.db.query('UPDATE contracts SET max_minutes_per_week = 32 * 60 WHERE id = (SELECT contract_id FROM employees WHERE id = $1)', [s.employeeIds[0]]);
    // Monday and Tuesday in the published roster and again in a trial draft over Monday–Friday.
    await bookSchedule(tdb.db, s, ['2030-01-07', '2030-01-18'], 'published', [[0, 0, '2030-01-14'], [0, 0, '2030-01-15']]);
    await bookSchedule(tdb.db, s, ['2030-01-14', '2030-01-18'], 'draft', [[0, 0, '2030-01-14'], [0, 0, '2030-01-15']]);
    const runId = await insertRun(tdb.db, s);
    const { loaded, write } = await solveRun(tdb.db, runId);
    // 16 h booked that week, once: both weekend days fit the 32 h maximum.
    expect(loaded.instance.employees[0]!.fixed?.map((f) => f.day)).toEqual([-5, -4]);
    const out = await write();
    if (out.kind !== 'written') throw new Error('not written');
    expect(out.result.hardViolations).toBe(0);
    expect((await workedDates(tdb.db, s, out.result.scheduleId))[0]).toHaveLength(2);
  });

  test("a period starting mid-week judges the minimum of the week it closes with last roster's shifts of that week, and leaves the week it ends in to the next period", async ({ tdb }) => {
    // A period Sunday 20 .. Saturday 26 January after a Monday..Saturday roster with 32 h:
    // Monday, Tuesday, Thursday and Friday. 40 h a week at least, one shift in the period at most,
    // nothing wanted: only the minimum can put the employee on Sunday.
    const SUN = '2030-01-20';
    const s = await createScenario(tdb.db, {
      employees: 1, periodStart: SUN, days: 7,
      templates: [{ code: 'E', start: '06:00', end: '14:00' }],
      demand: () => 0,
      // 3 days in a row at most: the runs alone would read 4 days back (to Wednesday), not to Monday.
      contract: { maxConsecutive: 3, minRest: 660, maxMinutes: 480, maxWeekends: 2 },
      timeOffShare: 0, availabilityShare: 0, requestsPerEmployee: 0,
    });
    await tdb.db.query('UPDATE contracts SET min_minutes_per_week = 40 * 60 WHERE id = (SELECT contract_id FROM employees WHERE id = $1)', [s.employeeIds[0]]);
    const weekdays = await bookSchedule(tdb.db, s, ['2030-01-14', '2030-01-19'], 'published',
      [[0, 0, '2030-01-14'], [0, 0, '2030-01-15'], [0, 0, '2030-01-17'], [0, 0, '2030-01-18']]);
    const runId = await insertRun(tdb.db, s);
    const { loaded, write } = await solveRun(tdb.db, runId);
    expect(loaded.contextWindow).toBeGreaterThanOrEqual(6);
    expect(loaded.instance.employees[0]!.fixed?.map((f) => f.day)).toEqual([-6, -5, -3, -2]);
    const out = await write();
    if (out.kind !== 'written') throw new Error('not written');
    expect(out.result.hardViolations).toBe(0);
    // 32 h booked + Sunday's 8 h = 40 h; the week from Monday 21 ends after the period: not judged.
    expect((await workedDates(tdb.db, s, out.result.scheduleId))[0]).toEqual([SUN]);
    expect((await checkStoredRoster(tdb.db, runId, out.result.scheduleId)).violations).toEqual([]);
    // Thursday's shift cancelled in the weekday roster afterwards: the stored roster's week falls short.
    await tdb.db.query(`UPDATE shifts SET status = 'cancelled' WHERE schedule_id = $1 AND date = '2030-01-17'`, [weekdays]);
    expect((await checkStoredRoster(tdb.db, runId, out.result.scheduleId)).violations).toMatchObject([
      { rule: 'min-week-minutes', day: -6, message: '1920 minutes in the week from day -6, at least 2400' },
    ]);
  });

  test('rest is real time in the department zone: 11 wall-clock hours across the spring-forward night are 10', async ({ tdb }) => {
    // 2030-03-31 is the last Sunday of March: Berlin's clocks jump from 02:00 to 03:00.
    const worked = async (timezone: string): Promise<string[]> => {
      const s = await createScenario(tdb.db, {
        employees: 1, periodStart: '2030-03-25', days: 7, timezone,
        templates: [{ code: 'L', start: '14:00', end: '22:00' }, { code: 'M', start: '09:00', end: '17:00' }],
        // A late on Saturday, a mid shift on Sunday: 22:00 → 09:00.
        demand: (t, d) => ((t === 0 && d === 5) || (t === 1 && d === 6) ? 1 : 0),
        contract: { minRest: 660 }, timeOffShare: 0, availabilityShare: 0, requestsPerEmployee: 0,
      });
      const out = await (await solveRun(tdb.db, await insertRun(tdb.db, s))).write();
      if (out.kind !== 'written') throw new Error('not written');
      expect(out.result.hardViolations).toBe(0);
      return (await workedDates(tdb.db, s, out.result.scheduleId))[0]!;
    };
    expect(await worked('UTC')).toEqual(['2030-03-30', '2030-03-31']);
    expect(await worked('Europe/Berlin')).toHaveLength(1);
  });
});
