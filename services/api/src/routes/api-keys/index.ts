import { z } from 'zod';
import { decodeCursor, keysetClause, pageOf, type SortColumn } from '@rota/db';
import { ROLES, type Role } from '@rota/domain';
import { recordEvent } from '@rota/events';
import { newApiKey } from '../../auth/api-keys.ts';
import type { Principal } from '../../auth/principal.ts';
import { SCOPES } from '../../auth/scopes.ts';
import { AppError, forbidden, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { boolParam, cursorParam, idParam, idsParams, limitParam } from '../../http/validate.ts';

type Row = {
  id: string; name: string; prefix: string; role: Role; department_id: string | null; scopes: string[];
  created_by: string | null; created_at: Date; last_used_at: Date | null; revoked_at: Date | null;
};
const COLUMNS = 'k.id, k.name, k.prefix, k.role, k.department_id, k.scopes, k.created_by, k.created_at, k.last_used_at, k.revoked_at';
const SORT: SortColumn[] = [{ sql: 'k.id', direction: 'desc', type: 'bigint' }];

const apiKeySchema = z.object({
  id: z.string(), name: z.string(), prefix: z.string().describe('the visible start of the key: rk_<prefix>_…'), role: z.enum(ROLES),
  departmentId: z.string().nullable(), scopes: z.array(z.string()), createdBy: z.string().nullable(), createdAt: z.string(),
  lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable(),
});
const toApiKey = (r: Row): z.infer<typeof apiKeySchema> => ({
  id: r.id, name: r.name, prefix: r.prefix, role: r.role, departmentId: r.department_id, scopes: r.scopes, createdBy: r.created_by,
  createdAt: r.created_at.toISOString(), lastUsedAt: r.last_used_at?.toISOString() ?? null, revokedAt: r.revoked_at?.toISOString() ?? null,
});

const createBody = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(100).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters'),
  role: z.enum(ROLES),
  /** Required for manager and employee keys: the key acts inside this department (subtree for managers). */
  departmentId: idParam.nullable().optional(),
  /** Limits the key to these routes (auth/scopes.ts); none: the role's full access. */
  scopes: z.array(z.enum(SCOPES, { message: `unknown scope; one of ${SCOPES.join(', ')}` })).max(SCOPES.length * 2).optional(),
}).refine((b) => b.role === 'admin' || b.departmentId, { path: ['departmentId'], message: 'required for manager and employee keys' });

function adminOnly(p: Principal): void {
  if (p.role !== 'admin') throw forbidden('only admins manage API keys');
}

// API keys are credentials, not roster data: no change event type exists for them and their
// reads are not cached (an admin-only, rarely read list; a revocation must show at once).
export const apiKeyRoutes = [
  route({
    method: 'post',
    path: '/v1/api-keys',
    summary: 'Create an API key for a machine client (admins). The key is in this response only; the server keeps its SHA-256 hash. '
      + 'With `scopes` the key may call only the operations needing one of them (each operation lists its scope); without, everything its role may.',
    tag: 'api-keys',
    scope: 'api-keys:write',
    body: createBody,
    responses: { 201: { description: 'Created; `key` is shown once', schema: apiKeySchema.extend({ key: z.string() }) }, 403: { description: 'Not an admin' } },
    handler: async ({ body, principal, deps }) => {
      adminOnly(principal);
      if (body.departmentId) {
        const d = await deps.db.query('SELECT 1 FROM departments WHERE id = $1', [body.departmentId]);
        if (!d.rowCount) throw new AppError('validation_failed', 'department does not exist', { details: [{ field: 'body.departmentId', message: 'does not exist' }] });
      }
      const k = newApiKey();
      const row = await deps.db.tx(async (q) => {
        const r = await q.query<Row>(
          `INSERT INTO api_keys AS k (name, prefix, key_hash, role, department_id, scopes, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
          [body.name, k.prefix, k.hash, body.role, body.departmentId ?? null, [...new Set(body.scopes ?? [])], principal.employeeId]);
        const created = r.rows[0]!;
        await recordEvent(q, {
          type: 'api_key.created',
          aggregate: { type: 'api_key', id: created.id },
          departmentIds: created.department_id ? [created.department_id] : [],
          payload: { name: created.name, prefix: created.prefix, role: created.role, createdBy: principal.employeeId ?? null },
        });
        return created;
      });
      return { status: 201, json: { ...toApiKey(row), key: k.key }, headers: { Location: `/v1/api-keys/${row.id}` } };
    },
  }),
  route({
    method: 'get',
    path: '/v1/api-keys',
    summary: 'List API keys, newest first (admins); never shows the secret',
    tag: 'api-keys',
    scope: 'api-keys:read',
    query: z.strictObject({ includeRevoked: boolParam.optional(), limit: limitParam, cursor: cursorParam }),
    responses: { 200: { description: 'A page of keys', schema: z.object({ data: z.array(apiKeySchema), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal, deps }) => {
      adminOnly(principal);
      const sortKey = `keys:${query.includeRevoked ? 'all' : 'live'}`;
      const after = query.cursor ? decodeCursor(query.cursor, sortKey, 1) : undefined;
      const k = keysetClause(SORT, after, 1);
      const r = await deps.db.read<Row>(
        `SELECT ${COLUMNS} FROM api_keys k WHERE ${query.includeRevoked ? 'TRUE' : 'k.revoked_at IS NULL'} AND ${k.where}
          ORDER BY ${k.orderBy} LIMIT ${query.limit + 1}`, k.params);
      const page = pageOf(r.rows, query.limit, (x) => [x.id], sortKey);
      return { json: { data: page.data.map(toApiKey), nextCursor: page.nextCursor }, headers: { 'X-Cache': 'BYPASS' } };
    },
  }),
  route({
    method: 'delete',
    path: '/v1/api-keys/:id',
    summary: 'Revoke an API key (admins); requests with it get 401 from now on. Idempotent.',
    tag: 'api-keys',
    scope: 'api-keys:write',
    params: idsParams,
    responses: { 204: { description: 'Revoked' }, 404: { description: 'No such key' } },
    handler: async ({ params, principal, deps }) => {
      adminOnly(principal);
      await deps.db.tx(async (q) => {
        const r = await q.query<{ department_id: string | null; newly: boolean }>(
          `UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now()) FROM api_keys old
            WHERE k.id = $1 AND old.id = k.id RETURNING k.department_id, old.revoked_at IS NULL AS newly`, [params.id]);
        const row = r.rows[0];
        if (!row) throw notFound('API key');
        // Idempotent: revoking a revoked key changes nothing and records nothing.
        if (row.newly) {
          await recordEvent(q, {
            type: 'api_key.revoked',
            aggregate: { type: 'api_key', id: params.id },
            departmentIds: row.department_id ? [row.department_id] : [],
            payload: { revokedBy: principal.employeeId ?? null },
          });
        }
      });
      // Every instance drops its memoised principal (shared-forget.ts: Redis pub/sub; the memo's
      // few-second TTL if the message is lost).
      deps.auth.forget('apiKey', params.id);
      return { status: 204 };
    },
  }),
];
