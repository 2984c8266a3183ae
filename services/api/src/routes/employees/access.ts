import type { Request, Response } from 'express';
import { scopes } from '@rota/cache';
import type { Queryable } from '@rota/db';
import type { Role } from '@rota/domain';
import { invalidationsFor, recordEvent, type EventType } from '@rota/events';
import { coversDepartment, type Principal } from '../../auth/principal.ts';
import type { Deps } from '../../deps.ts';
import { cacheKey, sendCached } from '../../http/cached.ts';
import { forbidden, notFound, type AppError } from '../../http/errors.ts';

/** What authorization needs to know about the employee a request is about. */
export type AccessTarget = { id: string; role: Role; department_id: string; path: string; active: boolean };
/** What loadTarget reads: the above, and the department's time zone. */
export type Target = AccessTarget & { timezone: string };

/** The Target's columns of an employee `e` joined with its department `d`. */
export const TARGET_COLUMNS = 'e.id, e.role, e.department_id, d.path::text AS path, e.active, d.timezone';

/** The Target of employee `$1` (one row, or none): loadTarget's query, also usable as a subquery. */
export const TARGET_SQL = `SELECT ${TARGET_COLUMNS}
       FROM employees e JOIN departments d ON d.id = e.department_id
      WHERE e.id = $1`;

/** Loads the employee with its department path; `lock` takes a row lock for a write. */
export async function loadTarget(q: Queryable, id: string, lock = false): Promise<Target | undefined> {
  const r = await q.query<Target>(`${TARGET_SQL} ${lock ? 'FOR UPDATE OF e' : ''}`, [id]);
  return r.rows[0];
}

export type AccessMode = 'read' | 'own' | 'manage';

export const isSelf = (p: Principal, id: string): boolean => p.kind === 'user' && p.employeeId === id;

/**
 * - `read`: admins; managers for employees of their subtree (any role); everyone for themselves.
 * - `own`: writes to what an employee keeps themselves (availability, time off requests, shift
 *   requests): everyone for themselves, otherwise as `manage` — a manager must not edit a peer
 *   manager's or an admin's approved time off just because they can read it.
 * - `manage`: admins; managers for employees with role `employee` in their subtree.
 * Outside scope: 404 when the caller could not even see the employee as an employee-role user
 * (existence of colleagues is private), else 403.
 */
export function authorize<T extends AccessTarget>(p: Principal, t: T | undefined, mode: AccessMode): T {
  if (!t) throw notFound('employee');
  const canRead = p.role === 'admin' || isSelf(p, t.id) || (p.role === 'manager' && coversDepartment(p, t.path, 'manage'));
  if (!canRead) throw deny(p);
  if (mode === 'read') return t;
  if (mode === 'own' && isSelf(p, t.id)) return t;
  if (p.role === 'admin') return t;
  if (p.role === 'manager' && t.role === 'employee' && coversDepartment(p, t.path, 'manage')) return t;
  throw forbidden('only admins, or managers for employees of their department subtree, may do this');
}

function deny(p: Principal): AppError {
  return p.role === 'employee' ? notFound('employee') : forbidden('the employee is outside your department subtree');
}

/** Employee ids and departments an event about this employee touches. */
export function eventScope(t: Pick<Target, 'id' | 'department_id'>): { departmentIds: string[]; employeeIds: string[] } {
  return { departmentIds: [t.department_id], employeeIds: [t.id] };
}

/**
 * Extra scopes for a manager's cached reads about one employee: a department move can take the
 * employee out of the manager's subtree without touching the employee, and that bumps
 * `tree:<manager's department>` — so access is re-checked at once, not after the TTL.
 */
export function viewerScopes(p: Principal): string[] {
  return p.role === 'manager' && p.departmentId ? [scopes.subtree(p.departmentId)] : [];
}

/**
 * A cached read about one employee (namespace `employees`, scope `emp:E`): the loader checks
 * access (one query) and then loads (one more), so a list costs at most 2 queries.
 */
export async function sendEmployeeRead(
  ctx: { req: Request; res: Response; principal: Principal; deps: Deps },
  employeeId: string,
  name: string,
  inputs: unknown,
  load: (t: Target) => Promise<unknown>,
): Promise<void> {
  const { req, res, principal, deps } = ctx;
  const read = { ns: 'employees' as const, key: cacheKey(name, principal, employeeId, inputs), scopes: [scopes.employee(employeeId), ...viewerScopes(principal)] };
  await sendCached(req, res, deps.cache, read, async () => load(authorize(principal, await loadTarget({ query: deps.db.read }, employeeId), 'read')));
}

/**
 * A write about one employee: in one transaction the employee row is locked (writes per
 * employee serialise), access is checked, `fn` writes, and the event is recorded; after commit
 * the event's cache scopes are invalidated.
 */
export async function employeeWrite<T>(
  deps: Deps, principal: Principal, employeeId: string, mode: Exclude<AccessMode, 'read'>, type: EventType,
  fn: (q: Queryable, t: Target) => Promise<{ result: T; payload: Record<string, unknown> }>,
): Promise<T> {
  const out = await deps.db.tx(async (q) => {
    const t = authorize(principal, await loadTarget(q, employeeId, true), mode);
    const { result, payload } = await fn(q, t);
    const event = await recordEvent(q, { type, aggregate: { type: 'employee', id: t.id }, ...eventScope(t), payload });
    return { result, event };
  });
  await deps.cache.invalidate(invalidationsFor(out.event));
  return out.result;
}
