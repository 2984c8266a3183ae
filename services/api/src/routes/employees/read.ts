import { z } from 'zod';
import { scopes } from '@rota/cache';
import { decodeCursor, keysetClause, pageOf, type SortColumn } from '@rota/db';
import { cacheKey, JsonText, sendCached } from '../../http/cached.ts';
import { AppError } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { cursorParam, idsParams, limitParam } from '../../http/validate.ts';
import { authorize, loadTarget, TARGET_COLUMNS, TARGET_SQL, viewerScopes, type Target } from './access.ts';
import { calendarDate, employeeSchema, pageSchema } from './shape.ts';

const HISTORY_SORT: SortColumn[] = [
  { sql: 'h.changed_at', direction: 'desc', type: 'timestamptz' },
  { sql: 'h.id', direction: 'desc', type: 'bigint' },
];

/** The employee a history page is about, beside each row of it (see the history route). */
type TargetColumns = { target_id: string; target_role: Target['role']; target_department_id: string; target_path: string; target_active: boolean };

type HistoryRow = {
  id: string; from_department_id: string | null; from_department_name: string | null; to_department_id: string;
  to_department_name: string; changed_by: string | null; changed_at: Date; changed_key: string; reason: string | null;
};
const historySchema = z.object({
  id: z.string(), fromDepartment: z.object({ id: z.string(), name: z.string() }).nullable(),
  toDepartment: z.object({ id: z.string(), name: z.string() }), changedBy: z.string().nullable(), changedAt: z.string(), reason: z.string().nullable(),
});

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** Today's date (YYYY-MM-DD) in an IANA time zone: at 18:00 in Los Angeles it is already tomorrow in UTC. */
export function todayIn(timeZone: string, now = new Date()): string {
  let f = dayFormats.get(timeZone);
  if (f === undefined) dayFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(now);
}

