/**
 * Curtois & Qu benchmark instances in and out of Postgres.
 *
 * importCurtois loads one instance into a NEW department so that the normal pipeline (API → job →
 * worker → loadInstance → solver → writeResult) solves exactly the benchmark's problem:
 * - one employee per staff ID (last name = staff ID, hourly rate 0), a contract for the department
 *   plus per-employee rules carrying the instance's limits, min_rest_minutes = 0 (the instance's
 *   CannotFollow rules are its only succession limits) and per-type caps (0 = never that type);
 * - one template per shift type, CannotFollow as template_successions;
 * - days off as approved time off, on/off requests as shift requests, the cover as demand rows for
 *   every day and type (absent cover = 0 required, weights 0), over a period starting on a Monday.
 *
 * evaluateCurtois reads the stored shifts of a schedule back and computes the benchmark's official
 * objective with @rota/solver's curtoisObjective on the instance parsed from the file (not the one
 * loadInstance built), and checks the roster with the independent hard-rule checker.
 */
import { checkAssignment, curtoisObjective, parseCurtois, type Assignment, type HardViolation } from '@rota/solver';
import type { Db, Queryable } from '@rota/db';
import { addDays, dayNumber, isoWeekday } from './time.ts';

export type ImportOptions = {
  departmentName: string;
  /** First day of the period; must be a Monday (day 0 of every instance is one). */
  periodStart: string;
  parentId?: string | null;
  timezone?: string;
};

export type ImportResult = { departmentId: string; periodStart: string; periodEnd: string; employees: number; templates: number; demandRows: number };

// Start times are cosmetic for the benchmark (min rest is 0); the usual ones make the roster read well.
const START_TIMES: Record<string, string> = { E: '06:00', D: '08:00', L: '14:00', N: '22:00' };

