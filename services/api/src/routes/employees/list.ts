import { hash } from 'node:crypto';
import { z } from 'zod';
import { scopes } from '@rota/cache';
import { decodeCursor, encodeCursor, keysetClause, type SortColumn } from '@rota/db';
import { ROLES } from '@rota/domain';
import { coversDepartment } from '../../auth/principal.ts';
import { cacheKey, JsonText, sendCached } from '../../http/cached.ts';
import { AppError, forbidden } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { boolParam, cursorParam, idParam, limitParam } from '../../http/validate.ts';
import { employeeSchema, NO_NUL, noNul, pageSchema } from './shape.ts';

/** `key`: the sort value as text for the cursor (a JS Date would truncate microseconds and the cursor would skip rows). */
const SORTS = {
  lastName: { sql: 'e.last_name', type: 'text', key: 'e.last_name' },
  hireDate: { sql: 'e.hire_date', type: 'date', key: 'e.hire_date::text' },
  createdAt: { sql: 'e.created_at', type: 'timestamptz', key: 'e.created_at::text' },
} as const;

/** A whole page as one row: the employees' JSON joined by commas, how many rows matched (up to limit + 1), the last one's sort values. */
type PageRow = { data: string | null; rows: number; last_key: string | null; last_id: string | null };

const listQuery = z.strictObject({
  departmentId: idParam.optional(),
  includeSubdepartments: boolParam.optional(),
  role: z.enum(ROLES).optional(),
  skill: z.string().trim().min(1, 'must not be empty').max(64).refine(noNul, NO_NUL).optional(),
  active: boolParam.optional(),
  q: z.string().trim().min(1, 'must not be empty').max(100).refine(noNul, NO_NUL).optional(),
  sort: z.enum(['lastName', 'hireDate', 'createdAt']).default('lastName'),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: limitParam,
  cursor: cursorParam,
}).refine((q) => !q.includeSubdepartments || q.departmentId !== undefined, { path: ['includeSubdepartments'], message: 'requires departmentId' });

/** `%`, `_` and the escape character itself are literal in a search term. */
export const escapeLike = (s: string): string => s.replace(/[\\%_]/g, '\\$&');

