import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test as base } from 'vitest';
import { checkAssignment, curtoisObjective, parseCurtois, solve, type Assignment } from '@rota/solver';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import type { Db } from '@rota/db';
import {
  GenerationConflictError, InvalidGenerationInputError, checkScheduleRules, checkStoredRoster, createScenario, evaluateCurtois, importCurtois, insertRun, loadInstance,
  readRun, writeResult, type LoadedInstance,
} from './index.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });
const CURTOIS = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/curtois');

async function solveRun(db: Db, runId: string, opts: { seed?: number; maxIterations?: number } = {}) {
  const run = (await readRun(db, runId))!;
  const loaded = await loadInstance(db, run);
  const r = solve(loaded.instance, { seed: opts.seed ?? 1, maxIterations: opts.maxIterations ?? 3000, timeLimitMs: 5000 });
  return { loaded, r };
}

/** The roster as stored in Postgres, rebuilt into the loaded instance's indices. */
async function storedAssignment(db: Db, loaded: LoadedInstance, scheduleId: string): Promise<{ assignment: Assignment; duplicates: number; open: number }> {
  const rows = await db.query<{ employee_id: string | null; template_id: string; day: number }>(
    `SELECT employee_id, template_id, (date - $2::date) AS day FROM shifts WHERE schedule_id = $1`, [scheduleId, loaded.periodStart]);
  const e = new Map(loaded.employeeIds.map((id, i) => [id, i]));
  const t = new Map(loaded.templates.map((x, i) => [x.id, i]));
  const assignment: Assignment = loaded.employeeIds.map(() => new Array<number | null>(loaded.instance.days).fill(null));
  let duplicates = 0;
  let open = 0;
  for (const r of rows.rows) {
    if (r.employee_id === null) { open++; continue; }
    const row = assignment[e.get(r.employee_id)!]!;
    if (row[r.day] !== null) duplicates++;
    row[r.day] = t.get(r.template_id)!;
  }
  return { assignment, duplicates, open };
}

