import { z } from 'zod';
import { decodeCursor, keysetClause, pageOf, type SortColumn } from '@rota/db';
import { AppError, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { cursorParam, idParam, idsParams, limitParam } from '../../http/validate.ts';
import { employeeWrite, sendEmployeeRead } from './access.ts';
import { calendarDate, pageSchema } from './shape.ts';

const SORT: SortColumn[] = [
  { sql: 'x.date', direction: 'asc', type: 'date' },
  { sql: 'x.id', direction: 'asc', type: 'bigint' },
];
type Row = { id: string; date: string; kind: 'on' | 'off'; template_id: string | null; template_code: string | null; weight: number; created_at: Date };
const COLUMNS = 'x.id, x.date::text AS date, x.kind, x.template_id, t.code AS template_code, x.weight, x.created_at';
const requestSchema = z.object({
  id: z.string(), date: z.string(), kind: z.enum(['on', 'off']), template: z.object({ id: z.string(), code: z.string() }).nullable(),
  weight: z.number(), createdAt: z.string(),
});
const toRequest = (r: Row): z.infer<typeof requestSchema> => ({
  id: r.id, date: r.date, kind: r.kind, template: r.template_id ? { id: r.template_id, code: r.template_code! } : null, weight: r.weight, createdAt: r.created_at.toISOString(),
});

export const shiftRequestRoutes = [
  route({
    method: 'get',
    path: '/v1/employees/:id/shift-requests',
    summary: "An employee's wishes to work (on) or not work (off) dates, by date; optional from/to",
    tag: 'employees',
    scope: 'employees:read',
    params: idsParams,
    query: z.strictObject({ from: calendarDate.optional(), to: calendarDate.optional(), limit: limitParam, cursor: cursorParam }),
    responses: { 200: { description: 'A page of requests', schema: pageSchema(requestSchema) } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      const sortKey = `requests:${query.from ?? ''}:${query.to ?? ''}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 2) : undefined;
      await sendEmployeeRead({ req, res, principal, deps }, params.id, 'employees.shift-requests', query, async () => {
        const values: unknown[] = [params.id, query.from ?? null, query.to ?? null];
        const k = keysetClause(SORT, after, values.length + 1);
        // Served by shift_requests_employee (employee_id, date).
        const r = await deps.db.read<Row>(
          `SELECT ${COLUMNS} FROM shift_requests x LEFT JOIN shift_templates t ON t.id = x.template_id
            WHERE x.employee_id = $1 AND ($2::date IS NULL OR x.date >= $2) AND ($3::date IS NULL OR x.date <= $3) AND ${k.where}
            ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`, [...values, ...k.params]);
        const page = pageOf(r.rows, query.limit, (x) => [x.date, x.id], sortKey);
        return { data: page.data.map(toRequest), nextCursor: page.nextCursor };
      });
    },
  }),
  route({
    method: 'post',
    path: '/v1/employees/:id/shift-requests',
    summary: 'Add a shift request (soft wish; weight 1..1000, default 1); templateId must be a template of the employee\'s department',
    tag: 'employees',
    scope: 'employees:write',
    params: idsParams,
    body: z.strictObject({
      date: calendarDate, kind: z.enum(['on', 'off']), templateId: idParam.optional(),
      weight: z.number().int('must be an integer').min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
    }),
    responses: { 201: { description: 'Created', schema: requestSchema } },
    handler: async ({ params, body, principal, deps }) => {
      const row = await employeeWrite(deps, principal, params.id, 'own', 'employee.requests_changed', async (q, t) => {
        if (body.templateId) {
          const ok = await q.query('SELECT 1 FROM shift_templates WHERE id = $1 AND department_id = $2', [body.templateId, t.department_id]);
          if (!ok.rowCount) throw new AppError('validation_failed', "template is not one of the employee's department", { details: [{ field: 'body.templateId', message: "not a template of the employee's department" }] });
        }
        const r = await q.query<Row>(
          `WITH x AS (INSERT INTO shift_requests (employee_id, date, kind, template_id, weight) VALUES ($1, $2, $3, $4, $5) RETURNING *)
           SELECT ${COLUMNS} FROM x LEFT JOIN shift_templates t ON t.id = x.template_id`,
          [t.id, body.date, body.kind, body.templateId ?? null, body.weight ?? 1]);
        return { result: r.rows[0]!, payload: { requestId: r.rows[0]!.id } };
      });
      return { status: 201, json: toRequest(row), headers: { Location: `/v1/employees/${params.id}/shift-requests/${row.id}` } };
    },
  }),
  route({
    method: 'delete',
    path: '/v1/employees/:id/shift-requests/:requestId',
    summary: 'Withdraw a shift request',
    tag: 'employees',
    scope: 'employees:write',
    params: z.strictObject({ id: idParam, requestId: idParam }),
    responses: { 204: { description: 'Removed' }, 404: { description: 'No such request for this employee' } },
    handler: async ({ params, principal, deps }) => {
      await employeeWrite(deps, principal, params.id, 'own', 'employee.requests_changed', async (q, t) => {
        const r = await q.query('DELETE FROM shift_requests WHERE id = $1 AND employee_id = $2', [params.requestId, t.id]);
        if (!r.rowCount) throw notFound('shift request');
        return { result: undefined, payload: { removed: params.requestId } };
      });
      return { status: 204 };
    },
  }),
];
