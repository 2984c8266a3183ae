/**
 * Builds the solver's Instance for one generation run from Postgres: the department's active
 * employees with their effective work rules (employee_rules over the contract over the schema
 * defaults), skills vs the templates' required skills, availability windows vs template times,
 * approved time off, per-type caps, shift requests, the active templates with their forbidden
 * successions, and demand (a missing demand row means 0 required).
 */
import { DEFAULT_SOFT_WEIGHTS, type EmployeeSpec, type FixedShift, type Instance, type ShiftRequest, type ShiftType } from '@rota/solver';
import type { Queryable } from '@rota/db';
import { runOptionsSchema, type RunOptions, type RunStatus } from './job.ts';
import { addDays, clockChanges, dayNumber, isoWeekday, minutesOfTime } from './time.ts';

/** Input that will never work (unknown department, no templates, …): fail the run, never retry. */
export class InvalidGenerationInputError extends Error {
  override readonly name = 'InvalidGenerationInputError';
}

/**
 * Shifts `s` an employee already has outside a generation's own output (department, period):
 * non-cancelled shifts of live schedules — other departments' on any day, the department's own
 * rosters on the days around the period, and manual shifts of the draft being regenerated. Not
 * the department's other live schedules on the period's own days: those are alternatives to this
 * one there (a trial draft over part of the published roster replaces it when published; the
 * daily stats count one plan per day, migration 0008), not bookings the person also works. On
 * every other day, and in other departments, the same holds between a department's overlapping
 * schedules: only its plan for the day counts (the published schedule covering it, else the newest
 * draft — PLAN_FOR_DAY), or a trial draft over the published roster would count its shifts twice
 * toward a week's minutes. The load gives them to the solver; the write checks them again
 * (write.ts), by this same rule; the API's manual shift check applies it too
 * (services/api/src/rules/load.ts).
 */
export const BOOKED_ELSEWHERE = {
  from: `shifts s JOIN schedules sc ON sc.id = s.schedule_id AND sc.status <> 'archived'`,
  where: (department: string, periodStart: string, periodEnd: string): string => {
    const ownDraftsManual = `s.source = 'manual' AND sc.department_id = ${department} AND sc.period_start = ${periodStart} AND sc.period_end = ${periodEnd}`;
    return `s.status <> 'cancelled' AND NOT (sc.department_id = ${department} AND s.date BETWEEN ${periodStart} AND ${periodEnd}
       AND NOT (${ownDraftsManual}))
       AND ((${ownDraftsManual}) OR sc.id = ${PLAN_FOR_DAY('sc.department_id', 's.date')})`;
  },
};

/**
 * The schedule that is a department's plan for a day: the published one covering it, else the
 * newest live draft (the daily stats' rule, migration 0008). A SQL expression over `department`
 * and `day`.
 */
export const PLAN_FOR_DAY = (department: string, day: string): string =>
  `(SELECT p.id FROM schedules p WHERE p.department_id = ${department} AND p.status <> 'archived'
       AND ${day} BETWEEN p.period_start AND p.period_end ORDER BY (p.status = 'published') DESC, p.id DESC LIMIT 1)`;

/** What the solver must know of an employee's bookings around a generation (see loadBookings). */
export type EmployeeContext = Required<Pick<EmployeeSpec, 'fixed' | 'knownDaysBefore' | 'knownDaysAfter'>>;

export type BookingScope = {
  departmentId: string;
  periodStart: string;
  periodEnd: string;
  employeeIds: readonly string[];
  /** instance.shiftTypes[t] is template templateIds[t]. */
  templateIds: readonly string[];
  /** Days read before and after the period (contextWindow). */
  window: number;
};

/**
 * Days of bookings every rule needs around the period: a run of working days or days off is
 * followed until it ends or reaches its limit (max(max consecutive working days, min consecutive
 * working days, min days off) + 1), rest reaches back over whole days (a shift of up to a
 * day ending the day after it starts, then the rest), a maximum per week counts the whole
 * Monday–Sunday weeks the period's first and last days lie in (up to 6 days either side), and a
 * minimum per week the days before the period of the week its first day lies in (up to 6 back:
 * the period holding a week's Sunday judges its minimum).
 */
