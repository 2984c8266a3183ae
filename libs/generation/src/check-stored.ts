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
import { loadInstance, readRun } from './load.ts';

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
  const rows = await q.query<{ employee_id: string | null; template_id: string; day: number }>(
    `SELECT employee_id, template_id, (date - $2::date) AS day FROM shifts WHERE schedule_id = $1 AND status <> 'cancelled' AND source = 'generated'`,
    [scheduleId, loaded.periodStart]);
  const e = new Map(loaded.employeeIds.map((id, i) => [id, i]));
  const t = new Map(loaded.templates.map((x, i) => [x.id, i]));
  const assignment: Assignment = loaded.employeeIds.map(() => new Array<number | null>(loaded.instance.days).fill(null));
  let doubleBooked = 0;
  let open = 0;
  for (const r of rows.rows) {
    if (r.employee_id === null) { open++; continue; }
    const ei = e.get(r.employee_id);
    const ti = t.get(r.template_id);
    const row = ei === undefined ? undefined : assignment[ei];
    if (!row || ti === undefined || r.day < 0 || r.day >= loaded.instance.days) { doubleBooked++; continue; }
    if (row[r.day] !== null) doubleBooked++;
    row[r.day] = ti;
  }
  const dup = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM shifts WHERE schedule_id = $1
       GROUP BY date, template_id, employee_id, open_slot HAVING count(*) > 1) x`, [scheduleId]);
  return {
    rows: rows.rows.length, assignedShifts: rows.rows.length - open, openShifts: open, doubleBooked,
    duplicateKeys: dup.rows[0]!.n, violations: checkAssignment(loaded.instance, assignment), assignment,
  };
}
