import type { Queryable } from '@rota/db';
import { PLAN_FOR_DAY } from '@rota/generation';
import type { EmployeeRules, RuleContext, RuleShift, RuleTemplate } from './rules.ts';

/**
 * Rules of an employee without a contract or override: the contract table's column defaults
 * (migration 0001), so "no contract" means the standard contract, not "no limits".
 */
export const DEFAULT_RULES: Readonly<EmployeeRules> = Object.freeze({
  maxMinutesPerPeriod: 10_560, maxMinutesPerWeek: null, maxConsecutiveDays: 6, maxWeekends: 4, minRestMinutes: 660,
});

export type RuleEmployee = { id: string; department_id: string; active: boolean; skills: string[]; rules: EmployeeRules };

type EmployeeRow = {
  id: string; department_id: string; active: boolean; skills: string[];
  max_minutes_per_period: number; max_minutes_per_week: number | null; max_consecutive_days: number; max_weekends: number; min_rest_minutes: number;
};

/**
 * Loads the employee with effective rules (override → contract → default) and locks the row, so
 * two concurrent manual edits for the same employee are checked one after the other.
 */
export async function lockEmployeeForRules(q: Queryable, employeeId: string): Promise<RuleEmployee | undefined> {
  const r = await q.query<EmployeeRow>(
    `SELECT e.id, e.department_id, e.active, e.skills,
            coalesce(r.max_minutes_per_period, c.max_minutes_per_period, $2) AS max_minutes_per_period,
            coalesce(r.max_minutes_per_week, c.max_minutes_per_week) AS max_minutes_per_week,
            coalesce(r.max_consecutive_days, c.max_consecutive_days, $3) AS max_consecutive_days,
            coalesce(r.max_weekends_per_period, c.max_weekends_per_period, $4) AS max_weekends,
            coalesce(r.min_rest_minutes, c.min_rest_minutes, $5) AS min_rest_minutes
       FROM employees e
       LEFT JOIN contracts c ON c.id = e.contract_id
       LEFT JOIN employee_rules r ON r.employee_id = e.id
      WHERE e.id = $1
      FOR UPDATE OF e`,
    [employeeId, DEFAULT_RULES.maxMinutesPerPeriod, DEFAULT_RULES.maxConsecutiveDays, DEFAULT_RULES.maxWeekends, DEFAULT_RULES.minRestMinutes]);
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    id: row.id, department_id: row.department_id, active: row.active, skills: row.skills,
    rules: {
      maxMinutesPerPeriod: row.max_minutes_per_period, maxMinutesPerWeek: row.max_minutes_per_week,
      maxConsecutiveDays: row.max_consecutive_days, maxWeekends: row.max_weekends, minRestMinutes: row.min_rest_minutes,
    },
  };
}

export type RuleSchedule = { id: string; department_id: string; period_start: string; period_end: string };

type ContextRow = {
  time_off: { start: string; end: string }[];
  availability: { weekday: number; start: string; end: string }[];
  limits: { templateId: string; max: number }[];
  shifts: { id: string; date: string; templateId: string; startsAt: string; endsAt: string }[];
  templates: { id: string; code: string; requiredSkills: string[]; startTime: string; durationMinutes: number }[];
  successions: string[];
};

/**
 * Days of shifts read either side of the period: a run of working days is followed until it is
 * longer than the limit, rest reaches into the next day (more with a long shift), and a maximum
 * per week counts the whole Monday–Sunday weeks the period's first and last days lie in.
 */
export const contextDays = (rules: EmployeeRules): number =>
  Math.max(rules.maxConsecutiveDays + 1, 2 + Math.ceil(rules.minRestMinutes / 1440), rules.maxMinutesPerWeek === null ? 0 : 6);

