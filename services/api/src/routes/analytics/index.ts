/**
 * Analytics read only the pre-aggregated department_daily_stats (kept fresh by every writer in
 * its own transaction) and, for head count, employees — never the shifts table. A subtree is
 * one ltree lookup (`path <@ root`).
 */
import { z } from 'zod';
import { scopes } from '@rota/cache';
import type { Principal } from '../../auth/principal.ts';
import { cacheKey, sendCached } from '../../http/cached.ts';
import { forbidden } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { boolParam, idParam, isoDate } from '../../http/validate.ts';
import { COVERAGE_AGGREGATE, coverageSchema, toCoverage, type CoverageRow } from '../schedules/shape.ts';
import { authorizeDepartment, checkRange, departmentRefColumns, departmentRefOf, loadDepartment, type DepartmentRefColumns } from '../templates/department.ts';

const MAX_DAYS = 366;

const overviewSchema = coverageSchema.extend({
  from: z.string(), to: z.string(), departmentId: z.string().nullable(),
  headCount: z.number().describe('active employees in scope now'),
});
const dailySchema = z.object({
  departmentId: z.string(), includeSubdepartments: z.boolean(),
  data: z.array(z.object({
    date: z.string(), scheduledHours: z.number(), labourCost: z.string(), scheduledHeadCount: z.number(), shiftCount: z.number(),
    openShifts: z.number(), demandSlots: z.number(), coveredSlots: z.number(), understaffedSlots: z.number(),
    coveragePercent: z.number().nullable(), overtimeHours: z.number(),
  })),
});

function denyEmployees(p: Principal): void {
  if (p.role === 'employee') throw forbidden('analytics are for managers and admins');
}

type DailyRow = CoverageRow & { date: string; head_count: string };

export const analyticsRoutes = [
  route({
    method: 'get',
    path: '/v1/analytics/overview',
    summary: 'Head count, hours, cost, coverage, understaffing and overtime over a date range (a department subtree or everything visible)',
    tag: 'analytics',
    scope: 'analytics:read',
    query: z.strictObject({ from: isoDate, to: isoDate, departmentId: idParam.optional() }),
    responses: { 200: { description: 'Totals over the range', schema: overviewSchema } },
    handler: async ({ req, res, query, principal, deps }) => {
      checkRange(query.from, query.to, MAX_DAYS);
      denyEmployees(principal);
      const root = query.departmentId ?? (principal.role === 'manager' ? principal.departmentId ?? undefined : undefined);
      const scope = root ? scopes.subtree(root) : scopes.all;
      const read = { ns: 'analytics' as const, key: cacheKey('analytics.overview', principal, query), scopes: [scope] };
      await sendCached(req, res, deps.cache, read, async () => {
        if (query.departmentId) {
          // The department (authorization: none → 404) and the totals of its subtree, one query.
          const r = await deps.db.read<CoverageRow & { head_count: string } & DepartmentRefColumns>(
            `WITH dep AS (SELECT id, path, timezone, active FROM departments WHERE id = $3),
                  scope AS (SELECT d.id FROM departments d JOIN dep ON d.path <@ dep.path)
             SELECT ${departmentRefColumns('dep')},
                    (SELECT count(*) FROM employees e WHERE e.active AND e.department_id IN (SELECT id FROM scope))::text AS head_count,
                    agg.*
               FROM dep CROSS JOIN LATERAL (
                 SELECT ${COVERAGE_AGGREGATE} FROM department_daily_stats ds
                  WHERE ds.department_id IN (SELECT id FROM scope) AND ds.date BETWEEN $1 AND $2) agg`,
            [query.from, query.to, query.departmentId]);
          const row = r.rows[0];
          authorizeDepartment(principal, departmentRefOf(row), 'manage');
          return { from: query.from, to: query.to, departmentId: query.departmentId, headCount: Number(row!.head_count), ...toCoverage(row!) };
        }
        const path = principal.role === 'manager' ? principal.departmentPath ?? '0' : null;
        const r = await deps.db.read<CoverageRow & { head_count: string }>(
          `WITH scope AS (SELECT d.id FROM departments d WHERE $3::ltree IS NULL OR d.path <@ $3::ltree)
           SELECT (SELECT count(*) FROM employees e WHERE e.active AND e.department_id IN (SELECT id FROM scope))::text AS head_count,
                  ${COVERAGE_AGGREGATE}
             FROM department_daily_stats ds
            WHERE ds.department_id IN (SELECT id FROM scope) AND ds.date BETWEEN $1 AND $2`,
          [query.from, query.to, path]);
        const row = r.rows[0]!;
        return { from: query.from, to: query.to, departmentId: query.departmentId ?? null, headCount: Number(row.head_count), ...toCoverage(row) };
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/analytics/departments/:id/daily',
    summary: 'Per-day figures of a department (and by default its subtree), every day of the range',
    tag: 'analytics',
    scope: 'analytics:read',
    params: z.strictObject({ id: idParam }),
    query: z.strictObject({ from: isoDate, to: isoDate, includeSubdepartments: boolParam.default(true) }),
    responses: { 200: { description: 'One row per day (zeros where nothing is planned)', schema: dailySchema } },
    handler: async ({ req, res, params, query, principal, deps }) => {
      checkRange(query.from, query.to, MAX_DAYS);
      denyEmployees(principal);
      const scope = query.includeSubdepartments ? scopes.subtree(params.id) : scopes.department(params.id);
      const read = { ns: 'analytics' as const, key: cacheKey('analytics.daily', principal, params.id, query), scopes: [scope] };
      await sendCached(req, res, deps.cache, read, async () => {
        const dept = authorizeDepartment(principal, await loadDepartment({ query: deps.db.read }, params.id), 'manage');
        const r = await deps.db.read<DailyRow>(
          `WITH scope AS (SELECT d.id FROM departments d WHERE CASE WHEN $4 THEN d.path <@ $3::ltree ELSE d.id = $5::bigint END)
           SELECT day::date::text AS date, coalesce(sum(ds.head_count), 0)::text AS head_count, ${COVERAGE_AGGREGATE}
             FROM generate_series($1::date, $2::date, interval '1 day') day
             LEFT JOIN department_daily_stats ds ON ds.date = day::date AND ds.department_id IN (SELECT id FROM scope)
            GROUP BY day ORDER BY day`,
          [query.from, query.to, dept.path, query.includeSubdepartments, dept.id]);
        return {
          departmentId: dept.id, includeSubdepartments: query.includeSubdepartments,
          data: r.rows.map((x) => {
            const c = toCoverage(x);
            return {
              date: x.date, scheduledHours: c.scheduledHours, labourCost: c.labourCost, scheduledHeadCount: Number(x.head_count),
              shiftCount: c.shiftCount, openShifts: c.openShifts, demandSlots: c.demandSlots, coveredSlots: c.coveredSlots,
              understaffedSlots: c.understaffedSlots, coveragePercent: c.coveragePercent, overtimeHours: c.overtimeHours,
            };
          }),
        };
      });
    },
  }),
];
