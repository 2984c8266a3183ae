import { z } from 'zod';
import { scopes } from '@rota/cache';
import { decodeCursor, keysetClause, pageOf, type SortColumn } from '@rota/db';
import type { Principal } from '../../auth/principal.ts';
import { cacheKey, sendCached } from '../../http/cached.ts';
import { AppError, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { boolParam, cursorParam, idParam, idsParams, isoDate, limitParam } from '../../http/validate.ts';
import { authorizeDepartment, departmentRefColumns, departmentRefOf, type DepartmentRefColumns } from '../templates/department.ts';
import { authorizeSchedule, knownDepartmentOf, loadSchedule, type ScheduleRef } from './access.ts';
import {
  COVERAGE_AGGREGATE, SCHEDULE_COLUMNS, coverageSchema, scheduleSchema, toCoverage, toSchedule,
  type CoverageRow, type ScheduleRow,
} from './shape.ts';

/** A schedule row beside the department a list was asked for (columns null on an empty page). */
type ScopedScheduleRow = DepartmentRefColumns & { [K in keyof ScheduleRow]: ScheduleRow[K] | null };

const LIST_SORT: SortColumn[] = [
  { sql: 's.period_start', direction: 'desc', type: 'date' },
  { sql: 's.id', direction: 'desc', type: 'bigint' },
];
const SHIFT_SORT: SortColumn[] = [
  { sql: 'sh.date', direction: 'asc', type: 'date' },
  { sql: 'sh.id', direction: 'asc', type: 'bigint' },
];

const listQuery = z.strictObject({
  departmentId: idParam.optional(),
  includeSubdepartments: boolParam.optional(),
  status: z.enum(['draft', 'published', 'archived']).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  limit: limitParam,
  cursor: cursorParam,
});

const shiftSchema = z.object({
  id: z.string(), scheduleId: z.string(), date: z.string(), employeeId: z.string().nullable(), employeeName: z.string().nullable(),
  templateId: z.string(), templateCode: z.string(), startsAt: z.string(), endsAt: z.string(),
  status: z.enum(['scheduled', 'confirmed', 'cancelled']), source: z.enum(['generated', 'manual']), openSlot: z.number(),
});
type ShiftListRow = {
  id: string; date: string; employee_id: string | null; employee_name: string | null; template_id: string; code: string;
  starts_at: Date; ends_at: Date; status: 'scheduled' | 'confirmed' | 'cancelled'; source: 'generated' | 'manual'; open_slot: number;
};

/** Which list scope a schedule list depends on, by filter and principal. */
function listScope(p: Principal, departmentId: string | undefined, subtree: boolean): string {
  if (departmentId) return subtree ? scopes.subtree(departmentId) : scopes.department(departmentId);
  if (p.role === 'admin') return scopes.all;
  if (p.role === 'manager') return p.departmentId ? scopes.subtree(p.departmentId) : scopes.all;
  return scopes.department(p.departmentId ?? '0');
}

export const scheduleReadRoutes = [
  route({
    method: 'get',
    path: '/v1/schedules',
    summary: 'List schedules (periods overlapping from..to), newest period first',
    tag: 'schedules',
    scope: 'schedules:read',
    query: listQuery,
    responses: { 200: { description: 'A page of schedules', schema: z.object({ data: z.array(scheduleSchema), nextCursor: z.string().nullable() }) } },
    handler: async ({ req, res, query, principal, deps }) => {
      if (query.from && query.to && query.to < query.from) {
        throw new AppError('validation_failed', 'to must not be before from', { details: [{ field: 'query.to', message: 'must not be before from' }] });
      }
      const subtree = query.includeSubdepartments ?? false;
      const sortKey = `period:${query.departmentId ?? ''}:${subtree}:${query.status ?? ''}:${query.from ?? ''}:${query.to ?? ''}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 2) : undefined;
      const read = { ns: 'schedules' as const, key: cacheKey('schedules.list', principal, query), scopes: [listScope(principal, query.departmentId, subtree)] };
      await sendCached(req, res, deps.cache, read, async () => {
        const values: unknown[] = [];
        const where: string[] = [];
        const add = (sql: (n: string) => string, v: unknown): void => { values.push(v); where.push(sql(`$${values.length}`)); };
        // With departmentId, the department (for authorization: none → 404) comes back beside the
        // page, as `dep` of one query ($1), instead of a round trip of its own.
        if (query.departmentId) {
          values.push(query.departmentId);
          where.push(subtree ? 'd.path <@ dep.path' : 's.department_id = dep.id');
        }
        // What the principal may see at all (also when departmentId narrowed it already).
        if (principal.role === 'manager') add((n) => `d.path <@ ${n}::ltree`, principal.departmentPath ?? '0');
        if (principal.role === 'employee') {
          add((n) => `s.department_id = ${n}`, principal.departmentId ?? '0');
          where.push(`s.status = 'published'`);
        }
        if (query.status) add((n) => `s.status = ${n}`, query.status);
        if (query.from) add((n) => `s.period_end >= ${n}::date`, query.from);
        if (query.to) add((n) => `s.period_start <= ${n}::date`, query.to);
        const k = keysetClause(LIST_SORT, after, values.length + 1);
        values.push(...k.params);
        const page = `SELECT ${SCHEDULE_COLUMNS} FROM schedules s JOIN departments d ON d.id = s.department_id
            WHERE ${where.length ? where.join(' AND ') : 'TRUE'} AND ${k.where}
            ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`;
        let rows: ScheduleRow[];
        if (query.departmentId) {
          const r = await deps.db.read<ScopedScheduleRow>(
            `SELECT ${departmentRefColumns('dep')}, x.*
               FROM departments dep LEFT JOIN LATERAL (${page}) x ON TRUE
              WHERE dep.id = $1 ORDER BY x.period_start DESC, x.id DESC`, values);
          authorizeDepartment(principal, departmentRefOf(r.rows[0]), 'read');
          rows = r.rows.filter((row): row is ScopedScheduleRow & ScheduleRow => row.id != null);
        } else {
          rows = (await deps.db.read<ScheduleRow>(page, values)).rows;
        }
        const result = pageOf(rows, query.limit, (row) => [row.period_start, row.id], sortKey);
        return { data: result.data.map(toSchedule), nextCursor: result.nextCursor };
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/schedules/:id',
    summary: 'One schedule with its score and the coverage of its department over the period',
    tag: 'schedules',
    scope: 'schedules:read',
    params: idsParams,
    responses: {
      200: { description: 'The schedule; coverage sums department_daily_stats over the period: the plan of each day (the published schedule covering it, else the newest draft)', schema: scheduleSchema.extend({ coverage: coverageSchema }) },
      404: { description: 'Not found (or not visible to an employee)' },
    },
    handler: async ({ req, res, params, principal, deps }) => {
      let dept = knownDepartmentOf(params.id);
      if (!dept) dept = (await loadSchedule({ query: deps.db.read }, params.id))?.department_id;
      if (!dept) throw notFound('schedule');
      const read = { ns: 'schedules' as const, key: cacheKey('schedules.get', principal, params.id), scopes: [scopes.schedule(params.id), scopes.department(dept)] };
      await sendCached(req, res, deps.cache, read, async () => {
        const r = await deps.db.read<ScheduleRow & CoverageRow & { path: string }>(
          `SELECT ${SCHEDULE_COLUMNS}, d.path::text AS path, cov.*
             FROM schedules s JOIN departments d ON d.id = s.department_id
             CROSS JOIN LATERAL (SELECT ${COVERAGE_AGGREGATE} FROM department_daily_stats ds
                                  WHERE ds.department_id = s.department_id AND ds.date BETWEEN s.period_start AND s.period_end) cov
            WHERE s.id = $1`, [params.id]);
        const row = authorizeSchedule(principal, r.rows[0], 'read');
        return { ...toSchedule(row), coverage: toCoverage(row) };
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/schedules/:id/shifts',
    summary: 'Shifts of a schedule by date, with employee name and template code',
    tag: 'schedules',
    scope: 'schedules:read',
    params: idsParams,
    query: z.strictObject({ employeeId: idParam.optional(), from: isoDate.optional(), to: isoDate.optional(), status: z.enum(['scheduled', 'confirmed', 'cancelled']).optional(), limit: limitParam, cursor: cursorParam }),
    responses: { 200: { description: 'A page of shifts', schema: z.object({ data: z.array(shiftSchema), nextCursor: z.string().nullable() }) } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      const sortKey = `date:${query.employeeId ?? ''}:${query.from ?? ''}:${query.to ?? ''}:${query.status ?? ''}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 2) : undefined;
      let ref: ScheduleRef | undefined;
      let dept = knownDepartmentOf(params.id);
      if (!dept) {
        ref = await loadSchedule({ query: deps.db.read }, params.id);
        dept = ref?.department_id;
      }
      if (!dept) throw notFound('schedule');
      const read = { ns: 'schedules' as const, key: cacheKey('schedules.shifts', principal, params.id, query), scopes: [scopes.schedule(params.id), scopes.department(dept)] };
      await sendCached(req, res, deps.cache, read, async () => {
        const s = authorizeSchedule(principal, ref ?? (await loadSchedule({ query: deps.db.read }, params.id)), 'read');
        // Bounding the dates by the period lets Postgres prune the monthly partitions.
        const from = query.from && query.from > s.period_start ? query.from : s.period_start;
        const to = query.to && query.to < s.period_end ? query.to : s.period_end;
        const values: unknown[] = [s.id, from, to, query.employeeId ?? null, query.status ?? null];
        const k = keysetClause(SHIFT_SORT, after, values.length + 1);
        values.push(...k.params);
        const r = await deps.db.read<ShiftListRow>(
          `SELECT sh.id, sh.date::text AS date, sh.employee_id, e.first_name || ' ' || e.last_name AS employee_name,
                  sh.template_id, t.code, sh.starts_at, sh.ends_at, sh.status, sh.source, sh.open_slot
             FROM shifts sh
             JOIN shift_templates t ON t.id = sh.template_id
             LEFT JOIN employees e ON e.id = sh.employee_id
            WHERE sh.schedule_id = $1 AND sh.date BETWEEN $2 AND $3
              AND ($4::bigint IS NULL OR sh.employee_id = $4) AND ($5::text IS NULL OR sh.status = $5)
              AND ${k.where}
            ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`, values);
        const page = pageOf(r.rows, query.limit, (row) => [row.date, row.id], sortKey);
        return {
          data: page.data.map((x) => ({
            id: x.id, scheduleId: s.id, date: x.date, employeeId: x.employee_id, employeeName: x.employee_name,
            templateId: x.template_id, templateCode: x.code, startsAt: x.starts_at.toISOString(), endsAt: x.ends_at.toISOString(),
            status: x.status, source: x.source, openSlot: x.open_slot,
          })),
          nextCursor: page.nextCursor,
        };
      });
    },
  }),
];
