import { z } from 'zod';
import type { Queryable } from '@rota/db';
import { hashPassword, ROLES } from '@rota/domain';
import { invalidationsFor, recordEvent, type EventType } from '@rota/events';
import { tryPassword } from '../../auth/login-limiter.ts';
import { coversDepartment, type Principal } from '../../auth/principal.ts';
import type { Deps } from '../../deps.ts';
import { AppError, forbidden } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { keepRateHistory, repriceEmployee } from '../analytics/reprice.ts';
import { idParam, idsParams } from '../../http/validate.ts';
import { authorize, isSelf, loadTarget } from './access.ts';
import { calendarDate, type Employee, employeeSchema, NO_NUL, noNul } from './shape.ts';

const nameField = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').refine(noNul, NO_NUL);
const email = z.string().trim().max(254, 'must be at most 254 characters').pipe(z.email('must be an email address'));
const hourlyRate = z.union([z.number(), z.string()])
  .transform((v) => String(v).trim())
  .refine((v) => /^\d{1,10}(\.\d{1,2})?$/.test(v), 'must be a non-negative amount with at most 2 decimals, e.g. "21.50"');
const skills = z.array(z.string().trim().min(1, 'must not be empty').max(64).refine(noNul, NO_NUL)).max(100).transform((s) => [...new Set(s)]);
const password = z.string().min(12, 'must be at least 12 characters').max(200);
const reason = z.string().trim().min(1).max(500).refine(noNul, NO_NUL);

const createBody = z.strictObject({
  email, firstName: nameField, lastName: nameField, departmentId: idParam,
  role: z.enum(ROLES).optional(), contractId: idParam.nullable().optional(), hireDate: calendarDate.optional(),
  hourlyRate: hourlyRate.optional(), skills: skills.optional(), active: z.boolean().optional(), password: password.optional(),
});

const patchBody = z.strictObject({
  email: email.optional(), firstName: nameField.optional(), lastName: nameField.optional(), departmentId: idParam.optional(),
  role: z.enum(ROLES).optional(), contractId: idParam.nullable().optional(), hireDate: calendarDate.optional(),
  hourlyRate: hourlyRate.optional(), skills: skills.optional(), active: z.boolean().optional(), password: password.optional(),
  /** Required when changing one's own password; not when an admin or manager resets someone else's. */
  currentPassword: z.string().min(1, 'must not be empty').max(1024).optional(),
  /** Why the department changed; stored in the history row. Only with departmentId. */
  reason: reason.optional(),
}).refine((b) => Object.keys(b).length > 0, 'send at least one field')
  .refine((b) => b.reason === undefined || b.departmentId !== undefined, { path: ['reason'], message: 'only allowed together with departmentId' })
  .refine((b) => b.currentPassword === undefined || b.password !== undefined, { path: ['currentPassword'], message: 'only allowed together with password' });

/** Fields everyone may change on their own record. */
const SELF_FIELDS = new Set(['firstName', 'lastName', 'password', 'currentPassword']);

/**
 * Changing one's own password takes the current one: a stolen token alone must not be enough to
 * take over the account. Wrong guesses count as failed logins of the account (429 past the limit).
 */
async function checkCurrentPassword(deps: Deps, id: string, given: string | undefined, ip: string): Promise<void> {
  if (given === undefined) throw badField('body.currentPassword', 'required to change your own password');
  const r = await deps.db.query<{ email: string; password_hash: string | null }>('SELECT email, password_hash FROM employees WHERE id = $1', [id]);
  const row = r.rows[0];
  if (!row) throw forbidden('the current password is wrong');
  if (!(await tryPassword(deps.loginLimiter, row.email, ip, given, async () => row.password_hash))) {
    throw new AppError('forbidden', 'the current password is wrong', { details: [{ field: 'body.currentPassword', message: 'is wrong' }] });
  }
  await deps.loginLimiter.succeeded(row.email, ip);
}

function badField(field: string, message: string): AppError {
  return new AppError('validation_failed', `${field}: ${message}`, { details: [{ field, message }] });
}

async function departmentPath(q: Queryable, id: string, field: string): Promise<string> {
  const r = await q.query<{ path: string }>('SELECT path::text AS path FROM departments WHERE id = $1 FOR SHARE', [id]);
  const path = r.rows[0]?.path;
  if (path === undefined) throw badField(field, 'department does not exist');
  return path;
}