export function contextWindow(
  employees: readonly Pick<EmployeeSpec, 'maxConsecutiveWorkDays' | 'minConsecutiveWorkDays' | 'minConsecutiveDaysOff' | 'minRestMinutes' | 'maxWeekMinutes' | 'minWeekMinutes'>[],
): number {
  let w = 2;
  for (const e of employees) {
    w = Math.max(w, Math.max(e.maxConsecutiveWorkDays, e.minConsecutiveWorkDays, e.minConsecutiveDaysOff) + 1, 2 + Math.ceil(e.minRestMinutes / 1440));
    if (e.maxWeekMinutes !== undefined || e.minWeekMinutes !== undefined) w = Math.max(w, 6);
  }
  return w;
}

/**
 * The employees' bookings (BOOKED_ELSEWHERE) from `window` days before the period to `window`
 * days after it, as the solver's fixed shifts, plus the in-period ones as rows (they cover
 * demand). A side of the window counts as known — a day there without a booking is a day off,
 * and runs continue across the period's edge into it — when it is planned: the department has a
 * live schedule overlapping it, or the employee has a booking in it. Otherwise (the first roster
 * of a department, the future not yet planned) runs touching the period's edge stay exempt from
 * the minimum-length rules, as before; bookings still count for rest and successions.
 */
export async function loadBookings(q: Queryable, b: BookingScope): Promise<{ context: EmployeeContext[]; inPeriod: { employee_id: string; template_id: string; date: string }[] }> {
  const [booked, planned] = await Promise.all([
    q.query<{ employee_id: string; template_id: string; date: string; day: number; start_time: string; duration_minutes: number }>(
      `SELECT s.employee_id, s.template_id, to_char(s.date, 'YYYY-MM-DD') AS date, (s.date - $2::date) AS day,
              t.start_time::text AS start_time, t.duration_minutes
         FROM ${BOOKED_ELSEWHERE.from} JOIN shift_templates t ON t.id = s.template_id
        WHERE s.employee_id = ANY($1::bigint[]) AND s.date BETWEEN $2::date - $5::int AND $3::date + $5::int
          AND ${BOOKED_ELSEWHERE.where('$4', '$2', '$3')}
        ORDER BY s.employee_id, s.date, s.starts_at`,
      [b.employeeIds, b.periodStart, b.periodEnd, b.departmentId, b.window]),
    q.query<{ before: boolean; after: boolean }>(
      `SELECT bool_or(period_start < $2::date AND period_end >= $2::date - $4::int) AS before,
              bool_or(period_end > $3::date AND period_start <= $3::date + $4::int) AS after
         FROM schedules WHERE department_id = $1 AND status <> 'archived'`,
      [b.departmentId, b.periodStart, b.periodEnd, b.window]),
  ]);
  const D = dayNumber(b.periodEnd) - dayNumber(b.periodStart) + 1;
  const tIndex = new Map(b.templateIds.map((id, i) => [id, i]));
  const eIndex = new Map(b.employeeIds.map((id, i) => [id, i]));
  const plannedBefore = planned.rows[0]?.before === true;
  const plannedAfter = planned.rows[0]?.after === true;
  const fixed: FixedShift[][] = b.employeeIds.map(() => []);
  for (const r of booked.rows) {
    fixed[eIndex.get(r.employee_id)!]!.push({
      day: r.day, startMinute: minutesOfTime(r.start_time), durationMinutes: r.duration_minutes, type: tIndex.get(r.template_id) ?? null,
    });
  }
  const context = fixed.map((f): EmployeeContext => ({
    fixed: f,
    knownDaysBefore: plannedBefore || f.some((x) => x.day < 0) ? b.window : 0,
    knownDaysAfter: plannedAfter || f.some((x) => x.day >= D) ? b.window : 0,
  }));
  const inPeriod = booked.rows.filter((r) => r.day >= 0 && r.day < D).map(({ employee_id, template_id, date }) => ({ employee_id, template_id, date }));
  return { context, inPeriod };
}

