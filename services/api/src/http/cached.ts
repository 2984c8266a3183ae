import type { Request, Response } from 'express';
import { currentQueryContext } from '@rota/db';
import { etagOf, type Namespace, type Peeked, type PeekState, type PreparedRead } from '@rota/cache';
import type { Principal } from '../auth/principal.ts';
import { stateOf } from './context.ts';
import { etagMatches, hotContextOf } from './hot-reads.ts';

export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/**
 * A cacheable read: namespace, a key unique for the response, and the scopes it depends on.
 * `hot: false` keeps the read off the hot path (hot-reads.ts) — for a response that depends on
 * something besides the principal, the URL and data covered by its scopes (e.g. today's date).
 */
export type CacheRead = { ns: Namespace; key: string; scopes: string[]; hot?: boolean };

/** The part of @rota/cache the API uses (adapted in main.ts; a pass-through when disabled). */
export type ResponseCache = {
  getOrLoad(
    read: CacheRead,
    load: () => Promise<Buffer>,
    hint?: { prepared?: PreparedRead | undefined; peeked?: PeekState | undefined },
  ): Promise<{ body: Buffer; status: CacheStatus; etag: string }>;
  /** For the hot path (absent when nothing is cached): a read's keys, and a loader-less read. */
  prepare?(read: CacheRead): PreparedRead;
  peek?(read: PreparedRead): Promise<Peeked>;
  /** Read-your-writes: bump scopes right after our own commit (the invalidator also does it). */
  invalidate(targets: readonly { ns: Namespace; scopes: readonly string[] }[]): Promise<void>;
};


/** Cache that never stores: every read loads (X-Cache: BYPASS). */
export const passThroughCache: ResponseCache = {
  async getOrLoad(_read, load) {
    const body = await load();
    return { body, status: 'BYPASS', etag: etagOf(body) };
  },
  async invalidate() {},
};

/**
 * A response body that is already JSON text (e.g. built by Postgres): a loader may return it and
 * sendCached sends the text as is instead of JSON.stringify-ing a value.
 */
export class JsonText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/**
 * A stable key from the route, its validated inputs and what the principal may see, so two
 * callers share an entry only when they would get the same bytes.
 */
export function cacheKey(name: string, principal: Principal | undefined, ...parts: unknown[]): string {
  // What the response may depend on of the caller: nothing for admins, the subtree for managers,
  // the employee and their department for employees (a moved employee stops reading the old
  // department's templates, demand and schedules at once: their key changes with the move).
  const who = !principal || principal.role === 'admin'
    ? 'all'
    : principal.role === 'manager' ? `m:${principal.departmentPath}` : `e:${principal.employeeId}@${principal.departmentId}`;
  // Not hashed here: @rota/cache hashes the whole key into the entry key anyway.
  return `${name}:${JSON.stringify([who, ...parts])}`;
}

/** Cache-aside JSON response with X-Cache and ETag / If-None-Match → 304. */
export async function sendCached(
  req: Request,
  res: Response,
  cache: ResponseCache,
  read: CacheRead,
  load: () => Promise<unknown>,
): Promise<void> {
  const hot = hotContextOf(req);
  let prepared: PreparedRead | undefined;
  try {
    prepared = hot ? cache.prepare?.(read) : undefined;
  } catch {
    prepared = undefined; // a malformed scope: getOrLoad answers BYPASS, and the hot path stays out
  }
  const state = stateOf(req);
  // The hot path may replay the loader only if the handler read nothing before it: then the
  // response depends on the principal, the URL and the entry alone (see hot-reads.ts).
  const queries = currentQueryContext()?.queryCount;
  const replayable = queries !== undefined && queries === state.queriesBeforeHandler;
  const loadBody = async (): Promise<Buffer> => {
    const value = await load();
    return Buffer.from(value instanceof JsonText ? value.text : JSON.stringify(value));
  };
  const { body, status, etag } = await cache.getOrLoad(read, loadBody, { prepared, peeked: hot?.peeked });
  res.setHeader('X-Cache', status);
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  // Served through the whole stack: from now on the hot path may answer this principal's URL.
  const principal = state.principal;
  if (hot && prepared && principal && req.route && read.hot !== false) {
    hot.reads.remember(principal, req.originalUrl, prepared, `${req.baseUrl}${String(req.route.path)}`, replayable ? { read, load: loadBody } : undefined);
  }
  if (etagMatches(req.get('if-none-match'), etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).type('application/json').send(body);
}