describe('loadInstance + writeResult', () => {
  test('writes the roster in one transaction; a re-run with the same seed converges to the same rows', { timeout: 90_000 }, async ({ tdb }) => {
    const s = await createScenario(tdb.db, { employees: 12, periodStart: '2030-01-07', days: 14, successions: [['N', 'E'], ['L', 'E']], skills: ['icu'],
      templates: [{ code: 'E', start: '06:00', end: '14:00' }, { code: 'L', start: '14:00', end: '22:00', skills: ['icu'] }, { code: 'N', start: '22:00', end: '06:00' }] });
    const runId = await insertRun(tdb.db, s);
    await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [runId]);
    const { loaded, r } = await solveRun(tdb.db, runId);
    expect(loaded.employeeIds).toHaveLength(12);
    expect(loaded.instance.shiftTypes.map((x) => x.id)).toEqual(['E', 'L', 'N']);
    // Employees without the skill may not work L.
    const skilled = await tdb.db.query<{ id: string }>(`SELECT id FROM employees WHERE department_id = $1 AND 'icu' = ANY(skills)`, [s.departmentId]);
    loaded.employeeIds.forEach((id, i) => {
      const canL = loaded.instance.employees[i]!.allowed.some((row) => row[1]);
      expect(canL).toBe(skilled.rows.some((x) => x.id === id));
    });
    const out = await writeResult(tdb.db, loaded, r.assignment, { elapsedMs: r.elapsedMs, iterations: r.iterations, stoppedBy: r.stoppedBy, score: r.score });
    expect(out.kind).toBe('written');
    if (out.kind !== 'written') return;
    expect(out.result.hardViolations).toBe(0);
    expect(out.result.shifts.inserted).toBe(out.result.shifts.total);
    const stored = await storedAssignment(tdb.db, loaded, out.result.scheduleId);
    expect(stored.duplicates).toBe(0);
    expect(stored.assignment).toEqual(r.assignment);
    expect(stored.open).toBe(out.result.openShifts);
    expect(checkAssignment(loaded.instance, stored.assignment)).toEqual([]);
    const run = await tdb.db.query<{ status: string; schedule_id: string }>('SELECT status, schedule_id FROM generation_runs WHERE id = $1', [runId]);
    expect(run.rows[0]).toEqual({ status: 'succeeded', schedule_id: out.result.scheduleId });
    const stats = await tdb.db.query<{ n: string; covered: string; demand: string }>(
      'SELECT count(*) AS n, sum(covered_slots) AS covered, sum(demand_slots) AS demand FROM department_daily_stats WHERE department_id = $1', [s.departmentId]);
    expect(Number(stats.rows[0]!.n)).toBe(14);
    expect(Number(stats.rows[0]!.covered)).toBe(out.result.coveredSlots);
    expect(Number(stats.rows[0]!.demand)).toBe(out.result.demandSlots);
    const events = await tdb.db.query<{ type: string; envelope: { scopes: { scheduleIds: string[] } } }>('SELECT type, envelope FROM outbox');
    expect(events.rows.map((e) => e.type)).toEqual(['schedule.generated']);
    expect(events.rows[0]!.envelope.scopes.scheduleIds).toEqual([out.result.scheduleId]);

    // Re-run: a new run with the same seed and budget gives the same roster → nothing changes.
    const run2 = await insertRun(tdb.db, s);
    await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [run2]);
    const second = await solveRun(tdb.db, run2);
    expect(second.r.assignment).toEqual(r.assignment);
    const out2 = await writeResult(tdb.db, second.loaded, second.r.assignment, { elapsedMs: 1, iterations: 1, stoppedBy: 'iterations', score: second.r.score });
    if (out2.kind !== 'written') throw new Error('not written');
    expect(out2.result.scheduleId).toBe(out.result.scheduleId);
    expect(out2.result.scheduleVersion).toBe(2);
    expect(out2.result.shifts).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });

    // A different roster: rows no longer in the solution are deleted, manual shifts stay, and a
    // shift the employee has elsewhere (here: a manual one in another schedule) keeps that day free.
    const otherSchedule = await tdb.db.query<{ id: string }>(
      `INSERT INTO schedules (department_id, period_start, period_end) VALUES ($1, '2030-01-07', '2030-01-07') RETURNING id`, [s.departmentId]);
    await tdb.db.query(
      `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, starts_at, ends_at, source)
       VALUES ($1, $2, $3, $4, '2030-01-07', '2030-01-07T06:00Z', '2030-01-07T14:00Z', 'manual')`,
      [otherSchedule.rows[0]!.id, s.departmentId, loaded.employeeIds[0], loaded.templates[0]!.id]);
    await tdb.db.query(
      `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, starts_at, ends_at, source)
       VALUES ($1, $2, $3, $4, '2030-01-08', '2030-01-08T06:00Z', '2030-01-08T14:00Z', 'manual') ON CONFLICT DO NOTHING`,
      [out.result.scheduleId, s.departmentId, loaded.employeeIds[1], loaded.templates[0]!.id]);
    const manualBefore = await tdb.db.query(`SELECT count(*)::int AS n FROM shifts WHERE schedule_id = $1 AND source = 'manual'`, [out.result.scheduleId]);
    const run3 = await insertRun(tdb.db, s);
    await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [run3]);
    const third = await solveRun(tdb.db, run3, { seed: 7 });
    expect(third.loaded.instance.employees[0]!.allowed[0]!.every((x) => !x)).toBe(true);
    const out3 = await writeResult(tdb.db, third.loaded, third.r.assignment, { elapsedMs: 1, iterations: 1, stoppedBy: 'iterations', score: third.r.score });
    if (out3.kind !== 'written') throw new Error('not written');
    expect(out3.result.shifts.deleted + out3.result.shifts.inserted).toBeGreaterThan(0);
    const manualAfter = await tdb.db.query(`SELECT count(*)::int AS n FROM shifts WHERE schedule_id = $1 AND source = 'manual'`, [out.result.scheduleId]);
    expect(manualAfter.rows[0]).toEqual(manualBefore.rows[0]);
    const generated = await tdb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shifts WHERE schedule_id = $1 AND source = 'generated'`, [out.result.scheduleId]);
    expect(generated.rows[0]!.n).toBe(out3.result.shifts.total);
    const check = await checkStoredRoster(tdb.db, run3, out3.result.scheduleId);
    expect(check).toMatchObject({ doubleBooked: 0, duplicateKeys: 0, violations: [] });
    expect(check.assignment[0]![0]).toBeNull();
    // What publishing checks (the manual shifts as bookings): clean as written…
    const sched = { id: out3.result.scheduleId, department_id: s.departmentId, period_start: loaded.periodStart, period_end: loaded.periodEnd };
    expect(await checkScheduleRules(tdb.db, sched)).toEqual({ violations: [], unchecked: 0 });
    // …until a rule is tightened after generation: the stored roster breaks it, reported in the API's terms.
    const busy = await tdb.db.query<{ employee_id: string; n: number }>(
      `SELECT employee_id, count(*)::int AS n FROM shifts WHERE schedule_id = $1 AND source = 'generated' AND employee_id IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT 1`, [sched.id]);
    const who = busy.rows[0]!.employee_id;
    await tdb.db.query(
      `INSERT INTO employee_rules (employee_id, max_minutes_per_period) VALUES ($1, 0) ON CONFLICT (employee_id) DO UPDATE SET max_minutes_per_period = 0, min_minutes_per_period = NULL`, [who]);
    const tightened = await checkScheduleRules(tdb.db, sched);
    expect(tightened.violations).toEqual([{ rule: 'max-minutes-per-period', employeeId: who, message: expect.stringMatching(/^\d+ minutes, at most 0$/) }]);
    // Nobody works twice on a day across all live schedules.
    const twice = await tdb.db.query(`SELECT employee_id, date FROM shifts WHERE employee_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1`);
    expect(twice.rowCount).toBe(0);
  });

  test('a failure inside the write transaction leaves nothing written; the retry then writes everything', async ({ tdb }) => {
    const s = await createScenario(tdb.db, { employees: 6, periodStart: '2030-03-04', days: 7 });
    const runId = await insertRun(tdb.db, s);
    await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [runId]);
    const { loaded, r } = await solveRun(tdb.db, runId);
    const summary = { elapsedMs: 1, iterations: 1, stoppedBy: 'iterations', score: r.score };
    await expect(writeResult(tdb.db, loaded, r.assignment, summary, { failAfterShiftsWritten: true })).rejects.toThrow(/injected failure/);
    const counts = await tdb.db.query<{ shifts: number; schedules: number; outbox: number; stats: number }>(
      `SELECT (SELECT count(*)::int FROM shifts) AS shifts, (SELECT count(*)::int FROM schedules) AS schedules,
              (SELECT count(*)::int FROM outbox) AS outbox, (SELECT count(*)::int FROM department_daily_stats) AS stats`);
    expect(counts.rows[0]).toEqual({ shifts: 0, schedules: 0, outbox: 0, stats: 0 });
    expect((await readRun(tdb.db, runId))!.status).toBe('running');
    const ok = await writeResult(tdb.db, loaded, r.assignment, summary);
    expect(ok.kind).toBe('written');
    if (ok.kind === 'written') expect(ok.result.shifts.inserted).toBe(ok.result.shifts.total);
  });

  test("two generations of one department for overlapping periods are alternatives: neither blocks the other's days, both are written", async ({ tdb }) => {
    const s = await createScenario(tdb.db, { employees: 6, periodStart: '2030-03-04', days: 14 });
    const a = await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: '2030-03-04', periodEnd: '2030-03-13' });
    const b = await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: '2030-03-08', periodEnd: '2030-03-17' });
    await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = ANY($1::bigint[])`, [[a, b]]);
    const first = await solveRun(tdb.db, a);
    const second = await solveRun(tdb.db, b);
    const summary = (r: typeof first.r) => ({ elapsedMs: 1, iterations: 1, stoppedBy: 'iterations', score: r.score });
    expect((await writeResult(tdb.db, first.loaded, first.r.assignment, summary(first.r))).kind).toBe('written');
    // The first roster's 4–7 March are bookings next to the second's period (rest, runs): the
    // second, computed before they existed, is refused (retryable) if it breaks a rule against them.
    const written = await writeResult(tdb.db, second.loaded, second.r.assignment, summary(second.r))
      .catch((e: unknown) => { if (e instanceof GenerationConflictError) return undefined; throw e; });
    // Its retry loads them — but not the first roster's 8–13 March: another plan for those days.
    const retry = await solveRun(tdb.db, b);
    const fixed = retry.loaded.instance.employees.flatMap((e) => e.fixed ?? []);
    expect(fixed.length).toBeGreaterThan(0);
    expect(fixed.filter((f) => f.day >= 0)).toEqual([]);
    if (written === undefined) expect((await writeResult(tdb.db, retry.loaded, retry.r.assignment, summary(retry.r))).kind).toBe('written');
    // Both plans cover the shared days (published, one of them archives the other: libs SPEC §5).
    const perSchedule = await tdb.db.query<{ period_start: string; n: number }>(
      `SELECT to_char(sc.period_start, 'YYYY-MM-DD') AS period_start, count(*)::int AS n FROM shifts x JOIN schedules sc ON sc.id = x.schedule_id
        WHERE x.employee_id IS NOT NULL AND x.date BETWEEN '2030-03-08' AND '2030-03-13' GROUP BY 1 ORDER BY 1`);
    expect(perSchedule.rows.map((r) => r.period_start)).toEqual(['2030-03-04', '2030-03-08']);
    expect(perSchedule.rows.every((r) => r.n > 0)).toBe(true);
  });

  test('a cancel requested before the write wins: nothing is written', async ({ tdb }) => {
    const s = await createScenario(tdb.db, { employees: 4, periodStart: '2030-03-04', days: 7 });
    const runId = await insertRun(tdb.db, s);
    await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [runId]);
    const { loaded, r } = await solveRun(tdb.db, runId);
    await tdb.db.query('UPDATE generation_runs SET cancel_requested_at = now() WHERE id = $1', [runId]);
    const out = await writeResult(tdb.db, loaded, r.assignment, { elapsedMs: 1, iterations: 1, stoppedBy: 'time', score: r.score });
    expect(out).toEqual({ kind: 'skipped', status: 'cancelled' });
    expect((await tdb.db.query('SELECT 1 FROM shifts')).rowCount).toBe(0);
    expect((await readRun(tdb.db, runId))!.status).toBe('cancelled');
  });

  test('invalid input is reported with a clear reason', async ({ tdb }) => {
    const dept = await tdb.db.query<{ id: string }>(`INSERT INTO departments (name) VALUES ('Empty') RETURNING id`);
    const base = { id: '1', department_id: dept.rows[0]!.id, period_start: '2030-01-07', period_end: '2030-01-13', options: {} };
    await expect(loadInstance(tdb.db, base)).rejects.toThrow(InvalidGenerationInputError);
    await expect(loadInstance(tdb.db, base)).rejects.toThrow(/no active shift templates/);
    await expect(loadInstance(tdb.db, { ...base, department_id: '999999' })).rejects.toThrow(/does not exist/);
    const s = await createScenario(tdb.db, { employees: 0, periodStart: '2030-01-07', days: 7 });
    await expect(loadInstance(tdb.db, { ...base, department_id: s.departmentId })).rejects.toThrow(/no active employees/);
    await expect(loadInstance(tdb.db, { ...base, options: { timeLimitSeconds: -1 } })).rejects.toThrow(/invalid run options/);
  });

  test('property: random small departments → the stored roster breaks no hard rule', { timeout: 180_000 }, async ({ tdb }) => {
    await fc.assert(fc.asyncProperty(
      fc.record({
        employees: fc.integer({ min: 1, max: 8 }),
        days: fc.integer({ min: 3, max: 21 }),
        startOffset: fc.integer({ min: 0, max: 6 }),
        seed: fc.integer({ min: 1, max: 1_000_000 }),
        demand: fc.integer({ min: 0, max: 3 }),
        minRest: fc.constantFrom(0, 480, 660, 720),
        maxConsecutive: fc.integer({ min: 1, max: 7 }),
        succession: fc.boolean(),
        timeOffShare: fc.double({ min: 0, max: 0.8, noNaN: true }),
        availabilityShare: fc.double({ min: 0, max: 0.8, noNaN: true }),
        timezone: fc.constantFrom('UTC', 'Europe/London', 'America/New_York'),
      }),
      async (p) => {
        const s = await createScenario(tdb.db, {
          employees: p.employees, days: p.days, periodStart: `2030-03-${String(25 + p.startOffset).padStart(2, '0')}`, seed: p.seed,
          demand: (t, d) => (t + d + p.seed) % (p.demand + 1), successions: p.succession ? [['N', 'E'], ['L', 'E']] : [],
          timeOffShare: p.timeOffShare, availabilityShare: p.availabilityShare, timezone: p.timezone,
          contract: { minRest: p.minRest, maxConsecutive: p.maxConsecutive },
        });
        const runId = await insertRun(tdb.db, s);
        await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [runId]);
        const { loaded, r } = await solveRun(tdb.db, runId, { seed: p.seed, maxIterations: 300 });
        const out = await writeResult(tdb.db, loaded, r.assignment, { elapsedMs: 1, iterations: r.iterations, stoppedBy: r.stoppedBy, score: r.score });
        if (out.kind !== 'written') throw new Error('not written');
        const stored = await storedAssignment(tdb.db, loaded, out.result.scheduleId);
        expect(stored.duplicates).toBe(0);
        expect(checkAssignment(loaded.instance, stored.assignment)).toEqual([]);
        // Stored times match the templates in the department's zone.
        const bad = await tdb.db.query(
          `SELECT 1 FROM shifts s JOIN shift_templates t ON t.id = s.template_id
            WHERE s.schedule_id = $1 AND s.starts_at <> (s.date + t.start_time) AT TIME ZONE $2`, [out.result.scheduleId, p.timezone]);
        expect(bad.rowCount).toBe(0);
      }), { numRuns: 12 });
  });
});