export type RunRow = {
  id: string;
  department_id: string;
  period_start: string;
  period_end: string;
  options: unknown;
  status: RunStatus;
  cancel_requested_at: Date | null;
  attempts: number;
};

export type LoadedTemplate = { id: string; code: string; startMinute: number; durationMinutes: number };

export type LoadedInstance = {
  runId: string;
  departmentId: string;
  timezone: string;
  periodStart: string;
  periodEnd: string;
  options: RunOptions;
  instance: Instance;
  /** instance.employees[i] is employee employeeIds[i]. */
  employeeIds: string[];
  /** instance.shiftTypes[t] is template templates[t]. */
  templates: LoadedTemplate[];
  /** Days of bookings read around the period (contextWindow); the write reads them again. */
  contextWindow: number;
};

// Schema defaults of contracts (0001_core.sql), for employees without a contract.
const DEFAULT_RULES = {
  max_minutes_per_period: 10560,
  min_minutes_per_period: 0,
  max_consecutive_days: 6,
  min_consecutive_days: 1,
  min_consecutive_days_off: 1,
  max_weekends_per_period: 4,
  min_rest_minutes: 660,
};

type EmployeeRow = {
  id: string;
  skills: string[];
  hourly_rate: string;
  max_minutes_per_period: number;
  min_minutes_per_period: number;
  max_minutes_per_week: number | null;
  min_minutes_per_week: number | null;
  max_consecutive_days: number;
  min_consecutive_days: number;
  min_consecutive_days_off: number;
  max_weekends_per_period: number;
  min_rest_minutes: number;
};

/** Reads the run row (null when it does not exist). */
export async function readRun(q: Queryable, runId: string): Promise<RunRow | null> {
  const r = await q.query<RunRow>(
    `SELECT id, department_id, to_char(period_start, 'YYYY-MM-DD') AS period_start, to_char(period_end, 'YYYY-MM-DD') AS period_end,
            options, status, cancel_requested_at, attempts
       FROM generation_runs WHERE id = $1`, [runId]);
  return r.rows[0] ?? null;
}

function windowFits(winStart: number, winEnd: number, shiftStart: number, shiftEnd: number): boolean {
  // A window whose end is not after its start runs past midnight.
  const end = winEnd <= winStart ? winEnd + 1440 : winEnd;
  return shiftStart >= winStart && shiftEnd <= end;
}

export type LoadInstanceOptions = {
  /**
   * Load to check a stored roster, not to generate one (checkScheduleRules): the refusals that only
   * matter to a generation — inactive department, a published schedule of the period, no active
   * templates or employees — do not apply; the instance then simply has nothing to place.
   */
  forCheck?: boolean;
};

