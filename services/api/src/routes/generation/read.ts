import { z } from 'zod';
import { decodeCursor, keysetClause, pageOf, type SortColumn } from '@rota/db';
import { RUN_STATUSES } from '@rota/generation';
import type { Principal } from '../../auth/principal.ts';
import type { Deps } from '../../deps.ts';
import { forbidden, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { cursorParam, idParam, idsParams, limitParam } from '../../http/validate.ts';
import { visibleDepartments } from '../departments/index.ts';
import { RUN_COLUMNS, readRunRow, runJson, runSchema, toRun, type RunRow } from './shape.ts';
import { assertCanManage } from './submit.ts';

/** Loads a run the principal may see, or throws 404/403. */
export async function visibleRun(deps: Deps, principal: Principal, id: string): Promise<RunRow> {
  if (principal.role === 'employee') throw forbidden('employees cannot see schedule generations');
  const run = await readRunRow(deps.db, id);
  if (!run) throw notFound('generation run');
  assertCanManage(principal, run.department_path);
  return run;
}

const SORT: SortColumn[] = [{ sql: 'r.id', direction: 'desc', type: 'bigint' }];

export const readRoutes = [
  route({
    method: 'get',
    path: '/v1/schedule-generations/:id',
    summary: 'Status of a generation run (progress, queue position, best score, result summary)',
    tag: 'schedule-generations',
    scope: 'schedules:read',
    params: idsParams,
    responses: { 200: { description: 'The run', schema: runSchema }, 403: { description: 'Outside your scope' }, 404: { description: 'Unknown run' } },
    handler: async ({ params, principal, deps, res }) => {
      const run = await visibleRun(deps, principal, params.id);
      // Status changes every second while running: never cached.
      res.setHeader('Cache-Control', 'no-store');
      return { json: await runJson(run, deps.generation) };
    },
  }),
  route({
    method: 'get',
    path: '/v1/schedule-generations',
    summary: 'List generation runs, newest first',
    tag: 'schedule-generations',
    scope: 'schedules:read',
    query: z.strictObject({
      departmentId: idParam.optional(),
      status: z.enum(RUN_STATUSES).optional(),
      limit: limitParam,
      cursor: cursorParam,
    }),
    responses: { 200: { description: 'A page of runs', schema: z.object({ data: z.array(runSchema), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal, deps }) => {
      if (principal.role === 'employee') throw forbidden('employees cannot see schedule generations');
      const sortKey = `runs:${query.departmentId ?? ''}:${query.status ?? ''}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 1) : undefined;
      const vis = visibleDepartments(principal, 1);
      const params: unknown[] = [...vis.params];
      const where = [vis.sql];
      if (query.departmentId) { params.push(query.departmentId); where.push(`r.department_id = $${params.length}`); }
      if (query.status) { params.push(query.status); where.push(`r.status = $${params.length}`); }
      const k = keysetClause(SORT, after, params.length + 1);
      params.push(...k.params);
      const r = await deps.db.read<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM generation_runs r JOIN departments d ON d.id = r.department_id
          WHERE ${where.join(' AND ')} AND ${k.where} ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`, params);
      const page = pageOf(r.rows, query.limit, (row) => [row.id], sortKey);
      // Queue positions are per-run Redis lookups: the list leaves them out (GET one run has it).
      return { json: { data: page.data.map((row) => toRun(row)), nextCursor: page.nextCursor } };
    },
  }),
];
