import { z } from 'zod';
import { decodeCursor, keysetClause, pageOf, type SortColumn } from '@rota/db';
import { AppError, forbidden, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { cursorParam, idParam, idsParams, limitParam } from '../../http/validate.ts';
import { employeeWrite, sendEmployeeRead } from './access.ts';
import { calendarDate, NO_NUL, noNul, pageSchema } from './shape.ts';

const STATUSES = ['requested', 'approved', 'rejected'] as const;
const MAX_DAYS = 366;
const SORT: SortColumn[] = [
  { sql: 'o.start_date', direction: 'desc', type: 'date' },
  { sql: 'o.id', direction: 'desc', type: 'bigint' },
];

type Row = { id: string; start_date: string; end_date: string; status: string; reason: string | null; decided_by: string | null; decided_at: Date | null; created_at: Date };
const COLUMNS = 'o.id, o.start_date::text AS start_date, o.end_date::text AS end_date, o.status, o.reason, o.decided_by, o.decided_at, o.created_at';
const timeOffSchema = z.object({
  id: z.string(), startDate: z.string(), endDate: z.string(), status: z.enum(STATUSES), reason: z.string().nullable(),
  decidedBy: z.string().nullable(), decidedAt: z.string().nullable(), createdAt: z.string(),
});
const toTimeOff = (r: Row): z.infer<typeof timeOffSchema> => ({
  id: r.id, startDate: r.start_date, endDate: r.end_date, status: r.status as (typeof STATUSES)[number], reason: r.reason,
  decidedBy: r.decided_by, decidedAt: r.decided_at?.toISOString() ?? null, createdAt: r.created_at.toISOString(),
});

function checkSpan(start: string, end: string): void {
  if (end < start) throw new AppError('validation_failed', 'endDate must not be before startDate', { details: [{ field: 'body.endDate', message: 'must not be before startDate' }] });
  if ((Date.parse(end) - Date.parse(start)) / 86_400_000 >= MAX_DAYS) {
    throw new AppError('validation_failed', `time off may span at most ${MAX_DAYS} days`, { details: [{ field: 'body.endDate', message: `at most ${MAX_DAYS} days after startDate` }] });
  }
}

const reason = z.string().trim().min(1, 'must not be empty').max(500).refine(noNul, NO_NUL);

export const timeOffRoutes = [
  route({
    method: 'get',
    path: '/v1/employees/:id/time-off',
    summary: 'Time off of one employee, latest start first; filters status and a date window (from/to: overlapping entries)',
    tag: 'employees',
    scope: 'employees:read',
    params: idsParams,
    query: z.strictObject({ status: z.enum(STATUSES).optional(), from: calendarDate.optional(), to: calendarDate.optional(), limit: limitParam, cursor: cursorParam }),
    responses: { 200: { description: 'A page of time off', schema: pageSchema(timeOffSchema) } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      const sortKey = `timeoff:${query.status ?? ''}:${query.from ?? ''}:${query.to ?? ''}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 2) : undefined;
      await sendEmployeeRead({ req, res, principal, deps }, params.id, 'employees.time-off', query, async () => {
        const values: unknown[] = [params.id, query.status ?? null, query.from ?? null, query.to ?? null];
        const k = keysetClause(SORT, after, values.length + 1);
        const r = await deps.db.read<Row>(
          `SELECT ${COLUMNS} FROM time_off o
            WHERE o.employee_id = $1 AND ($2::text IS NULL OR o.status = $2) AND ($3::date IS NULL OR o.end_date >= $3)
              AND ($4::date IS NULL OR o.start_date <= $4) AND ${k.where}
            ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`, [...values, ...k.params]);
        const page = pageOf(r.rows, query.limit, (x) => [x.start_date, x.id], sortKey);
        return { data: page.data.map(toTimeOff), nextCursor: page.nextCursor };
      });
    },
  }),
  route({
    method: 'post',
    path: '/v1/employees/:id/time-off',
    summary: 'Request time off (status requested; the employee themselves, or managers/admins in scope)',
    tag: 'employees',
    scope: 'employees:write',
    params: idsParams,
    body: z.strictObject({ startDate: calendarDate, endDate: calendarDate, reason: reason.optional() }),
    responses: { 201: { description: 'Requested', schema: timeOffSchema } },
    handler: async ({ params, body, principal, deps }) => {
      checkSpan(body.startDate, body.endDate);
      const row = await employeeWrite(deps, principal, params.id, 'own', 'employee.time_off_changed', async (q, t) => {
        const r = await q.query<Row>(
          `INSERT INTO time_off AS o (employee_id, start_date, end_date, reason) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
          [t.id, body.startDate, body.endDate, body.reason ?? null]);
        return { result: r.rows[0]!, payload: { timeOffId: r.rows[0]!.id, status: 'requested' } };
      });
      return { status: 201, json: toTimeOff(row), headers: { Location: `/v1/employees/${params.id}/time-off/${row.id}` } };
    },
  }),
  route({
    method: 'patch',
    path: '/v1/employees/:id/time-off/:timeOffId',
    summary: 'Decide (status approved | rejected | requested: admins, managers for their subtree; records decidedBy/decidedAt) '
      + 'or edit dates/reason (the employee while still requested; admins, and managers for role-employee staff of their subtree, any time)',
    tag: 'employees',
    scope: 'employees:write',
    params: z.strictObject({ id: idParam, timeOffId: idParam }),
    body: z.strictObject({ status: z.enum(STATUSES).optional(), startDate: calendarDate.optional(), endDate: calendarDate.optional(), reason: reason.nullable().optional() })
      .refine((b) => Object.keys(b).length > 0, 'send at least one field'),
    responses: { 200: { description: 'Updated', schema: timeOffSchema }, 403: { description: 'Not allowed' }, 409: { description: 'Already decided' } },
    handler: async ({ params, body, principal, deps }) => {
      const deciding = body.status !== undefined;
      const row = await employeeWrite(deps, principal, params.id, deciding ? 'manage' : 'own', 'employee.time_off_changed', async (q, t) => {
        const cur = (await q.query<Row>(`SELECT ${COLUMNS} FROM time_off o WHERE o.id = $1 AND o.employee_id = $2 FOR UPDATE`, [params.timeOffId, t.id])).rows[0];
        if (!cur) throw notFound('time off');
        const privileged = principal.role === 'admin' || (principal.role === 'manager' && principal.employeeId !== t.id);
        if (!privileged && cur.status !== 'requested') throw new AppError('conflict', 'time off that has been decided can no longer be edited');
        if (!privileged && deciding) throw forbidden('only managers and admins decide time off');
        const start = body.startDate ?? cur.start_date;
        const end = body.endDate ?? cur.end_date;
        checkSpan(start, end);
        const r = await q.query<Row>(
          `UPDATE time_off AS o SET start_date = $3, end_date = $4, reason = CASE WHEN $5::boolean THEN $6 ELSE reason END,
                  status = coalesce($7, status),
                  decided_by = CASE WHEN $7 IS NULL THEN decided_by WHEN $7 = 'requested' THEN NULL ELSE $8::bigint END,
                  decided_at = CASE WHEN $7 IS NULL THEN decided_at WHEN $7 = 'requested' THEN NULL ELSE now() END
            WHERE o.id = $1 AND o.employee_id = $2 RETURNING ${COLUMNS}`,
          [params.timeOffId, t.id, start, end, body.reason !== undefined, body.reason ?? null, body.status ?? null, principal.employeeId]);
        return { result: r.rows[0]!, payload: { timeOffId: params.timeOffId, status: r.rows[0]!.status } };
      });
      return { json: toTimeOff(row) };
    },
  }),
];
