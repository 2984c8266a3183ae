import { z } from 'zod';
import { invalidationsFor, recordEvent } from '@rota/events';
import { coversDepartment, type Principal } from '../../auth/principal.ts';
import { AppError, forbidden, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { idParam, idsParams } from '../../http/validate.ts';
import type { Queryable } from '@rota/db';
import { DEPARTMENT_COLUMNS, departmentSchema, toDepartment, type DepartmentRow } from './shape.ts';

const name = z.string().trim().min(1, 'must not be empty').max(200);
const timezone = z.string().min(1).max(64).refine((tz) => {
  try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; }
}, 'must be an IANA time zone such as Europe/London');

const createBody = z.strictObject({ name, parentId: idParam.nullable().optional(), timezone: timezone.optional(), active: z.boolean().optional() });
const patchBody = z.strictObject({ name: name.optional(), parentId: idParam.nullable().optional(), timezone: timezone.optional(), active: z.boolean().optional() })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field');

/**
 * Serialises moves and inserts below a parent (the path trigger takes the same lock, migration
 * 0007): taken before any row lock, so the paths read after it are the committed ones and two
 * moves never deadlock on each other's rows.
 */
async function lockHierarchy(q: Queryable): Promise<void> {
  await q.query(`SELECT pg_advisory_xact_lock(hashtext('rota_department_paths'))`);
}

async function pathOf(q: Queryable, id: string): Promise<string | undefined> {
  const r = await q.query<{ path: string }>('SELECT path::text AS path FROM departments WHERE id = $1 FOR UPDATE', [id]);
  return r.rows[0]?.path;
}

/** Managers manage strictly below their own department; admins anywhere. */
function canManageBelow(p: Principal, parentPath: string | null): boolean {
  if (p.role === 'admin') return true;
  if (p.role !== 'manager' || parentPath === null) return false;
  return coversDepartment(p, parentPath, 'manage');
}

