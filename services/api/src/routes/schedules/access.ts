import type { Queryable } from '@rota/db';
import { coversDepartment, type Principal } from '../../auth/principal.ts';
import { forbidden, notFound } from '../../http/errors.ts';

/** A schedule with what authorization and exports need about its department. */
export type ScheduleRef = {
  id: string; department_id: string; department_name: string; path: string; timezone: string;
  period_start: string; period_end: string; status: 'draft' | 'published' | 'archived'; version: number;
};

export async function loadSchedule(q: Queryable, id: string, lock = false): Promise<ScheduleRef | undefined> {
  const r = await q.query<ScheduleRef>(
    `SELECT s.id, s.department_id, d.name AS department_name, d.path::text AS path, d.timezone,
            s.period_start::text AS period_start, s.period_end::text AS period_end, s.status, s.version
       FROM schedules s JOIN departments d ON d.id = s.department_id WHERE s.id = $1 ${lock ? 'FOR UPDATE OF s' : ''}`, [id]);
  const row = r.rows[0];
  if (row) rememberDepartment(row.id, row.department_id);
  return row;
}

/**
 * `read`: admins, managers of the department's subtree, employees only for published schedules
 * of their own department. `manage`: admins and managers of the subtree.
 * Employees get 404 for anything they cannot read (drafts and other departments are private).
 */
export function authorizeSchedule<S extends Pick<ScheduleRef, 'path' | 'status'>>(p: Principal, s: S | undefined, mode: 'read' | 'manage'): S {
  if (!s) throw notFound('schedule');
  if (p.role === 'employee') {
    if (!coversDepartment(p, s.path, 'read') || s.status !== 'published') throw notFound('schedule');
    if (mode === 'manage') throw forbidden('only managers and admins may change schedules');
    return s;
  }
  if (!coversDepartment(p, s.path, 'manage')) throw forbidden('the schedule belongs to a department outside your subtree');
  return s;
}

// A schedule never changes department, so schedule → department is safe to remember for the life
// of the process. It lets cached reads of one schedule declare their `dept:D` scope (coverage and
// names change with department-level events) without a query on a cache hit.
const MAX_REMEMBERED = 100_000;
const departmentOfSchedule = new Map<string, string>();

function rememberDepartment(scheduleId: string, departmentId: string): void {
  if (departmentOfSchedule.size >= MAX_REMEMBERED) departmentOfSchedule.clear();
  departmentOfSchedule.set(scheduleId, departmentId);
}

/** The schedule's department id when this process has seen the schedule before. */
export function knownDepartmentOf(scheduleId: string): string | undefined {
  return departmentOfSchedule.get(scheduleId);
}
