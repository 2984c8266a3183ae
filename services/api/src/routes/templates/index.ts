import { z } from 'zod';
import { scopes } from '@rota/cache';
import { decodeCursor, keysetClause, pageOf, pgErrorInfo, type Queryable, type SortColumn } from '@rota/db';
import { invalidationsFor, recordEvent } from '@rota/events';
import { cacheKey, sendCached } from '../../http/cached.ts';
import { AppError, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { keepPayMultiplierHistory, repriceTemplate } from '../analytics/reprice.ts';
import { boolParam, cursorParam, idParam, limitParam } from '../../http/validate.ts';
import { authorizeDepartment, loadDepartment } from './department.ts';
import { TEMPLATE_COLUMNS, templateSchema, toTemplate, type TemplateRow } from './shape.ts';

const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d(:00)?$/, 'must be a local time HH:MM');
const code = z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'must be 1-16 letters, digits, _ or -');
// Postgres text cannot hold NUL; refuse it here rather than fail in the database.
const noNul = (v: string): boolean => !v.includes('\u0000');
const name = z.string().trim().min(1, 'must not be empty').max(100).refine(noNul, 'must not contain NUL characters');
const skills = z.array(z.string().trim().min(1).max(64).refine(noNul, 'must not contain NUL characters')).max(50);
const payMultiplier = z.number().gt(0, 'must be greater than 0').max(10, 'must be at most 10')
  .refine((v) => Math.abs(v * 1000 - Math.round(v * 1000)) < 1e-6, 'at most 3 decimals');
const successors = z.array(idParam).max(100);

const createBody = z.strictObject({
  code, name, startTime: time, endTime: time,
  requiredSkills: skills.optional(), payMultiplier: payMultiplier.optional(), active: z.boolean().optional(),
  cannotBeFollowedBy: successors.optional(),
});
const patchBody = z.strictObject({
  code: code.optional(), name: name.optional(), startTime: time.optional(), endTime: time.optional(),
  requiredSkills: skills.optional(), payMultiplier: payMultiplier.optional(), active: z.boolean().optional(),
  cannotBeFollowedBy: successors.optional(),
}).refine((b) => Object.keys(b).length > 0, 'send at least one field');

const deptParams = z.strictObject({ id: idParam });
const templateParams = z.strictObject({ id: idParam, templateId: idParam });
const SORT: SortColumn[] = [{ sql: 't.id', direction: 'asc', type: 'bigint' }];

async function selectTemplate(q: Queryable, departmentId: string, id: string): Promise<TemplateRow | undefined> {
  const r = await q.query<TemplateRow>(`SELECT ${TEMPLATE_COLUMNS} FROM shift_templates t WHERE t.department_id = $1 AND t.id = $2`, [departmentId, id]);
  return r.rows[0];
}

/** Replaces the forbidden successors of a template; every successor must be a template of the same department. */
async function writeSuccessions(q: Queryable, departmentId: string, templateId: string, to: readonly string[]): Promise<void> {
  const unique = [...new Set(to)];
  if (unique.length) {
    const found = await q.query<{ id: string }>('SELECT id FROM shift_templates WHERE department_id = $1 AND id = ANY($2::bigint[])', [departmentId, unique]);
    const known = new Set(found.rows.map((r) => r.id));
    const details = to.flatMap((id, i) => (known.has(id) || id === templateId ? [] : [{ field: `body.cannotBeFollowedBy.${i}`, message: `template ${id} is not a template of this department` }]));
    if (details.length) throw new AppError('validation_failed', details[0]!.message, { details });
  }
  await q.query('DELETE FROM template_successions WHERE from_template_id = $1', [templateId]);
  if (unique.length) {
    await q.query(
      `INSERT INTO template_successions (department_id, from_template_id, to_template_id)
       SELECT $1, $2, unnest($3::bigint[])`, [departmentId, templateId, unique]);
  }
}