async function ensureContract(q: Queryable, id: string | null | undefined): Promise<void> {
  if (!id) return;
  const r = await q.query('SELECT 1 FROM contracts WHERE id = $1', [id]);
  if (!r.rowCount) throw badField('body.contractId', 'contract does not exist');
}

const canPlaceIn = (p: Principal, path: string): boolean => p.role === 'admin' || (p.role === 'manager' && coversDepartment(p, path, 'manage'));

/** The row's stored API JSON (set by the trigger before the write, so RETURNING has it). */
const asEmployee = (json: string): Employee => JSON.parse(json) as Employee;

export const employeeWriteRoutes = [
  route({
    method: 'post',
    path: '/v1/employees',
    summary: 'Create an employee (admins anywhere; managers inside their subtree and only with role employee). '
      + 'A password is optional (no password = cannot log in); it is stored as a scrypt hash.',
    tag: 'employees',
    scope: 'employees:write',
    body: createBody,
    responses: { 201: { description: 'Created', schema: employeeSchema }, 403: { description: 'Outside your subtree or role' }, 409: { description: 'Email already in use' } },
    handler: async ({ body, principal, deps }) => {
      if (principal.role === 'employee') throw forbidden('employees cannot create employees');
      if (principal.role === 'manager' && (body.role ?? 'employee') !== 'employee') throw forbidden('only admins may assign the admin or manager role');
      const passwordHash = body.password ? await hashPassword(body.password) : null;
      const out = await deps.db.tx(async (q) => {
        const path = await departmentPath(q, body.departmentId, 'body.departmentId');
        if (!canPlaceIn(principal, path)) throw forbidden('the department is outside your subtree');
        await ensureContract(q, body.contractId);
        const r = await q.query<{ id: string; json: string }>(
          `INSERT INTO employees (email, first_name, last_name, role, department_id, contract_id, hire_date, hourly_rate, skills, active, password_hash)
           VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::date, current_date), $8, $9, $10, $11) RETURNING id, api_json AS json`,
          [body.email, body.firstName, body.lastName, body.role ?? 'employee', body.departmentId, body.contractId ?? null,
            body.hireDate ?? null, body.hourlyRate ?? '0', body.skills ?? [], body.active ?? true, passwordHash]);
        const id = r.rows[0]!.id;
        const event = await recordEvent(q, {
          type: 'employee.created', aggregate: { type: 'employee', id }, departmentIds: [body.departmentId], employeeIds: [id],
          payload: { role: body.role ?? 'employee' },
        });
        return { row: asEmployee(r.rows[0]!.json), event };
      });
      await deps.cache.invalidate(invalidationsFor(out.event));
      return { status: 201, json: out.row, headers: { Location: `/v1/employees/${out.row.id}` } };
    },
  }),
  route({
    method: 'patch',
    path: '/v1/employees/:id',
    summary: 'Update an employee. Everyone may change their own names and password (with currentPassword); admins anything (not their own role or '
      + 'active flag); managers employees (role employee) of their subtree, moving them only within it, never changing roles. '
      + 'A department change writes a department_assignment_history row (with the optional reason) in the same transaction. '
      + 'A password change or reset refuses every access token issued before it (log in again).',
    tag: 'employees',
    scope: 'employees:write',
    params: idsParams,
    body: patchBody,
    responses: {
      200: { description: 'Updated', schema: employeeSchema }, 403: { description: 'Not allowed, or a wrong currentPassword' },
      409: { description: 'Email already in use' }, 429: { description: 'Too many wrong currentPassword attempts (Retry-After)' },
    },
    handler: async ({ req, params, body, principal, deps }) => {
      const self = isSelf(principal, params.id);
      const selfOnly = self && Object.keys(body).every((k) => SELF_FIELDS.has(k));
      if (self && (body.role !== undefined || body.active === false)) {
        throw forbidden('you cannot change your own role or deactivate yourself');
      }
      if (body.role !== undefined && principal.role !== 'admin') throw forbidden('only admins may change roles');
      if (self && body.password !== undefined) await checkCurrentPassword(deps, params.id, body.currentPassword, req.ip ?? 'unknown');
      const passwordHash = body.password ? await hashPassword(body.password) : undefined;
      // Tokens issued before this instant are refused from now on (auth/authenticate.ts); the API's
      // clock, the one that stamps the tokens' iat.
      const passwordChangedAt = passwordHash === undefined ? null : new Date();
      const out = await deps.db.tx(async (q) => {
        const target = authorize(principal, await loadTarget(q, params.id, true), selfOnly ? 'read' : 'manage');
        const moved = body.departmentId !== undefined && body.departmentId !== target.department_id;
        if (moved) {
          const path = await departmentPath(q, body.departmentId!, 'body.departmentId');
          if (!canPlaceIn(principal, path)) throw forbidden('the new department is outside your subtree');
        }
        await ensureContract(q, body.contractId);
        const repriceFrom = body.hourlyRate !== undefined ? await keepRateHistory(q, params.id, body.hourlyRate) : undefined;
        const updated = await q.query<{ json: string }>(
          `UPDATE employees SET
              email = coalesce($2, email), first_name = coalesce($3, first_name), last_name = coalesce($4, last_name),
              role = coalesce($5, role), department_id = coalesce($6::bigint, department_id),
              contract_id = CASE WHEN $7::boolean THEN $8::bigint ELSE contract_id END,
              hire_date = coalesce($9::date, hire_date), hourly_rate = coalesce($10::numeric, hourly_rate),
              skills = coalesce($11::text[], skills), active = coalesce($12::boolean, active), password_hash = coalesce($13, password_hash),
              password_changed_at = coalesce($14::timestamptz, password_changed_at)
            WHERE id = $1 RETURNING api_json AS json`,
          [params.id, body.email ?? null, body.firstName ?? null, body.lastName ?? null, body.role ?? null, body.departmentId ?? null,
            body.contractId !== undefined, body.contractId ?? null, body.hireDate ?? null, body.hourlyRate ?? null, body.skills ?? null,
            body.active ?? null, passwordHash ?? null, passwordChangedAt]);
        if (moved) {
          await q.query(
            `INSERT INTO department_assignment_history (employee_id, from_department_id, to_department_id, changed_by, reason)
             VALUES ($1, $2, $3, $4, $5)`,
            [params.id, target.department_id, body.departmentId, principal.employeeId, body.reason ?? null]);
        }
        // A new rate re-prices their rostered shifts from today on, in whichever departments.
        const repriced = repriceFrom !== undefined ? await repriceEmployee(q, params.id, repriceFrom) : [];
        // Activity changes head counts (tree, analytics): they get types of their own.
        const type: EventType = moved ? 'employee.department_changed'
          : body.active === false && target.active ? 'employee.deactivated'
            : body.active === true && !target.active ? 'employee.reactivated' : 'employee.updated';
        const changed = Object.keys(body).filter((k) => k !== 'password' && k !== 'currentPassword' && k !== 'reason');
        const event = await recordEvent(q, {
          type, aggregate: { type: 'employee', id: params.id },
          departmentIds: [...new Set([target.department_id, ...(moved ? [body.departmentId!] : []), ...repriced])], employeeIds: [params.id],
          payload: { changed: body.password ? [...changed, 'password'] : changed, ...(moved ? { fromDepartmentId: target.department_id, toDepartmentId: body.departmentId } : {}) },
        });
        return { row: asEmployee(updated.rows[0]!.json), event };
      });
      deps.auth.forget('user', params.id);
      await deps.cache.invalidate(invalidationsFor(out.event));
      return { json: out.row };
    },
  }),
  route({
    method: 'delete',
    path: '/v1/employees/:id',
    summary: 'Deactivate an employee (the row and its history stay; they can no longer log in). Idempotent.',
    tag: 'employees',
    scope: 'employees:write',
    params: idsParams,
    responses: { 204: { description: 'Deactivated' }, 403: { description: 'Not allowed' } },
    handler: async ({ params, principal, deps }) => {
      if (isSelf(principal, params.id)) throw forbidden('you cannot deactivate yourself');
      const event = await deps.db.tx(async (q) => {
        const target = authorize(principal, await loadTarget(q, params.id, true), 'manage');
        if (!target.active) return undefined;
        await q.query('UPDATE employees SET active = false WHERE id = $1', [params.id]);
        return recordEvent(q, { type: 'employee.deactivated', aggregate: { type: 'employee', id: params.id }, departmentIds: [target.department_id], employeeIds: [params.id] });
      });
      deps.auth.forget('user', params.id);
      if (event) await deps.cache.invalidate(invalidationsFor(event));
      return { status: 204 };
    },
  }),
];
