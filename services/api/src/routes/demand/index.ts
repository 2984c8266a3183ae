import { z } from 'zod';
import { scopes } from '@rota/cache';
import { bulkUpsert } from '@rota/db';
import { invalidationsFor, recordEvent } from '@rota/events';
import { cacheKey, sendCached } from '../../http/cached.ts';
import { AppError, type ErrorDetail } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { idParam, isoDate } from '../../http/validate.ts';
import { authorizeDepartment, checkRange, daysBetween, loadDepartment } from '../templates/department.ts';

/** Rows per PUT; 10 000 rows (~85 bytes each) also fit the default 1 MB body limit. */
export const MAX_DEMAND_ROWS = 10_000;
/** Days from the earliest to the latest row of one PUT, both included: three years. */
export const MAX_DEMAND_SPAN_DAYS = 1096;
/** Validation errors listed per request; the first ones are enough to fix a file. */
const MAX_DETAILS = 50;

const demandRow = z.strictObject({
  date: isoDate,
  templateId: idParam,
  required: z.number().int('must be an integer').min(0, 'must be at least 0').max(10_000, 'must be at most 10000'),
  weightUnder: z.number().int('must be an integer').min(0, 'must be at least 0').max(1_000_000).optional(),
  weightOver: z.number().int('must be an integer').min(0, 'must be at least 0').max(1_000_000).optional(),
});
type DemandInput = z.infer<typeof demandRow>;

const putBody = z.strictObject({
  rows: z.array(demandRow).min(1, 'send at least one row').max(MAX_DEMAND_ROWS, `at most ${MAX_DEMAND_ROWS} rows per request`),
});

const demandSchema = z.object({
  date: z.string(), templateId: z.string(), templateCode: z.string(), required: z.number(), weightUnder: z.number(), weightOver: z.number(),
});
type DemandRow = { date: string; template_id: string; code: string; required: number; weight_under: number; weight_over: number };

/** Default weights when a row leaves them out (the column defaults): a missing person costs 100, an extra one 1. */
const DEFAULT_WEIGHT_UNDER = 100;
const DEFAULT_WEIGHT_OVER = 1;

