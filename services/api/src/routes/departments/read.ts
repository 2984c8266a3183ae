import { z } from 'zod';
import { scopes } from '@rota/cache';
import { keysetClause, decodeCursor, pageOf, type SortColumn } from '@rota/db';
import { coversDepartment, type Principal } from '../../auth/principal.ts';
import { cacheKey, sendCached } from '../../http/cached.ts';
import { forbidden, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { boolParam, cursorParam, idParam, idsParams, limitParam } from '../../http/validate.ts';
import { DEPARTMENT_COLUMNS, departmentSchema, toDepartment, type DepartmentRow } from './shape.ts';

const SORT: SortColumn[] = [{ sql: 'd.id', direction: 'asc', type: 'bigint' }];

/** SQL restricting departments `d` to what the principal may see; `$n` is the principal's path. */
export function visibleDepartments(p: Principal, n: number): { sql: string; params: unknown[] } {
  if (p.role === 'admin') return { sql: 'TRUE', params: [] };
  if (p.role === 'manager') return { sql: `d.path <@ $${n}::ltree`, params: [p.departmentPath ?? '0'] };
  return { sql: `d.id = $${n}::bigint`, params: [p.departmentId ?? '0'] };
}

const listQuery = z.strictObject({
  active: boolParam.optional(),
  parentId: idParam.optional(),
  limit: limitParam,
  cursor: cursorParam,
});

const treeNode: z.ZodType<unknown> = z.lazy(() => z.object({
  id: z.string(), name: z.string(), timezone: z.string(), active: z.boolean(), headCount: z.number(),
  subtreeHeadCount: z.number(), children: z.array(treeNode),
}));

type TreeRow = { id: string; name: string; parent_id: string | null; path: string; timezone: string; active: boolean; head_count: number };
type TreeNode = { id: string; name: string; timezone: string; active: boolean; headCount: number; subtreeHeadCount: number; children: TreeNode[] };

export const departmentReadRoutes = [
  route({
    method: 'get',
    path: '/v1/departments',
    summary: 'List departments',
    tag: 'departments',
    scope: 'departments:read',
    query: listQuery,
    responses: { 200: { description: 'A page of departments', schema: z.object({ data: z.array(departmentSchema), nextCursor: z.string().nullable() }) } },
    handler: async ({ req, res, query, principal, deps }) => {
      const sortKey = `id:${query.active ?? ''}:${query.parentId ?? ''}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 1) : undefined;
      await sendCached(req, res, deps.cache, { ns: 'departments', key: cacheKey('departments.list', principal, query), scopes: [scopes.all] }, async () => {
        const vis = visibleDepartments(principal, 1);
        const params: unknown[] = [...vis.params];
        const where = [vis.sql];
        if (query.active !== undefined) { params.push(query.active); where.push(`d.active = $${params.length}`); }
        if (query.parentId !== undefined) { params.push(query.parentId); where.push(`d.parent_id = $${params.length}`); }
        const k = keysetClause(SORT, after, params.length + 1);
        params.push(...k.params);
        const r = await deps.db.read<DepartmentRow>(
          `SELECT ${DEPARTMENT_COLUMNS} FROM departments d WHERE ${where.join(' AND ')} AND ${k.where}
            ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`, params);
        const page = pageOf(r.rows, query.limit, (row) => [row.id], sortKey);
        return { data: page.data.map(toDepartment), nextCursor: page.nextCursor };
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/departments/tree',
    summary: 'Department hierarchy with head counts (one query)',
    tag: 'departments',
    scope: 'departments:read',
    query: z.strictObject({ rootId: idParam.optional(), includeInactive: boolParam.optional() }),
    responses: { 200: { description: 'Roots of the visible hierarchy', schema: z.object({ data: z.array(treeNode) }) } },
    handler: async ({ req, res, query, principal, deps }) => {
      const read = { ns: 'departments' as const, key: cacheKey('departments.tree', principal, query), scopes: [scopes.all] };
      await sendCached(req, res, deps.cache, read, async () => {
        const vis = visibleDepartments(principal, 1);
        const params: unknown[] = [...vis.params];
        let root = 'TRUE';
        if (query.rootId) {
          params.push(query.rootId);
          root = `d.path <@ (SELECT path FROM departments WHERE id = $${params.length})`;
        }
        const active = query.includeInactive ? 'TRUE' : 'd.active';
        const r = await deps.db.read<TreeRow>(
          `SELECT d.id, d.name, d.parent_id, d.path::text AS path, d.timezone, d.active,
                  (SELECT count(*)::int FROM employees e WHERE e.department_id = d.id AND e.active) AS head_count
             FROM departments d WHERE ${vis.sql} AND ${root} AND ${active} ORDER BY d.path`, params);
        if (query.rootId && r.rows.length === 0) throw notFound('department');
        const nodes = new Map<string, TreeNode>();
        const roots: TreeNode[] = [];
        for (const row of r.rows) {
          nodes.set(row.id, { id: row.id, name: row.name, timezone: row.timezone, active: row.active, headCount: row.head_count, subtreeHeadCount: row.head_count, children: [] });
        }
        // Rows come in path order, so a parent is always placed before its children.
        for (const row of r.rows) {
          const node = nodes.get(row.id)!;
          const parent = row.parent_id ? nodes.get(row.parent_id) : undefined;
          if (parent) parent.children.push(node);
          else roots.push(node);
        }
        const sum = (n: TreeNode): number => (n.subtreeHeadCount = n.headCount + n.children.reduce((s, c) => s + sum(c), 0));
        roots.forEach(sum);
        return { data: roots };
      });
    },
  }),
  route({
    method: 'get',
    path: '/v1/departments/:id',
    summary: 'Get one department',
    tag: 'departments',
    scope: 'departments:read',
    params: idsParams,
    responses: { 200: { description: 'The department', schema: departmentSchema }, 404: { description: 'Not found or not visible' } },
    handler: async ({ req, res, params, principal, deps }) => {
      await sendCached(req, res, deps.cache, { ns: 'departments', key: cacheKey('departments.get', principal, params.id), scopes: [scopes.all] }, async () => {
        const r = await deps.db.read<DepartmentRow>(`SELECT ${DEPARTMENT_COLUMNS} FROM departments d WHERE d.id = $1`, [params.id]);
        const row = r.rows[0];
        if (!row) throw notFound('department');
        if (!coversDepartment(principal, row.path, 'read')) throw principal.role === 'employee' ? notFound('department') : forbidden();
        return toDepartment(row);
      });
    },
  }),
];