/**
 * Everything the rules need, in one query: approved time off, availability, per-type limits, the
 * employee's non-cancelled shifts around the period (contextDays either side, for runs of working
 * days, rest and successions across the period's edges) with their templates and forbidden
 * successions.
 *
 * Shifts counted: the employee's shifts in this schedule, and in every other live (non-archived)
 * schedule — other departments' on any day, this department's on the days outside this period
 * (its adjacent rosters). This department's other live schedules on this period's own days are
 * alternatives to this one (a trial draft over part of the published roster), not shifts the
 * person also works, so they do not count; on other days, of a department's overlapping schedules
 * only its plan for the day counts (the published one, else the newest draft). The generator applies the same rule to bookings
 * outside its own output (libs/generation BOOKED_ELSEWHERE), so an early shift added by hand
 * after a night in last month's published roster is refused just as the solver would never
 * generate it.
 */
export async function loadRuleContext(q: Queryable, e: RuleEmployee, s: RuleSchedule): Promise<{ ctx: RuleContext; shifts: RuleShift[] }> {
  const r = await q.query<ContextRow>(
    `WITH sh AS (
       SELECT x.id, x.date, x.template_id, x.starts_at, x.ends_at
         FROM shifts x JOIN schedules sc ON sc.id = x.schedule_id
        WHERE x.employee_id = $1 AND x.date BETWEEN $2::date - $4::int AND $3::date + $4::int AND x.status <> 'cancelled'
          AND sc.status <> 'archived' AND (sc.id = $5 OR sc.department_id <> $6 OR x.date NOT BETWEEN $2::date AND $3::date)
          -- Of a department's overlapping schedules only its plan for the day counts (PLAN_FOR_DAY).
          AND (sc.id = $5 OR sc.id = ${PLAN_FOR_DAY('sc.department_id', 'x.date')})
     )
     SELECT
       (SELECT coalesce(json_agg(json_build_object('start', start_date, 'end', end_date)), '[]')
          FROM time_off WHERE employee_id = $1 AND status = 'approved' AND start_date <= $3::date + 1 AND end_date >= $2::date - 1) AS time_off,
       (SELECT coalesce(json_agg(json_build_object('weekday', weekday, 'start', to_char(start_time, 'HH24:MI'), 'end', to_char(end_time, 'HH24:MI'))), '[]')
          FROM availability WHERE employee_id = $1) AS availability,
       (SELECT coalesce(json_agg(json_build_object('templateId', template_id::text, 'max', max_shifts)), '[]')
          FROM employee_shift_limits WHERE employee_id = $1) AS limits,
       (SELECT coalesce(json_agg(json_build_object('id', id::text, 'date', date, 'templateId', template_id::text, 'startsAt', starts_at, 'endsAt', ends_at)), '[]')
          FROM sh) AS shifts,
       (SELECT coalesce(json_agg(json_build_object('id', t.id::text, 'code', t.code, 'requiredSkills', t.required_skills,
                                                   'startTime', to_char(t.start_time, 'HH24:MI'), 'durationMinutes', t.duration_minutes)), '[]')
          FROM shift_templates t WHERE t.id IN (SELECT template_id FROM sh)) AS templates,
       (SELECT coalesce(json_agg(ts.from_template_id::text || '>' || ts.to_template_id::text), '[]')
          FROM template_successions ts WHERE ts.from_template_id IN (SELECT template_id FROM sh)) AS successions`,
    [e.id, s.period_start, s.period_end, contextDays(e.rules), s.id, s.department_id]);
  const row = r.rows[0]!;
  const templates = new Map<string, RuleTemplate>(row.templates.map((t) => [t.id, t]));
  const ctx: RuleContext = {
    employeeId: e.id, skills: e.skills, rules: e.rules,
    period: { start: s.period_start, end: s.period_end },
    timeOff: row.time_off, availability: row.availability,
    shiftLimits: new Map(row.limits.map((l) => [l.templateId, l.max])),
    successions: new Set(row.successions), templates,
  };
  const shifts = row.shifts.map((x) => ({ id: x.id, date: x.date, templateId: x.templateId, startsAt: new Date(x.startsAt), endsAt: new Date(x.endsAt) }));
  return { ctx, shifts };
}