export const demandRoutes = [
  route({
    method: 'get',
    path: '/v1/departments/:id/demand',
    summary: 'Demand of a department per date and template (range of at most 366 days)',
    tag: 'demand',
    scope: 'departments:read',
    params: z.strictObject({ id: idParam }),
    query: z.strictObject({ from: isoDate, to: isoDate, templateId: idParam.optional() }),
    responses: { 200: { description: 'Demand rows ordered by date, template', schema: z.object({ data: z.array(demandSchema) }) } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      checkRange(query.from, query.to);
      const read = { ns: 'templates' as const, key: cacheKey('demand.get', principal, params.id, query), scopes: [scopes.department(params.id)] };
      await sendCached(req, res, deps.cache, read, async () => {
        authorizeDepartment(principal, await loadDepartment({ query: deps.db.read }, params.id), 'read');
        // The range is bounded (≤ 366 days × the department's templates), so the whole range is one response.
        const r = await deps.db.read<DemandRow>(
          `SELECT d.date::text AS date, d.template_id, t.code, d.required, d.weight_under, d.weight_over
             FROM demand d JOIN shift_templates t ON t.id = d.template_id
            WHERE d.department_id = $1 AND d.date BETWEEN $2 AND $3 AND ($4::bigint IS NULL OR d.template_id = $4)
            ORDER BY d.date, d.template_id`, [params.id, query.from, query.to, query.templateId ?? null]);
        return { data: r.rows.map((x) => ({ date: x.date, templateId: x.template_id, templateCode: x.code, required: x.required, weightUnder: x.weight_under, weightOver: x.weight_over })) };
      });
    },
  }),
  route({
    method: 'put',
    path: '/v1/departments/:id/demand',
    summary: 'Bulk upsert of dated demand rows spanning at most 1,096 days (omitted weights take the defaults 100/1)',
    tag: 'demand',
    scope: 'departments:write',
    params: z.strictObject({ id: idParam }),
    body: putBody,
    responses: {
      200: { description: 'Counts of the upsert', schema: z.object({ inserted: z.number(), updated: z.number(), unchanged: z.number(), from: z.string(), to: z.string() }) },
      400: { description: 'A row is invalid (field body.rows.N.x)' },
    },
    handler: async ({ params, body, principal, deps }) => {
      const rows = body.rows;
      const seen = new Map<string, number>();
      const dupes: ErrorDetail[] = [];
      let from = rows[0]!.date;
      let to = from;
      let toRow = 0;
      rows.forEach((r, i) => {
        const k = `${r.date}|${r.templateId}`;
        const first = seen.get(k);
        if (first !== undefined) dupes.push({ field: `body.rows.${i}`, message: `repeats row ${first} (same date and templateId)` });
        else seen.set(k, i);
        if (r.date < from) from = r.date;
        if (r.date > to) [to, toRow] = [r.date, i];
      });
      if (dupes.length) throw new AppError('validation_failed', `${dupes[0]!.field}: ${dupes[0]!.message}`, { details: dupes.slice(0, MAX_DETAILS) });
      // The write refreshes the daily stats of every day in between, inside this request: bounded
      // (0001-01-01 and 9999-12-31 in one file would be 3.65 million days).
      if (daysBetween(from, to) > MAX_DEMAND_SPAN_DAYS) {
        const message = `the rows of one request may span at most ${MAX_DEMAND_SPAN_DAYS} days (the earliest is ${from})`;
        throw new AppError('validation_failed', `body.rows.${toRow}.date: ${message}`, { details: [{ field: `body.rows.${toRow}.date`, message }] });
      }
      const out = await deps.db.tx(async (q) => {
        authorizeDepartment(principal, await loadDepartment(q, params.id, true), 'manage');
        const templateIds = [...new Set(rows.map((r) => r.templateId))];
        const known = await q.query<{ id: string }>('SELECT id FROM shift_templates WHERE department_id = $1 AND id = ANY($2::bigint[])', [params.id, templateIds]);
        const ok = new Set(known.rows.map((r) => r.id));
        const bad: ErrorDetail[] = [];
        rows.forEach((r, i) => { if (!ok.has(r.templateId) && bad.length < MAX_DETAILS) bad.push({ field: `body.rows.${i}.templateId`, message: `template ${r.templateId} is not a template of department ${params.id}` }); });
        if (bad.length) throw new AppError('validation_failed', `${bad[0]!.field}: ${bad[0]!.message}`, { details: bad });
        const counts = await bulkUpsert<DemandInput>(q.raw, {
          table: 'demand',
          columns: ['department_id', 'template_id', 'date', 'required', 'weight_under', 'weight_over'],
          conflictColumns: ['department_id', 'date', 'template_id'],
          onUpdateSet: 'updated_at = now()',
          rows,
          values: (r) => [params.id, r.templateId, r.date, r.required, r.weightUnder ?? DEFAULT_WEIGHT_UNDER, r.weightOver ?? DEFAULT_WEIGHT_OVER],
        });
        // Nothing changed: no stats refresh, no event (a re-sent file is a no-op).
        if (counts.inserted + counts.updated === 0) return { counts, event: undefined };
        await q.query('SELECT rota_refresh_daily_stats($1, $2, $3)', [params.id, from, to]);
        const event = await recordEvent(q, {
          type: 'demand.changed', aggregate: { type: 'department', id: params.id }, departmentIds: [params.id],
          payload: { from, to, inserted: counts.inserted, updated: counts.updated },
        });
        return { counts, event };
      });
      if (out.event) await deps.cache.invalidate(invalidationsFor(out.event));
      return { json: { ...out.counts, from, to } };
    },
  }),
];