export const templateRoutes = [
  route({
    method: 'get',
    path: '/v1/departments/:id/shift-templates',
    summary: 'List the shift templates of a department',
    tag: 'shift-templates',
    scope: 'departments:read',
    params: deptParams,
    query: z.strictObject({ active: boolParam.optional(), limit: limitParam, cursor: cursorParam }),
    responses: { 200: { description: 'A page of templates', schema: z.object({ data: z.array(templateSchema), nextCursor: z.string().nullable() }) } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      const sortKey = `id:${query.active ?? ''}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 1) : undefined;
      const read = { ns: 'templates' as const, key: cacheKey('templates.list', principal, params.id, query), scopes: [scopes.department(params.id)] };
      await sendCached(req, res, deps.cache, read, async () => {
        authorizeDepartment(principal, await loadDepartment({ query: deps.db.read }, params.id), 'read');
        const values: unknown[] = [params.id];
        const where = ['t.department_id = $1'];
        if (query.active !== undefined) { values.push(query.active); where.push(`t.active = $${values.length}`); }
        const k = keysetClause(SORT, after, values.length + 1);
        values.push(...k.params);
        const r = await deps.db.read<TemplateRow>(
          `SELECT ${TEMPLATE_COLUMNS} FROM shift_templates t WHERE ${where.join(' AND ')} AND ${k.where}
            ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`, values);
        const page = pageOf(r.rows, query.limit, (row) => [row.id], sortKey);
        return { data: page.data.map(toTemplate), nextCursor: page.nextCursor };
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/departments/:id/shift-templates/:templateId',
    summary: 'Get one shift template',
    tag: 'shift-templates',
    scope: 'departments:read',
    params: templateParams,
    responses: { 200: { description: 'The template', schema: templateSchema }, 404: { description: 'Not found' } },
    handler: async ({ req, res, params, principal, deps }) => {
      const read = { ns: 'templates' as const, key: cacheKey('templates.get', principal, params), scopes: [scopes.department(params.id)] };
      await sendCached(req, res, deps.cache, read, async () => {
        authorizeDepartment(principal, await loadDepartment({ query: deps.db.read }, params.id), 'read');
        const row = await selectTemplate({ query: deps.db.read }, params.id, params.templateId);
        if (!row) throw notFound('shift template');
        return toTemplate(row);
      });
    },
  }),
  route({
    method: 'post',
    path: '/v1/departments/:id/shift-templates',
    summary: 'Create a shift template',
    tag: 'shift-templates',
    scope: 'departments:write',
    params: deptParams,
    body: createBody,
    responses: { 201: { description: 'Created', schema: templateSchema }, 409: { description: 'Code already used in the department' } },
    handler: async ({ params, body, principal, deps }) => {
      const out = await deps.db.tx(async (q) => {
        authorizeDepartment(principal, await loadDepartment(q, params.id, true), 'manage');
        const r = await q.query<{ id: string }>(
          `INSERT INTO shift_templates (department_id, code, name, start_time, end_time, required_skills, pay_multiplier, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
          [params.id, body.code, body.name, body.startTime, body.endTime, [...new Set(body.requiredSkills ?? [])], body.payMultiplier ?? 1, body.active ?? true]);
        const id = r.rows[0]!.id;
        if (body.cannotBeFollowedBy) await writeSuccessions(q, params.id, id, body.cannotBeFollowedBy);
        const row = (await selectTemplate(q, params.id, id))!;
        const event = await recordEvent(q, { type: 'shift_template.created', aggregate: { type: 'shift_template', id }, departmentIds: [params.id], payload: { code: row.code } });
        return { row, event };
      });
      await deps.cache.invalidate(invalidationsFor(out.event));
      return { status: 201, json: toTemplate(out.row), headers: { Location: `/v1/departments/${params.id}/shift-templates/${out.row.id}` } };
    },
  }),
  route({
    method: 'patch',
    path: '/v1/departments/:id/shift-templates/:templateId',
    summary: 'Change a shift template (cannotBeFollowedBy replaces the whole set)',
    tag: 'shift-templates',
    scope: 'departments:write',
    params: templateParams,
    body: patchBody,
    responses: { 200: { description: 'Updated', schema: templateSchema }, 409: { description: 'Code already used in the department' } },
    handler: async ({ params, body, principal, deps }) => {
      const out = await deps.db.tx(async (q) => {
        authorizeDepartment(principal, await loadDepartment(q, params.id, true), 'manage');
        const repriceFrom = body.payMultiplier !== undefined ? await keepPayMultiplierHistory(q, params.templateId, body.payMultiplier) : undefined;
        const r = await q.query<{ id: string }>(
          `UPDATE shift_templates SET code = coalesce($3, code), name = coalesce($4, name),
                  start_time = coalesce($5::time, start_time), end_time = coalesce($6::time, end_time),
                  required_skills = coalesce($7, required_skills), pay_multiplier = coalesce($8, pay_multiplier),
                  active = coalesce($9, active)
            WHERE department_id = $1 AND id = $2 RETURNING id`,
          [params.id, params.templateId, body.code ?? null, body.name ?? null, body.startTime ?? null, body.endTime ?? null,
            body.requiredSkills ? [...new Set(body.requiredSkills)] : null, body.payMultiplier ?? null, body.active ?? null]);
        if (!r.rows[0]) throw notFound('shift template');
        if (body.cannotBeFollowedBy) await writeSuccessions(q, params.id, params.templateId, body.cannotBeFollowedBy);
        if (repriceFrom !== undefined) await repriceTemplate(q, params.id, params.templateId, repriceFrom);
        const row = (await selectTemplate(q, params.id, params.templateId))!;
        // Existing shifts keep their starts_at/ends_at: a changed template applies to shifts written from now on.
        const event = await recordEvent(q, { type: 'shift_template.updated', aggregate: { type: 'shift_template', id: row.id }, departmentIds: [params.id], payload: { changed: Object.keys(body) } });
        return { row, event };
      });
      await deps.cache.invalidate(invalidationsFor(out.event));
      return { json: toTemplate(out.row) };
    },
  }),
  route({
    method: 'delete',
    path: '/v1/departments/:id/shift-templates/:templateId',
    summary: 'Delete a shift template (409 while shifts use it: deactivate it instead)',
    tag: 'shift-templates',
    scope: 'departments:write',
    params: templateParams,
    responses: { 204: { description: 'Deleted, with its demand, successions and limits' }, 409: { description: 'Used by shifts' } },
    handler: async ({ params, principal, deps }) => {
      const events = await deps.db.tx(async (q) => {
        authorizeDepartment(principal, await loadDepartment(q, params.id, true), 'manage');
        // The template's demand goes with it (ON DELETE CASCADE): its days' stats change too.
        const demand = await q.query<{ from: string | null; to: string | null; rows: number }>(
          `SELECT min(date)::text AS "from", max(date)::text AS "to", count(*)::int AS rows
             FROM demand WHERE department_id = $1 AND template_id = $2`, [params.id, params.templateId]);
        try {
          const r = await q.query('DELETE FROM shift_templates WHERE department_id = $1 AND id = $2', [params.id, params.templateId]);
          if (!r.rowCount) throw notFound('shift template');
        } catch (e) {
          if (pgErrorInfo(e)?.code === '23503') {
            throw new AppError('conflict', 'shifts still use this template; set active=false instead', { details: [{ field: 'templateId', message: 'used by shifts' }] });
          }
          throw e;
        }
        const deleted = await recordEvent(q, { type: 'shift_template.deleted', aggregate: { type: 'shift_template', id: params.templateId }, departmentIds: [params.id] });
        const { from, to, rows } = demand.rows[0]!;
        if (from === null || to === null) return [deleted];
        await q.query('SELECT rota_refresh_daily_stats($1, $2, $3)', [params.id, from, to]);
        const changed = await recordEvent(q, {
          type: 'demand.changed', aggregate: { type: 'department', id: params.id }, departmentIds: [params.id],
          payload: { from, to, inserted: 0, updated: 0, deleted: rows, templateId: params.templateId },
        });
        return [deleted, changed];
      });
      await deps.cache.invalidate(events.flatMap(invalidationsFor));
      return { status: 204 };
    },
  }),
];
