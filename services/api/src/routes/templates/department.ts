import type { Queryable } from '@rota/db';
import { coversDepartment, type Principal } from '../../auth/principal.ts';
import { AppError, forbidden, notFound } from '../../http/errors.ts';

/** What authorization and time computations need to know about a department. */
export type DepartmentRef = { id: string; path: string; timezone: string; active: boolean };

export async function loadDepartment(q: Queryable, id: string, lock = false): Promise<DepartmentRef | undefined> {
  const r = await q.query<DepartmentRef>(
    `SELECT id, path::text AS path, timezone, active FROM departments WHERE id = $1 ${lock ? 'FOR SHARE' : ''}`, [id]);
  return r.rows[0];
}

/** Columns of a DepartmentRef selected beside other data (one round trip; see departmentRefOf). */
export const departmentRefColumns = (alias: string): string =>
  `${alias}.id AS scope_id, ${alias}.path::text AS scope_path, ${alias}.timezone AS scope_timezone, ${alias}.active AS scope_active`;
export type DepartmentRefColumns = { scope_id: string; scope_path: string; scope_timezone: string; scope_active: boolean };

/** The DepartmentRef of a row selected with departmentRefColumns (undefined: no such department). */
export function departmentRefOf(row: DepartmentRefColumns | undefined): DepartmentRef | undefined {
  return row && { id: row.scope_id, path: row.scope_path, timezone: row.scope_timezone, active: row.scope_active };
}

/**
 * `read`: admins, managers of the subtree, employees of that very department.
 * `manage`: admins and managers of the subtree.
 * Outside scope: employees get 404 (other departments are private to them), managers 403.
 */
export function authorizeDepartment(p: Principal, d: DepartmentRef | undefined, mode: 'read' | 'manage'): DepartmentRef {
  if (!d) throw notFound('department');
  if (!coversDepartment(p, d.path, 'read')) throw p.role === 'employee' ? notFound('department') : forbidden('the department is outside your subtree');
  if (mode === 'manage' && p.role === 'employee') throw forbidden('only managers and admins may change this');
  return d;
}

/** A from/to date range, inclusive, at most `maxDays` long. Dates are ISO strings. */
/** Calendar days from `from` to `to` (ISO dates), both included. */
export function daysBetween(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
}

export function checkRange(from: string, to: string, maxDays = 366): void {
  const days = daysBetween(from, to);
  if (days < 1) throw new AppError('validation_failed', 'to must not be before from', { details: [{ field: 'query.to', message: 'must not be before from' }] });
  if (days > maxDays) throw new AppError('validation_failed', `the range may span at most ${maxDays} days`, { details: [{ field: 'query.to', message: `at most ${maxDays} days after from` }] });
}
