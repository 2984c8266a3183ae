import { z } from 'zod';
import { decodeCursor, keysetClause, pageOf, type SortColumn } from '@rota/db';
import { notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { cursorParam, idParam, idsParams, limitParam } from '../../http/validate.ts';
import { employeeWrite, sendEmployeeRead } from './access.ts';
import { pageSchema } from './shape.ts';

export const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'must be a time HH:MM');

const SORT: SortColumn[] = [
  { sql: 'a.weekday', direction: 'asc', type: 'smallint' },
  { sql: 'a.start_time', direction: 'asc', type: 'time' },
  { sql: 'a.id', direction: 'asc', type: 'bigint' },
];

type Row = { id: string; weekday: number; start_time: string; end_time: string; created_at: Date };
const availabilitySchema = z.object({
  id: z.string(), weekday: z.number().describe('ISO weekday, 1 = Monday'), startTime: z.string(),
  endTime: z.string().describe('at or before startTime: the window runs past midnight'), createdAt: z.string(),
});
const toAvailability = (r: Row): z.infer<typeof availabilitySchema> => ({
  id: r.id, weekday: r.weekday, startTime: r.start_time.slice(0, 5), endTime: r.end_time.slice(0, 5), createdAt: r.created_at.toISOString(),
});
const COLUMNS = 'a.id, a.weekday, a.start_time::text AS start_time, a.end_time::text AS end_time, a.created_at';

export const availabilityRoutes = [
  route({
    method: 'get',
    path: '/v1/employees/:id/availability',
    summary: 'Recurring weekly availability windows (none = always available), by weekday and start',
    tag: 'employees',
    scope: 'employees:read',
    params: idsParams,
    query: z.strictObject({ limit: limitParam, cursor: cursorParam }),
    responses: { 200: { description: 'A page of windows', schema: pageSchema(availabilitySchema) } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      const after = query.cursor ? decodeCursor(query.cursor, 'availability', 3) : undefined;
      await sendEmployeeRead({ req, res, principal, deps }, params.id, 'employees.availability', query, async () => {
        const k = keysetClause(SORT, after, 2);
        const r = await deps.db.read<Row>(
          `SELECT ${COLUMNS} FROM availability a WHERE a.employee_id = $1 AND ${k.where} ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`,
          [params.id, ...k.params]);
        const page = pageOf(r.rows, query.limit, (x) => [x.weekday, x.start_time, x.id], 'availability');
        return { data: page.data.map(toAvailability), nextCursor: page.nextCursor };
      });
    },
  }),
  route({
    method: 'post',
    path: '/v1/employees/:id/availability',
    summary: 'Add a weekly availability window (the employee themselves; admins; managers for role-employee staff of their subtree)',
    tag: 'employees',
    scope: 'employees:write',
    params: idsParams,
    body: z.strictObject({ weekday: z.number().int('must be an integer').min(1, 'must be 1 (Monday) to 7 (Sunday)').max(7, 'must be 1 (Monday) to 7 (Sunday)'), startTime: timeOfDay, endTime: timeOfDay }),
    responses: { 201: { description: 'Created', schema: availabilitySchema } },
    handler: async ({ params, body, principal, deps }) => {
      const row = await employeeWrite(deps, principal, params.id, 'own', 'employee.availability_changed', async (q, t) => {
        const r = await q.query<Row>(
          `INSERT INTO availability AS a (employee_id, weekday, start_time, end_time) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
          [t.id, body.weekday, body.startTime, body.endTime]);
        return { result: r.rows[0]!, payload: { added: r.rows[0]!.id } };
      });
      return { status: 201, json: toAvailability(row), headers: { Location: `/v1/employees/${params.id}/availability/${row.id}` } };
    },
  }),
  route({
    method: 'delete',
    path: '/v1/employees/:id/availability/:availabilityId',
    summary: 'Remove an availability window',
    tag: 'employees',
    scope: 'employees:write',
    params: z.strictObject({ id: idParam, availabilityId: idParam }),
    responses: { 204: { description: 'Removed' }, 404: { description: 'No such window for this employee' } },
    handler: async ({ params, principal, deps }) => {
      await employeeWrite(deps, principal, params.id, 'own', 'employee.availability_changed', async (q, t) => {
        const r = await q.query('DELETE FROM availability WHERE id = $1 AND employee_id = $2', [params.availabilityId, t.id]);
        if (!r.rowCount) throw notFound('availability window');
        return { result: undefined, payload: { removed: params.availabilityId } };
      });
      return { status: 204 };
    },
  }),
];