/** Default window of the shifts read when from/to are missing: four weeks. */
const DEFAULT_WINDOW_DAYS = 27;
const MAX_WINDOW_DAYS = 366;
const DAY_MS = 86_400_000;
const addDays = (iso: string, days: number): string => new Date(Date.parse(`${iso}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

type ShiftRow = {
  id: string; date: string; starts_at: Date; ends_at: Date; status: string; source: string; department_id: string;
  schedule_id: string; schedule_status: string; template_id: string; template_code: string; template_name: string;
};
const shiftSchema = z.object({
  id: z.string(), date: z.string(), startsAt: z.string(), endsAt: z.string(), status: z.string(), source: z.string(), departmentId: z.string(),
  schedule: z.object({ id: z.string(), status: z.string() }), template: z.object({ id: z.string(), code: z.string(), name: z.string() }),
});

export const employeeReadRoutes = [
  route({
    method: 'get',
    path: '/v1/employees/:id',
    summary: 'Get one employee (admins; managers within their subtree; employees themselves — others are 404 to them)',
    tag: 'employees',
    scope: 'employees:read',
    params: idsParams,
    responses: { 200: { description: 'The employee', schema: employeeSchema }, 403: { description: 'Outside your subtree' }, 404: { description: 'Not found' } },
    handler: async ({ req, res, params, principal, deps }) => {
      // The employee's department is read first so that the entry also depends on dept:D: the
      // response carries the department's name, and a rename bumps dept:D (not emp:E).
      const target = authorize(principal, await loadTarget({ query: deps.db.read }, params.id), 'read');
      const read = {
        ns: 'employees' as const,
        key: cacheKey('employees.get', principal, params.id),
        scopes: [scopes.employee(target.id), scopes.department(target.department_id), ...viewerScopes(principal)],
      };
      await sendCached(req, res, deps.cache, read, async () => {
        const r = await deps.db.read<Target & { json: string }>(
          `SELECT ${TARGET_COLUMNS}, e.api_json AS json FROM employees e JOIN departments d ON d.id = e.department_id WHERE e.id = $1`, [params.id]);
        return new JsonText(authorize(principal, r.rows[0], 'read').json);
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/employees/:id/department-history',
    summary: 'Department moves of one employee, newest first (who may read the employee may read this)',
    tag: 'employees',
    scope: 'employees:read',
    params: idsParams,
    query: z.strictObject({ limit: limitParam, cursor: cursorParam }),
    responses: { 200: { description: 'A page of moves', schema: pageSchema(historySchema) } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      const after = query.cursor ? decodeCursor(query.cursor, 'history', 2) : undefined;
      const read = { ns: 'employees' as const, key: cacheKey('employees.history', principal, params.id, query), scopes: [scopes.employee(params.id), ...viewerScopes(principal)] };
      await sendCached(req, res, deps.cache, read, async () => {
        const k = keysetClause(HISTORY_SORT, after, 2);
        // One round trip: the employee (for authorization: none → 404) and, beside it, the page
        // of moves — served by dept_history_employee (employee_id, changed_at DESC, id DESC).
        const r = await deps.db.read<TargetColumns & Partial<HistoryRow>>(
          `SELECT t.id AS target_id, t.role AS target_role, t.department_id AS target_department_id,
                  t.path AS target_path, t.active AS target_active, h.*
             FROM (${TARGET_SQL}) t
             LEFT JOIN LATERAL (
               SELECT h.id, h.from_department_id, fd.name AS from_department_name, h.to_department_id,
                      td.name AS to_department_name, h.changed_by, h.changed_at, h.changed_at::text AS changed_key, h.reason
                 FROM department_assignment_history h
                 LEFT JOIN departments fd ON fd.id = h.from_department_id
                 JOIN departments td ON td.id = h.to_department_id
                WHERE h.employee_id = t.id AND ${k.where} ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}) h ON TRUE
            ORDER BY ${k.orderBy}`, [params.id, ...k.params]);
        const t = r.rows[0];
        authorize(principal, t && { id: t.target_id, role: t.target_role, department_id: t.target_department_id, path: t.target_path, active: t.target_active }, 'read');
        const moves = r.rows.filter((row): row is TargetColumns & HistoryRow => row.id != null);
        const page = pageOf(moves, query.limit, (row) => [row.changed_key, row.id], 'history');
        return {
          data: page.data.map((h) => ({
            id: h.id,
            fromDepartment: h.from_department_id ? { id: h.from_department_id, name: h.from_department_name! } : null,
            toDepartment: { id: h.to_department_id, name: h.to_department_name },
            changedBy: h.changed_by, changedAt: h.changed_at.toISOString(), reason: h.reason,
          })),
          nextCursor: page.nextCursor,
        };
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/employees/:id/shifts',
    summary: `Shifts of one employee between from and to (inclusive dates; default: today in the employee's department's time zone and the next ${DEFAULT_WINDOW_DAYS} days; `
      + `at most ${MAX_WINDOW_DAYS} days), in date order. Employees see their own shifts of published schedules only; managers those of `
      + 'employees in their subtree from draft and published schedules; archived schedules are left out.',
    tag: 'employees',
    scope: 'employees:read',
    params: idsParams,
    query: z.strictObject({ from: calendarDate.optional(), to: calendarDate.optional() }),
    responses: { 200: { description: 'The shifts in the window', schema: z.object({ from: z.string(), to: z.string(), data: z.array(shiftSchema) }) } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      // The target's department is part of the cache scopes, so it is read before the cache; its
      // time zone says which day "today" is for the default window.
      const target = authorize(principal, await loadTarget({ query: deps.db.read }, params.id), 'read');
      const from = query.from ?? (query.to ? addDays(query.to, -DEFAULT_WINDOW_DAYS) : todayIn(target.timezone));
      const to = query.to ?? addDays(from, DEFAULT_WINDOW_DAYS);
      // Defaults computed near year 0 or 9999 leave the 4-digit range: refuse rather than send Postgres a bad date.
      if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to) || from < '0001-01-01') {
        throw new AppError('validation_failed', 'date out of range', { details: [{ field: query.from ? 'query.from' : 'query.to', message: 'out of range' }] });
      }
      if (to < from) throw new AppError('validation_failed', 'to must not be before from', { details: [{ field: 'query.to', message: 'must not be before from' }] });
      if ((Date.parse(to) - Date.parse(from)) / DAY_MS >= MAX_WINDOW_DAYS) {
        throw new AppError('validation_failed', `the window may span at most ${MAX_WINDOW_DAYS} days`, { details: [{ field: 'query.to', message: `at most ${MAX_WINDOW_DAYS} days after from` }] });
      }
      const publishedOnly = principal.role === 'employee';
      const read = {
        ns: 'schedules' as const,
        key: cacheKey('employees.shifts', principal, params.id, from, to),
        scopes: [scopes.employee(target.id), scopes.department(target.department_id)],
        // Without from, the window starts today: the URL alone does not name the response.
        hot: query.from !== undefined || query.to !== undefined,
      };
      await sendCached(req, res, deps.cache, read, async () => {
        // Served by shifts_employee_date (employee_id, date), pruned to the months of the window.
        const r = await deps.db.read<ShiftRow>(
          `SELECT s.id, s.date::text AS date, s.starts_at, s.ends_at, s.status, s.source, s.department_id,
                  s.schedule_id, sc.status AS schedule_status, s.template_id, t.code AS template_code, t.name AS template_name
             FROM shifts s
             JOIN schedules sc ON sc.id = s.schedule_id
             JOIN shift_templates t ON t.id = s.template_id
            WHERE s.employee_id = $1 AND s.date BETWEEN $2::date AND $3::date
              AND ${publishedOnly ? "sc.status = 'published'" : "sc.status <> 'archived'"}
            ORDER BY s.date, s.starts_at, s.id`, [params.id, from, to]);
        return {
          from, to,
          data: r.rows.map((s) => ({
            id: s.id, date: s.date, startsAt: s.starts_at.toISOString(), endsAt: s.ends_at.toISOString(), status: s.status, source: s.source,
            departmentId: s.department_id, schedule: { id: s.schedule_id, status: s.schedule_status },
            template: { id: s.template_id, code: s.template_code, name: s.template_name },
          })),
        };
      });
    },
  }),
];