function hhmm(minutes: number): string {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

export async function importCurtois(db: Db, text: string, o: ImportOptions): Promise<ImportResult> {
  if (isoWeekday(o.periodStart) !== 1) throw new Error(`period start ${o.periodStart} is not a Monday`);
  const inst = parseCurtois(text);
  const periodEnd = addDays(o.periodStart, inst.days - 1);
  return db.tx(async (q) => {
    const dept = await q.query<{ id: string }>('INSERT INTO departments (name, parent_id, timezone) VALUES ($1, $2, $3) RETURNING id',
      [o.departmentName, o.parentId ?? null, o.timezone ?? 'UTC']);
    const departmentId = dept.rows[0]!.id;
    const contract = await q.query<{ id: string }>(
      `INSERT INTO contracts (name, min_rest_minutes, max_minutes_per_period, max_consecutive_days, max_weekends_per_period)
       VALUES ($1, 0, 100000, 366, 366) RETURNING id`, [`Curtois department ${departmentId}`]);
    const contractId = contract.rows[0]!.id;

    const templateIds: string[] = [];
    for (const s of inst.shiftTypes) {
      const start = START_TIMES[s.id] ?? '08:00';
      const startMin = Number(start.slice(0, 2)) * 60 + Number(start.slice(3));
      const r = await q.query<{ id: string }>(
        `INSERT INTO shift_templates (department_id, code, name, start_time, end_time) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [departmentId, s.id, `Shift ${s.id}`, start, hhmm(startMin + s.durationMinutes)]);
      templateIds.push(r.rows[0]!.id);
    }
    for (const [a, s] of inst.shiftTypes.entries()) {
      for (const b of s.cannotFollow) {
        await q.query('INSERT INTO template_successions (department_id, from_template_id, to_template_id) VALUES ($1, $2, $3)',
          [departmentId, templateIds[a], templateIds[b]]);
      }
    }

    const employeeIds: string[] = [];
    for (const e of inst.employees) {
      const slug = e.id.toLowerCase().replace(/[^a-z0-9]/g, '_');
      const r = await q.query<{ id: string }>(
        `INSERT INTO employees (email, first_name, last_name, role, department_id, contract_id, hourly_rate)
         VALUES ($1, 'Staff', $2, 'employee', $3, $4, 0) RETURNING id`,
        [`curtois.${departmentId}.${slug}@rota.invalid`, e.id, departmentId, contractId]);
      const id = r.rows[0]!.id;
      employeeIds.push(id);
      await q.query(
        `INSERT INTO employee_rules (employee_id, max_minutes_per_period, min_minutes_per_period, max_consecutive_days, min_consecutive_days,
                                     min_consecutive_days_off, max_weekends_per_period, min_rest_minutes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`,
        [id, e.maxTotalMinutes, e.minTotalMinutes, Math.max(1, e.maxConsecutiveWorkDays), Math.max(1, e.minConsecutiveWorkDays),
          Math.max(1, e.minConsecutiveDaysOff), e.maxWeekends]);
      for (const [t, cap] of e.maxShiftsPerType.entries()) {
        if (cap < inst.days) await q.query('INSERT INTO employee_shift_limits (employee_id, template_id, max_shifts) VALUES ($1, $2, $3)', [id, templateIds[t], cap]);
      }
      // Days off (a whole day not allowed) → approved time off, one row per run of days.
      const worksAtAll = e.maxShiftsPerType.some((c) => c > 0);
      const dayOff = (d: number): boolean => worksAtAll && (e.allowed[d] ?? []).every((x) => !x);
      let d = 0;
      while (d < inst.days) {
        if (!dayOff(d)) { d++; continue; }
        let end = d;
        while (end + 1 < inst.days && dayOff(end + 1)) end++;
        await q.query(`INSERT INTO time_off (employee_id, start_date, end_date, status, reason, decided_at) VALUES ($1, $2, $3, 'approved', 'Curtois day off', now())`,
          [id, addDays(o.periodStart, d), addDays(o.periodStart, end)]);
        d = end + 1;
      }
    }
    for (const r of inst.requests) {
      if (r.weight < 1) continue;
      await q.query('INSERT INTO shift_requests (employee_id, date, kind, template_id, weight) VALUES ($1, $2, $3, $4, $5)',
        [employeeIds[r.employee], addDays(o.periodStart, r.day), r.on ? 'on' : 'off', r.type === null ? null : templateIds[r.type], r.weight]);
    }
    const dates: string[] = [];
    const tids: string[] = [];
    const req: number[] = [];
    const wu: number[] = [];
    const wo: number[] = [];
    inst.cover.forEach((row, d) => row.forEach((c, t) => {
      dates.push(addDays(o.periodStart, d));
      tids.push(templateIds[t]!);
      req.push(c.requirement);
      wu.push(c.weightUnder);
      wo.push(c.weightOver);
    }));
    await q.query(
      `INSERT INTO demand (department_id, template_id, date, required, weight_under, weight_over)
       SELECT $1, t, d, r, u, o FROM unnest($2::bigint[], $3::date[], $4::int[], $5::int[], $6::int[]) AS x(t, d, r, u, o)`,
      [departmentId, tids, dates, req, wu, wo]);
    return { departmentId, periodStart: o.periodStart, periodEnd, employees: employeeIds.length, templates: templateIds.length, demandRows: dates.length };
  });
}

export type CurtoisEvaluation = {
  objective: number;
  violations: HardViolation[];
  /** Rows that could not be placed in the assignment (second shift on a day, unknown employee/template, day outside the horizon). */
  strayShifts: number;
  assignedShifts: number;
  openShifts: number;
};

/**
 * The official objective and a hard-rule check of the roster stored for `scheduleId`, against the
 * instance parsed from `text` (the file the department was imported from).
 */
export async function evaluateCurtois(q: Queryable, text: string, scheduleId: string): Promise<CurtoisEvaluation> {
  const inst = parseCurtois(text);
  const sched = await q.query<{ period_start: string }>(`SELECT to_char(period_start, 'YYYY-MM-DD') AS period_start FROM schedules WHERE id = $1`, [scheduleId]);
  const s0 = sched.rows[0];
  if (!s0) throw new Error(`schedule ${scheduleId} does not exist`);
  const shifts = await q.query<{ staff: string | null; code: string; date: string }>(
    `SELECT e.last_name AS staff, t.code, to_char(s.date, 'YYYY-MM-DD') AS date
       FROM shifts s JOIN shift_templates t ON t.id = s.template_id LEFT JOIN employees e ON e.id = s.employee_id
      WHERE s.schedule_id = $1 AND s.status <> 'cancelled'`, [scheduleId]);
  const eIndex = new Map(inst.employees.map((e, i) => [e.id, i]));
  const tIndex = new Map(inst.shiftTypes.map((t, i) => [t.id, i]));
  const assignment: Assignment = inst.employees.map(() => new Array<number | null>(inst.days).fill(null));
  let stray = 0;
  let assigned = 0;
  let open = 0;
  const base = dayNumber(s0.period_start);
  for (const r of shifts.rows) {
    if (r.staff === null) { open++; continue; }
    const e = eIndex.get(r.staff);
    const t = tIndex.get(r.code);
    const d = dayNumber(r.date) - base;
    const row = e === undefined ? undefined : assignment[e];
    if (!row || t === undefined || d < 0 || d >= inst.days || row[d] !== null) { stray++; continue; }
    row[d] = t;
    assigned++;
  }
  return { objective: curtoisObjective(inst, assignment), violations: checkAssignment(inst, assignment), strayShifts: stray, assignedShifts: assigned, openShifts: open };
}
