/**
 * Independent check of a roster as stored in Postgres: rebuilds the assignment from the shift rows
 * of a schedule (generated ones; manual shifts are the manager's) and runs @rota/solver's hard-rule
 * checker on the instance loaded for the run — with the employees' bookings around and inside the
 * period as they are now (other live schedules, manual shifts: rest, successions, one shift a day
 * and runs across the period's edges), so a rule broken by a booking next to the roster is
 * reported, also one made after the roster was written. Finds what the write could get wrong (a
 * shift twice, two shifts on one day, a broken rule).
 */
import type { Queryable } from '@rota/db';
import { checkAssignment, type Assignment, type HardViolation } from '@rota/solver';
import { loadInstance, readRun, type LoadedInstance } from './load.ts';
import { addDays } from './time.ts';

export type StoredRosterCheck = {
  rows: number;
  assignedShifts: number;
  openShifts: number;
  /** A second shift of one employee on one day. */
  doubleBooked: number;
  /** Natural keys present more than once (impossible while the constraint holds). */
  duplicateKeys: number;
  violations: HardViolation[];
  assignment: Assignment;
};

export async function checkStoredRoster(q: Queryable, runId: string, scheduleId: string): Promise<StoredRosterCheck> {
  const run = await readRun(q, runId);
  if (!run) throw new Error(`generation run ${runId} does not exist`);
  const loaded = await loadInstance(q, run);
  const built = await storedAssignment(q, loaded, scheduleId);
  const dup = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM shifts WHERE schedule_id = $1
       GROUP BY date, template_id, employee_id, open_slot HAVING count(*) > 1) x`, [scheduleId]);
  return {
    rows: built.rows, assignedShifts: built.rows - built.open, openShifts: built.open, doubleBooked: built.doubleBooked.length + built.unplaced,
    duplicateKeys: dup.rows[0]!.n, violations: checkAssignment(loaded.instance, built.assignment), assignment: built.assignment,
  };
}

type Built = {
  rows: number;
  open: number;
  assignment: Assignment;
  /** Generated shifts on a day the employee already works in this roster. */
  doubleBooked: { employeeId: string; day: number }[];
  /** Generated shifts outside the instance: an employee or template no longer active there, a day outside the period. */
  unplaced: number;
};

/** The schedule's generated, non-cancelled shifts as the loaded instance's assignment. */
async function storedAssignment(q: Queryable, loaded: LoadedInstance, scheduleId: string): Promise<Built> {
  const rows = await q.query<{ employee_id: string | null; template_id: string; day: number }>(
    `SELECT employee_id, template_id, (date - $2::date) AS day FROM shifts WHERE schedule_id = $1 AND status <> 'cancelled' AND source = 'generated'`,
    [scheduleId, loaded.periodStart]);
  const e = new Map(loaded.employeeIds.map((id, i) => [id, i]));
  const t = new Map(loaded.templates.map((x, i) => [x.id, i]));
  const assignment: Assignment = loaded.employeeIds.map(() => new Array<number | null>(loaded.instance.days).fill(null));
  const doubleBooked: Built['doubleBooked'] = [];
  let open = 0;
  let unplaced = 0;
  for (const r of rows.rows) {
    if (r.employee_id === null) { open++; continue; }
    const ei = e.get(r.employee_id);
    const ti = t.get(r.template_id);
    const row = ei === undefined ? undefined : assignment[ei];
    if (!row || ti === undefined || r.day < 0 || r.day >= loaded.instance.days) { unplaced++; continue; }
    if (row[r.day] !== null) doubleBooked.push({ employeeId: r.employee_id, day: r.day });
    row[r.day] = ti;
  }
  return { rows: rows.rows.length, open, assignment, doubleBooked, unplaced };
}

/** Names of the rules as the API reports them (services/api rules.ts), where they differ from the checker's. */
const RULE_NAMES: Partial<Record<HardViolation['rule'], string>> = {
  'max-total-minutes': 'max-minutes-per-period',
  'min-total-minutes': 'min-minutes-per-period',
  'max-week-minutes': 'max-minutes-per-week',
  'min-week-minutes': 'min-minutes-per-week',
  'max-consecutive-work': 'max-consecutive-days',
  'min-consecutive-work': 'min-consecutive-days',
  'min-consecutive-off': 'min-consecutive-days-off',
};

export type ScheduleRuleViolation = {
  rule: string;
  employeeId: string;
  /** The day the violation is anchored at (may lie just outside the period), absent for whole-period rules. */
  date?: string;
  message: string;
  /**
   * A minimum of an employee whose minimums the generation of this roster lifted as out of reach
   * (its run's `relaxedMinimumsEmployeeIds`: leave, availability or bookings left too few
   * shifts): known since the run, not made by an edit.
   */
  liftedByGeneration?: true;
};

const MINIMUM_RULES: ReadonlySet<string> = new Set(['min-minutes-per-period', 'min-minutes-per-week', 'min-consecutive-days', 'min-consecutive-days-off']);

export type ScheduleRuleCheck = {
  violations: ScheduleRuleViolation[];
  /** Generated shifts the check could not place: their employee or template is no longer active in the department. */
  unchecked: number;
};

/**
 * Every hard rule of SPEC §2 — the minimums included, which a single manual edit is not refused
 * for (services/api rules.ts) — over a live schedule as stored now: its generated shifts as the
 * roster, its manual shifts and the employees' bookings around and inside the period as fixed
 * shifts (loadBookings' rule), against the department's active employees with their rules, time
 * off, availability and templates as they are now. What publishing checks: a roster edited by
 * hand, or whose inputs changed since it was generated (time off approved, rules tightened, an
 * employee joined), may break a rule the generator never would.
 */
export async function checkScheduleRules(
  q: Queryable, s: { id: string; department_id: string; period_start: string; period_end: string },
): Promise<ScheduleRuleCheck> {
  const loaded = await loadInstance(q, { id: `schedule ${s.id}`, department_id: s.department_id, period_start: s.period_start, period_end: s.period_end, options: {} }, { forCheck: true });
  const built = await storedAssignment(q, loaded, s.id);
  const run = await q.query<{ relaxed: string[] | null }>(
    `SELECT r.result->'relaxedMinimumsEmployeeIds' AS relaxed FROM schedules s JOIN generation_runs r ON r.id = s.generation_run_id WHERE s.id = $1`, [s.id]);
  const lifted = new Set(run.rows[0]?.relaxed ?? []);
  const dateOf = (day: number): string => addDays(loaded.periodStart, day);
  const violations: ScheduleRuleViolation[] = built.doubleBooked.map((d) => ({
    rule: 'one-shift-per-day', employeeId: d.employeeId, date: dateOf(d.day), message: `two shifts on ${dateOf(d.day)}`,
  }));
  for (const v of checkAssignment(loaded.instance, built.assignment)) {
    const rule = RULE_NAMES[v.rule] ?? v.rule;
    violations.push({
      rule,
      employeeId: v.employeeId,
      ...(v.day !== null ? { date: dateOf(v.day) } : {}),
      // The checker counts days from the period's first; the API speaks dates.
      message: v.message.replace(/\bday (-?\d+)/g, (_, n: string) => dateOf(Number(n))),
      ...(MINIMUM_RULES.has(rule) && lifted.has(v.employeeId) ? { liftedByGeneration: true as const } : {}),
    });
  }
  return { violations, unchecked: built.unplaced };
}