export const departmentWriteRoutes = [
  route({
    method: 'post',
    path: '/v1/departments',
    summary: 'Create a department',
    tag: 'departments',
    scope: 'departments:write',
    body: createBody,
    responses: { 201: { description: 'Created', schema: departmentSchema }, 403: { description: 'Outside your subtree' } },
    handler: async ({ body, principal, deps }) => {
      const row = await deps.db.tx(async (q) => {
        let parentPath: string | null = null;
        if (body.parentId) {
          await lockHierarchy(q);
          parentPath = (await pathOf(q, body.parentId)) ?? null;
          if (parentPath === null) throw new AppError('validation_failed', 'parent department does not exist', { details: [{ field: 'body.parentId', message: 'does not exist' }] });
        }
        if (!canManageBelow(principal, parentPath)) throw forbidden('you may only create departments inside your own subtree');
        const r = await q.query<DepartmentRow>(
          `INSERT INTO departments AS d (name, parent_id, timezone, active) VALUES ($1, $2, $3, $4) RETURNING ${DEPARTMENT_COLUMNS}`,
          [body.name, body.parentId ?? null, body.timezone ?? 'UTC', body.active ?? true]);
        const dept = r.rows[0]!;
        const event = await recordEvent(q, { type: 'department.created', aggregate: { type: 'department', id: dept.id }, departmentIds: [dept.id], payload: { name: dept.name, parentId: dept.parent_id } });
        return { dept, event };
      });
      await deps.cache.invalidate(invalidationsFor(row.event));
      return { status: 201, json: toDepartment(row.dept), headers: { Location: `/v1/departments/${row.dept.id}` } };
    },
  }),
  route({
    method: 'patch',
    path: '/v1/departments/:id',
    summary: 'Rename, move, re-zone or (de)activate a department',
    tag: 'departments',
    scope: 'departments:write',
    params: idsParams,
    body: patchBody,
    responses: { 200: { description: 'Updated', schema: departmentSchema }, 409: { description: 'Move would create a cycle' } },
    handler: async ({ params, body, principal, deps }) => {
      const row = await deps.db.tx(async (q) => {
        if (body.parentId !== undefined) await lockHierarchy(q);
        const path = await pathOf(q, params.id);
        if (!path) throw notFound('department');
        if (!coversDepartment(principal, path, 'manage') || principal.role === 'employee') {
          throw principal.role === 'employee' ? forbidden() : notFound('department');
        }
        if (principal.role === 'manager' && path === principal.departmentPath && body.parentId !== undefined) {
          throw forbidden('managers cannot move their own department');
        }
        const oldParent = path.split('.').slice(-2, -1)[0] ?? null;
        if (body.parentId !== undefined && body.parentId !== null) {
          const newParentPath = await pathOf(q, body.parentId);
          if (!newParentPath) throw new AppError('validation_failed', 'parent department does not exist', { details: [{ field: 'body.parentId', message: 'does not exist' }] });
          if (!canManageBelow(principal, newParentPath)) throw forbidden('the new parent is outside your subtree');
        } else if (body.parentId === null && principal.role !== 'admin') {
          throw forbidden('only admins can make a root department');
        }
        const r = await q.query<DepartmentRow>(
          `UPDATE departments AS d SET name = coalesce($2, name),
                  parent_id = CASE WHEN $3::boolean THEN $4::bigint ELSE parent_id END,
                  timezone = coalesce($5, timezone), active = coalesce($6, active)
            WHERE id = $1 RETURNING ${DEPARTMENT_COLUMNS}`,
          [params.id, body.name ?? null, body.parentId !== undefined, body.parentId ?? null, body.timezone ?? null, body.active ?? null]);
        const dept = r.rows[0]!;
        const touched = [dept.id, ...(oldParent ? [oldParent] : [])];
        const event = await recordEvent(q, {
          type: 'department.updated', aggregate: { type: 'department', id: dept.id }, departmentIds: touched,
          payload: { changed: Object.keys(body), moved: body.parentId !== undefined && body.parentId !== oldParent },
        });
        return { dept, event };
      });
      await deps.cache.invalidate(invalidationsFor(row.event));
      return { json: toDepartment(row.dept) };
    },
  }),
  route({
    method: 'delete',
    path: '/v1/departments/:id',
    summary: 'Delete an empty department (409 while it has employees or children)',
    tag: 'departments',
    scope: 'departments:write',
    params: idsParams,
    responses: { 204: { description: 'Deleted' }, 409: { description: 'Has employees, children or history' } },
    handler: async ({ params, principal, deps }) => {
      const event = await deps.db.tx(async (q) => {
        const path = await pathOf(q, params.id);
        if (!path) throw notFound('department');
        const parentPath = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : null;
        if (!canManageBelow(principal, parentPath) || path === principal.departmentPath) {
          throw principal.role === 'admin' ? notFound('department') : forbidden();
        }
        const uses = await q.query<{ children: number; employees: number }>(
          `SELECT (SELECT count(*)::int FROM departments WHERE parent_id = $1) AS children,
                  (SELECT count(*)::int FROM employees WHERE department_id = $1) AS employees`, [params.id]);
        const u = uses.rows[0]!;
        if (u.children > 0 || u.employees > 0) {
          throw new AppError('conflict', 'department still has employees or child departments', { details: [{ message: `${u.employees} employee(s), ${u.children} child department(s)` }] });
        }
        const ancestors = path.split('.').slice(0, -1);
        const ev = await recordEvent(q, { type: 'department.deleted', aggregate: { type: 'department', id: params.id }, departmentIds: [params.id], ancestorDepartmentIds: ancestors });
        try {
          await q.query('DELETE FROM departments WHERE id = $1', [params.id]);
        } catch (e) {
          if ((e as { code?: string }).code === '23503') {
            throw new AppError('conflict', 'department is still referenced (schedules, templates or history); deactivate it instead');
          }
          throw e;
        }
        return ev;
      });
      await deps.cache.invalidate(invalidationsFor(event));
      return { status: 204 };
    },
  }),
];