export async function loadInstance(
  q: Queryable, run: Pick<RunRow, 'id' | 'department_id' | 'period_start' | 'period_end' | 'options'>, lo: LoadInstanceOptions = {},
): Promise<LoadedInstance> {
  const forCheck = lo.forCheck === true;
  const opts = runOptionsSchema.safeParse(run.options ?? {});
  if (!opts.success) throw new InvalidGenerationInputError(`invalid run options: ${opts.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const dept = await q.query<{ timezone: string; active: boolean }>('SELECT timezone, active FROM departments WHERE id = $1', [run.department_id]);
  const d0 = dept.rows[0];
  if (!d0) throw new InvalidGenerationInputError(`department ${run.department_id} does not exist`);
  if (!d0.active && !forCheck) throw new InvalidGenerationInputError(`department ${run.department_id} is inactive`);
  if (!forCheck) {
    const published = await q.query(
      `SELECT id FROM schedules WHERE department_id = $1 AND period_start = $2 AND period_end = $3 AND status = 'published'`,
      [run.department_id, run.period_start, run.period_end]);
    if (published.rows.length > 0) {
      throw new InvalidGenerationInputError(
        `a published schedule already covers ${run.period_start}..${run.period_end}; archive it before generating a new draft`);
    }
  }
  const start = run.period_start;
  const end = run.period_end;
  const D = dayNumber(end) - dayNumber(start) + 1;
  if (D < 1) throw new InvalidGenerationInputError('period end is before period start');
  const dates = Array.from({ length: D }, (_, d) => addDays(start, d));
  const dayOf = (iso: string): number => dayNumber(iso) - dayNumber(start);

  const tpl = await q.query<{ id: string; code: string; start_time: string; duration_minutes: number; required_skills: string[]; pay_multiplier: string }>(
    `SELECT id, code, start_time::text, duration_minutes, required_skills, pay_multiplier::text
       FROM shift_templates WHERE department_id = $1 AND active ORDER BY id`, [run.department_id]);
  if (tpl.rows.length === 0 && !forCheck) throw new InvalidGenerationInputError(`department ${run.department_id} has no active shift templates`);
  const tIndex = new Map(tpl.rows.map((t, i) => [t.id, i]));
  const succ = await q.query<{ from_template_id: string; to_template_id: string }>(
    'SELECT from_template_id, to_template_id FROM template_successions WHERE department_id = $1', [run.department_id]);
  const shiftTypes: ShiftType[] = tpl.rows.map((t) => ({
    id: t.code,
    startMinute: minutesOfTime(t.start_time),
    durationMinutes: t.duration_minutes,
    cannotFollow: [],
    payMultiplier: Number(t.pay_multiplier),
  }));
  for (const s of succ.rows) {
    const a = tIndex.get(s.from_template_id);
    const b = tIndex.get(s.to_template_id);
    if (a !== undefined && b !== undefined) shiftTypes[a]!.cannotFollow.push(b);
  }

  const emps = await q.query<EmployeeRow>(
    `SELECT e.id, e.skills, e.hourly_rate::text,
            coalesce(r.max_minutes_per_period, c.max_minutes_per_period, $2) AS max_minutes_per_period,
            coalesce(r.min_minutes_per_period, c.min_minutes_per_period, $3) AS min_minutes_per_period,
            coalesce(r.max_minutes_per_week, c.max_minutes_per_week) AS max_minutes_per_week,
            coalesce(r.min_minutes_per_week, c.min_minutes_per_week) AS min_minutes_per_week,
            coalesce(r.max_consecutive_days, c.max_consecutive_days, $4) AS max_consecutive_days,
            coalesce(r.min_consecutive_days, c.min_consecutive_days, $5) AS min_consecutive_days,
            coalesce(r.min_consecutive_days_off, c.min_consecutive_days_off, $6) AS min_consecutive_days_off,
            coalesce(r.max_weekends_per_period, c.max_weekends_per_period, $7) AS max_weekends_per_period,
            coalesce(r.min_rest_minutes, c.min_rest_minutes, $8) AS min_rest_minutes
       FROM employees e
       LEFT JOIN contracts c ON c.id = e.contract_id
       LEFT JOIN employee_rules r ON r.employee_id = e.id
      WHERE e.department_id = $1 AND e.active AND e.role <> 'admin'
      ORDER BY e.id`,
    [run.department_id, DEFAULT_RULES.max_minutes_per_period, DEFAULT_RULES.min_minutes_per_period, DEFAULT_RULES.max_consecutive_days,
      DEFAULT_RULES.min_consecutive_days, DEFAULT_RULES.min_consecutive_days_off, DEFAULT_RULES.max_weekends_per_period, DEFAULT_RULES.min_rest_minutes]);
  if (emps.rows.length === 0 && !forCheck) throw new InvalidGenerationInputError(`department ${run.department_id} has no active employees to schedule`);
  const employeeIds = emps.rows.map((e) => e.id);
  const eIndex = new Map(employeeIds.map((id, i) => [id, i]));

  const [limits, avail, timeOff, requests, demand, cancelled] = await Promise.all([
    q.query<{ employee_id: string; template_id: string; max_shifts: number }>(
      'SELECT employee_id, template_id, max_shifts FROM employee_shift_limits WHERE employee_id = ANY($1::bigint[])', [employeeIds]),
    q.query<{ employee_id: string; weekday: number; start_time: string; end_time: string }>(
      'SELECT employee_id, weekday, start_time::text, end_time::text FROM availability WHERE employee_id = ANY($1::bigint[])', [employeeIds]),
    q.query<{ employee_id: string; start_date: string; end_date: string }>(
      `SELECT employee_id, to_char(greatest(start_date, $2::date), 'YYYY-MM-DD') AS start_date, to_char(least(end_date, $3::date), 'YYYY-MM-DD') AS end_date
         FROM time_off WHERE employee_id = ANY($1::bigint[]) AND status = 'approved' AND start_date <= $3 AND end_date >= $2`,
      [employeeIds, start, end]),
    q.query<{ employee_id: string; date: string; kind: 'on' | 'off'; template_id: string | null; weight: number }>(
      `SELECT employee_id, to_char(date, 'YYYY-MM-DD') AS date, kind, template_id, weight
         FROM shift_requests WHERE employee_id = ANY($1::bigint[]) AND date BETWEEN $2 AND $3 ORDER BY id`,
      [employeeIds, start, end]),
    q.query<{ template_id: string; date: string; required: number; weight_under: number; weight_over: number }>(
      `SELECT template_id, to_char(date, 'YYYY-MM-DD') AS date, required, weight_under, weight_over
         FROM demand WHERE department_id = $1 AND date BETWEEN $2 AND $3`,
      [run.department_id, start, end]),
    // A shift of the draft being regenerated that a manager cancelled: that employee does not get
    // that template on that day again (the roster's natural key would land on the cancelled row,
    // which the write leaves as it is — the slot would count as covered and stay empty).
    q.query<{ employee_id: string; template_id: string; date: string }>(
      `SELECT s.employee_id, s.template_id, to_char(s.date, 'YYYY-MM-DD') AS date
         FROM shifts s JOIN schedules sc ON sc.id = s.schedule_id
        WHERE sc.department_id = $1 AND sc.period_start = $2 AND sc.period_end = $3 AND sc.status = 'draft'
          AND s.date BETWEEN $2 AND $3 AND s.status = 'cancelled' AND s.employee_id IS NOT NULL`,
      [run.department_id, start, end]),
  ]);

  const caps = new Map<string, number>();
  for (const l of limits.rows) caps.set(`${l.employee_id}:${l.template_id}`, l.max_shifts);
  const windows = new Map<string, { weekday: number; s: number; e: number }[]>();
  for (const a of avail.rows) {
    const list = windows.get(a.employee_id) ?? [];
    list.push({ weekday: a.weekday, s: minutesOfTime(a.start_time), e: minutesOfTime(a.end_time) });
    windows.set(a.employee_id, list);
  }
  const off = new Map<string, Set<number>>();
  for (const t of timeOff.rows) {
    const set = off.get(t.employee_id) ?? new Set<number>();
    for (let d = dayOf(t.start_date); d <= dayOf(t.end_date); d++) set.add(d);
    off.set(t.employee_id, set);
  }

  const cancelledKeys = new Set(cancelled.rows.map((c) => `${c.employee_id}:${c.template_id}:${dayOf(c.date)}`));

  const weekdays = dates.map(isoWeekday);
  const employees: EmployeeSpec[] = emps.rows.map((e) => {
    const skills = new Set(e.skills);
    const maxShiftsPerType = tpl.rows.map((t) => caps.get(`${e.id}:${t.id}`) ?? D);
    const skilled = tpl.rows.map((t) => t.required_skills.every((s) => skills.has(s)));
    const wins = windows.get(e.id);
    const daysOff = off.get(e.id);
    const allowed = dates.map((_, d) => shiftTypes.map((s, t) => {
      if (!skilled[t] || (maxShiftsPerType[t] ?? 0) === 0 || daysOff?.has(d)) return false;
      if (cancelledKeys.has(`${e.id}:${tpl.rows[t]!.id}:${d}`)) return false;
      if (!wins) return true; // no windows recorded: always available
      return wins.some((w) => w.weekday === weekdays[d] && windowFits(w.s, w.e, s.startMinute, s.startMinute + s.durationMinutes));
    }));
    const spec: EmployeeSpec = {
      id: e.id,
      allowed,
      maxShiftsPerType,
      maxTotalMinutes: e.max_minutes_per_period,
      minTotalMinutes: e.min_minutes_per_period,
      maxConsecutiveWorkDays: e.max_consecutive_days,
      minConsecutiveWorkDays: e.min_consecutive_days,
      minConsecutiveDaysOff: e.min_consecutive_days_off,
      maxWeekends: e.max_weekends_per_period,
      minRestMinutes: e.min_rest_minutes,
      hourlyCost: Number(e.hourly_rate),
    };
    if (e.max_minutes_per_week !== null) spec.maxWeekMinutes = e.max_minutes_per_week;
    if (e.min_minutes_per_week !== null) spec.minWeekMinutes = e.min_minutes_per_week;
    return spec;
  });

  const reqs: ShiftRequest[] = [];
  for (const r of requests.rows) {
    const employee = eIndex.get(r.employee_id);
    if (employee === undefined) continue;
    let type: number | null = null;
    if (r.template_id !== null) {
      const t = tIndex.get(r.template_id);
      if (t === undefined) continue; // a request for an inactive template cannot be granted or broken
      type = t;
    }
    reqs.push({ employee, day: dayOf(r.date), type, on: r.kind === 'on', weight: r.weight });
  }

  // Missing demand: nobody required; an extra person costs the schema's default weight_over.
  const cover = dates.map(() => shiftTypes.map(() => ({ requirement: 0, weightUnder: 0, weightOver: 1 })));
  for (const r of demand.rows) {
    const t = tIndex.get(r.template_id);
    const row = cover[dayOf(r.date)];
    if (t === undefined || !row) continue;
    row[t] = { requirement: r.required, weightUnder: r.weight_under, weightOver: r.weight_over };
  }

  // Shifts the employees already have outside this generation's own output (manual shifts in any
  // live schedule, shifts of other live schedules), around and inside the period: the solver's
  // fixed shifts. Inside the period their days take no generated shift and count toward the
  // period's limits; around it they count for rest, successions, runs of days, the maximum
  // minutes of the weeks the period's edges cut, and the minimum of a week that started before
  // the period and ends inside it.
  const window = contextWindow(employees);
  const booked = await loadBookings(q, { departmentId: run.department_id, periodStart: start, periodEnd: end, employeeIds, templateIds: tpl.rows.map((t) => t.id), window });
  employees.forEach((e, i) => Object.assign(e, booked.context[i]));

  // A booked shift of this department's own templates already covers one person of that demand.
  for (const b of booked.inPeriod) {
    const t = tIndex.get(b.template_id);
    const c = t === undefined ? undefined : cover[dayOf(b.date)]?.[t];
    if (c && c.requirement > 0) c.requirement -= 1;
  }

  // Shift times are wall clock; rest is real time across a DST change of the department's zone.
  const changes = clockChanges(d0.timezone, start, -window, D - 1 + window);
  const w = opts.data.weights ?? {};
  const instance: Instance = {
    ...(changes.length > 0 ? { clockChanges: changes } : {}),
    days: D,
    firstWeekday: isoWeekday(start) - 1,
    shiftTypes,
    employees,
    requests: reqs,
    cover,
    weights: {
      fairnessHours: w.fairnessHours ?? DEFAULT_SOFT_WEIGHTS.fairnessHours,
      fairnessWeekends: w.fairnessWeekends ?? DEFAULT_SOFT_WEIGHTS.fairnessWeekends,
      cost: w.cost ?? DEFAULT_SOFT_WEIGHTS.cost,
    },
  };
  return {
    runId: run.id,
    departmentId: run.department_id,
    timezone: d0.timezone,
    periodStart: start,
    periodEnd: end,
    options: opts.data,
    instance,
    employeeIds,
    templates: tpl.rows.map((t, i) => ({ id: t.id, code: t.code, startMinute: shiftTypes[i]!.startMinute, durationMinutes: t.duration_minutes })),
    contextWindow: window,
  };
}
