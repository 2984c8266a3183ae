import type { RequestHandler } from 'express';
import type { Db } from '@rota/db';
import type { Role } from '@rota/domain';
import { stateOf } from '../http/context.ts';
import { AppError } from '../http/errors.ts';
import { API_KEY_PATTERN, apiKeyMatches } from './api-keys.ts';
import type { Principal } from './principal.ts';
import { verifyToken, type TokenSettings } from './tokens.ts';

/**
 * Principals are memoised per process for a few seconds so a cache hit costs no SQL. The
 * instance that revokes a key or changes a user calls forget(), which shared-forget.ts passes to
 * every other instance over Redis pub/sub; a change no forget() covers (a department moved in
 * the tree) or a lost message applies within PRINCIPAL_TTL_MS.
 */
const PRINCIPAL_TTL_MS = 5_000;
const MAX_MEMO = 50_000;

export type Authenticator = {
  middleware: RequestHandler;
  /**
   * The principal an `Authorization` header value resolved to within the last PRINCIPAL_TTL_MS
   * (never past a token's expiry), without I/O; undefined when it must go through the middleware.
   */
  peek(authorization: string): Principal | undefined;
  forget(kind: Principal['kind'], id: string): void;
};

/** A memoised principal; a user's tokens issued before `validFromMs` (the last password change) are refused. */
type Loaded = { p: Principal; validFromMs: number } | null;

export function createAuthenticator(db: Db, tokens: TokenSettings): Authenticator {
  const memo = new Map<string, { p: Loaded; until: number }>();
  /** Whole header value → principal, for peek(). Only successes; bounded like `memo`. */
  const byHeader = new Map<string, { p: Principal; until: number }>();

  async function remember(key: string, load: () => Promise<Loaded>): Promise<Loaded> {
    const hit = memo.get(key);
    if (hit && hit.until > Date.now()) return hit.p;
    const p = await load();
    if (memo.size >= MAX_MEMO) memo.clear();
    memo.set(key, { p, until: Date.now() + PRINCIPAL_TTL_MS });
    return p;
  }

  const loadUser = (id: string): Promise<Loaded> => remember(`user:${id}`, async () => {
    const r = await db.read<{ role: Role; department_id: string; path: string; active: boolean; changed_ms: number | null }>(
      `SELECT e.role, e.department_id, d.path::text AS path, e.active,
              (extract(epoch FROM e.password_changed_at) * 1000)::float8 AS changed_ms
         FROM employees e JOIN departments d ON d.id = e.department_id WHERE e.id = $1`, [id]);
    const row = r.rows[0];
    if (!row?.active) return null;
    const p: Principal = { kind: 'user', id, role: row.role, employeeId: id, departmentId: row.department_id, departmentPath: row.path, scopes: [] };
    return { p, validFromMs: row.changed_ms ?? 0 };
  });

  const loadKey = (prefix: string, secret: string): Promise<Loaded> => remember(`key:${prefix}:${secret}`, async () => {
    const r = await db.read<{ id: string; key_hash: string; role: Role; department_id: string | null; path: string | null; scopes: string[] }>(
      `SELECT k.id, k.key_hash, k.role, k.department_id, d.path::text AS path, k.scopes
         FROM api_keys k LEFT JOIN departments d ON d.id = k.department_id
        WHERE k.prefix = $1 AND k.revoked_at IS NULL`, [prefix]);
    const row = r.rows[0];
    if (!row || !apiKeyMatches(secret, row.key_hash)) return null;
    db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval \'1 minute\')', [row.id])
      .catch(() => {});
    return { p: { kind: 'apiKey', id: row.id, role: row.role, employeeId: null, departmentId: row.department_id, departmentPath: row.path, scopes: row.scopes }, validFromMs: 0 };
  });

  const peek = (authorization: string): Principal | undefined => {
    const hit = byHeader.get(authorization);
    return hit !== undefined && hit.until > Date.now() ? hit.p : undefined;
  };

  const middleware: RequestHandler = async (req, _res, next) => {
    const header = req.get('authorization');
    if (!header) return next();
    // The same header resolved moments ago: no regex, no JWT verification, no memo lookups.
    const known = peek(header);
    if (known) {
      stateOf(req).principal = known;
      return next();
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) return next(new AppError('unauthenticated', 'Authorization must be "Bearer <token>"'));
    const credential = m[1]!;
    try {
      let p: Principal | null = null;
      let until = Date.now() + PRINCIPAL_TTL_MS;
      const key = API_KEY_PATTERN.exec(credential);
      if (key) p = (await loadKey(key[1]!, key[2]!))?.p ?? null;
      else {
        const token = await verifyToken(tokens, credential);
        const user = token && (await loadUser(token.employeeId));
        // A token from before the last password change is refused (the change forgets the memo).
        if (token && user && token.issuedAtMs >= user.validFromMs) {
          p = user.p;
          until = Math.min(until, token.expiresAtMs);
        }
      }
      if (!p) return next(new AppError('unauthenticated', 'invalid or expired credentials'));
      if (byHeader.size >= MAX_MEMO) byHeader.clear();
      byHeader.set(header, { p, until });
      stateOf(req).principal = p;
      next();
    } catch (e) {
      next(e);
    }
  };

  return {
    middleware,
    peek,
    forget(kind, id) {
      if (kind === 'user') memo.delete(`user:${id}`);
      else for (const k of memo.keys()) if (memo.get(k)?.p?.p.id === id && k.startsWith('key:')) memo.delete(k);
      for (const [h, v] of byHeader) if (v.p.kind === kind && v.p.id === id) byHeader.delete(h);
    },
  };
}