describe('Curtois import and evaluation', () => {
  test('Instance 1 through Postgres: the evaluator reproduces the objective of the solver roster; no hard violations', { timeout: 90_000 }, async ({ tdb }) => {
    const text = readFileSync(join(CURTOIS, 'Instance1.txt'), 'utf8');
    const imp = await importCurtois(tdb.db, text, { departmentName: 'Curtois 1', periodStart: '2030-01-07' });
    expect(imp).toMatchObject({ employees: 8, templates: 1, periodEnd: '2030-01-20' });
    const runId = await insertRun(tdb.db, { departmentId: imp.departmentId, periodStart: imp.periodStart, periodEnd: imp.periodEnd },
      { weights: { fairnessHours: 0, fairnessWeekends: 0, cost: 0 } });
    await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [runId]);
    const { loaded, r } = await solveRun(tdb.db, runId, { maxIterations: 20_000 });
    // The DB-loaded instance is the benchmark's problem: same objective on both.
    const parsed = parseCurtois(text);
    expect(curtoisObjective(parsed, r.assignment)).toBe(r.score.total);
    expect(checkAssignment(parsed, r.assignment)).toEqual([]);
    const out = await writeResult(tdb.db, loaded, r.assignment, { elapsedMs: 1, iterations: r.iterations, stoppedBy: r.stoppedBy, score: r.score });
    if (out.kind !== 'written') throw new Error('not written');
    const ev = await evaluateCurtois(tdb.db, text, out.result.scheduleId);
    expect(ev.objective).toBe(curtoisObjective(parsed, r.assignment));
    expect(ev.violations).toEqual([]);
    expect(ev.strayShifts).toBe(0);
    // The evaluator reads the database, not the solver: removing a stored shift changes its answer.
    await tdb.db.query(`DELETE FROM shifts WHERE id = (SELECT id FROM shifts WHERE schedule_id = $1 AND employee_id IS NOT NULL LIMIT 1)`, [out.result.scheduleId]);
    const ev2 = await evaluateCurtois(tdb.db, text, out.result.scheduleId);
    expect(ev2.assignedShifts).toBe(ev.assignedShifts - 1);
    expect(ev2.objective !== ev.objective || ev2.violations.length > 0).toBe(true);
  });
});