export const employeeListRoutes = [
  route({
    method: 'get',
    path: '/v1/employees',
    summary: 'List employees. Admins see everyone; managers their department subtree (a departmentId outside it is 403); '
      + 'employees see only themselves (a departmentId other than their own is 403). '
      + 'Filters: departmentId (+ includeSubdepartments), role, skill, active, q (name/email substring). '
      + 'Sort lastName | hireDate | createdAt, order asc | desc; keyset cursor.',
    tag: 'employees',
    scope: 'employees:read',
    query: listQuery,
    responses: {
      200: { description: 'A page of employees', schema: pageSchema(employeeSchema) },
      403: { description: 'departmentId outside your scope' },
    },
    handler: async ({ req, res, query, principal, deps }) => {
      const sort = SORTS[query.sort];
      const columns: SortColumn[] = [
        { sql: sort.sql, direction: query.order, type: sort.type },
        { sql: 'e.id', direction: query.order, type: 'bigint' },
      ];
      const { limit: _l, cursor: _c, ...filters } = query;
      const sortKey = `${query.sort}:${query.order}:${hash('sha1', JSON.stringify(filters), 'base64url').slice(0, 16)}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 2) : undefined;

      if (principal.role === 'employee' && query.departmentId !== undefined && query.departmentId !== principal.departmentId) {
        throw forbidden('employees may list only their own department');
      }
      let scope: string[];
      if (principal.role === 'employee') scope = [scopes.employee(principal.employeeId ?? '0'), scopes.department(principal.departmentId ?? '0')];
      else if (query.departmentId !== undefined) scope = [query.includeSubdepartments ? scopes.subtree(query.departmentId) : scopes.department(query.departmentId)];
      else if (principal.role === 'manager' && principal.departmentId) scope = [scopes.subtree(principal.departmentId)];
      else scope = [scopes.all];

      await sendCached(req, res, deps.cache, { ns: 'employees', key: cacheKey('employees.list', principal, query), scopes: scope }, async () => {
        const params: unknown[] = [];
        const p = (v: unknown): string => { params.push(v); return `$${params.length}`; };
        const where: string[] = [];
        if (principal.role === 'manager') where.push(`d.path <@ ${p(principal.departmentPath ?? '0')}::ltree`);
        if (principal.role === 'employee') where.push(`e.id = ${p(principal.employeeId ?? '0')}::bigint`);
        if (query.departmentId !== undefined) {
          const dept = p(query.departmentId);
          where.push(query.includeSubdepartments ? `d.path <@ (SELECT path FROM departments WHERE id = ${dept}::bigint)` : `e.department_id = ${dept}::bigint`);
          // A manager naming an ancestor of their department gets a 403, not a silently cut list.
          if (principal.role === 'manager') where.push(`EXISTS (SELECT 1 FROM departments t WHERE t.id = ${dept}::bigint AND t.path <@ ${p(principal.departmentPath ?? '0')}::ltree)`);
        }
        if (query.role) where.push(`e.role = ${p(query.role)}`);
        if (query.skill) where.push(`e.skills @> ARRAY[${p(query.skill)}::text]`);
        if (query.active !== undefined) where.push(`e.active = ${p(query.active)}`);
        // Exactly the expression of the trigram index employees_search, so the index serves it.
        if (query.q) where.push(`(e.first_name || ' ' || e.last_name || ' ' || e.email) ILIKE '%' || ${p(escapeLike(query.q))} || '%'`);
        const k = keysetClause(columns, after, params.length + 1);
        params.push(...k.params);
        where.push(k.where);
        // The page's ids first — from the index alone for the default sort (employees_department_active
        // holds department, active, last name and id) — then the stored JSON of those rows only
        // (employees.api_json, kept by Postgres: migration 0006), joined into one text by Postgres:
        // one row to receive, nothing to parse or serialize per employee.
        const limit = query.limit;
        const r = await deps.db.read<PageRow>(
          `SELECT string_agg(x.api_json, ',' ORDER BY p.n) FILTER (WHERE p.n <= ${limit}) AS data, count(*)::int AS rows,
                  max(p.sort_key) FILTER (WHERE p.n = ${limit}) AS last_key, (max(p.id) FILTER (WHERE p.n = ${limit}))::text AS last_id
             FROM (SELECT e.id, ${sort.key} AS sort_key, row_number() OVER (ORDER BY ${k.orderBy}) AS n
                     FROM (SELECT e.id, ${sort.sql} FROM employees e JOIN departments d ON d.id = e.department_id
                            WHERE ${where.join(' AND ')} ORDER BY ${k.orderBy} LIMIT ${limit + 1}) e) p
             JOIN employees x ON x.id = p.id`, params);
        const page = r.rows[0]!;
        if (page.rows === 0 && query.departmentId !== undefined && !after) {
          // Empty: tell "no such department" and "not yours" apart from "nobody matches".
          const d = await deps.db.read<{ path: string }>('SELECT path::text AS path FROM departments WHERE id = $1', [query.departmentId]);
          const path = d.rows[0]?.path;
          if (path === undefined) throw new AppError('validation_failed', 'department does not exist', { details: [{ field: 'query.departmentId', message: 'does not exist' }] });
          if (principal.role !== 'employee' && !coversDepartment(principal, path, 'manage')) throw forbidden('the department is outside your subtree');
        }
        const nextCursor = page.rows > limit ? encodeCursor([page.last_key, page.last_id], sortKey) : null;
        return new JsonText(`{"data":[${page.data ?? ''}],"nextCursor":${JSON.stringify(nextCursor)}}`);
      });
    },
  }),
];
