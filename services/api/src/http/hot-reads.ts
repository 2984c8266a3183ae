import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';
import { deferredInc, type PeekState, type PreparedRead } from '@rota/cache';
import { runWithQueryContext, type Db, type QueryContext } from '@rota/db';
import { metric, type HistogramChild, type Registry } from '@rota/telemetry';
import type { Principal } from '../auth/principal.ts';
import type { ReadYourWrites } from '../auth/read-your-writes.ts';
import type { CacheRead, CacheStatus, ResponseCache } from './cached.ts';
import type { Cors } from './cors.ts';
import { REQUEST_ID, httpDurationHistogram, poolUtilization } from './middleware.ts';

/**
 * The hot path of cached reads. A GET whose exact URL the same principal has already been served
 * through the full stack (routing, validation, authorization, key building — see sendCached) is
 * answered here, first thing, with one Redis read: when the entry is current and fresh the
 * response is written at once with the same headers the full stack would send; otherwise the
 * request goes on through the stack as if this did not exist, carrying what Redis said so the
 * cache does not read it again.
 *
 * Why it is exact: the full stack's response to a read is a function of the principal, the URL
 * (and If-None-Match) and the cache entry — validation and the checks that precede sendCached
 * (the API-key scope check of route.ts among them) look at nothing else, and every authorization decision that depends on data runs inside the
 * cached loader, so it is part of the entry and invalidated with it. The memo is keyed by the
 * principal's whole content (kind, id, role, department, scopes) and the raw URL, so a principal
 * whose role or department changed, or a different URL spelling, simply takes the full path.
 * The principal itself comes from the authenticator's memo (peek): no I/O, same lifetime as on
 * the full path; a revoked key or deactivated user is forgotten at once on this instance.
 *
 * Misses too: when the entry is missing or stale and the full stack had handed sendCached its
 * loader before touching the database (a handler that reads data to decide the scopes — e.g. an
 * employee's department — is never replayed), the hot path runs that same loader through the
 * same cache call (single flight, guarded fill, stale-while-revalidate) and answers MISS/STALE
 * itself. The loader is a closure over the validated inputs, the principal and the deps, i.e.
 * over what the memo is keyed by, so it is the request the full stack would make. A loader that
 * fails (the row was deleted: 404; the database is down) hands the request to the full stack,
 * which answers it — errors are rare and keep one code path.
 */
export type HotReads = {
  /** Answers the request, or calls `next` (at once or after the Redis read) to hand it to Express. */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
  /**
   * sendCached reports a read the full stack served (status 200/304) for this principal and URL;
   * with `replay` (the read and its loader) when the handler had not queried the database before.
   */
  remember(principal: Principal, url: string, read: PreparedRead, route: string, replay?: Replay): void;
};

/** What the hot path needs to load a remembered read itself: the read and sendCached's loader. */
export type Replay = { read: CacheRead; load: () => Promise<Buffer> };

/** What the hot path leaves for sendCached on a GET it handed on. */
export type HotContext = { reads: HotReads; peeked?: PeekState };

/** Where the note rides on the request (a property: a WeakMap insert per request costs more). */
const HOT = Symbol('rota.hotContext');
type WithHot = IncomingMessage & { [HOT]?: HotContext };

/** The hot path's note on this request (undefined when it did not see it: not a GET, or no hot path). */
export function hotContextOf(req: IncomingMessage): HotContext | undefined {
  return (req as WithHot)[HOT];
}

export type HotReadsOptions = {
  cache: Required<Pick<ResponseCache, 'peek'>> & Pick<ResponseCache, 'getOrLoad'>;
  /** As on the full path: a principal that wrote recently reads from the writer. */
  readYourWrites?: ReadYourWrites | undefined;
  auth: { peek(authorization: string): Principal | undefined };
  db: Pick<Db, 'stats'>;
  registry: Registry;
  /** The headers every response carries (helmet's), as [name, value] pairs. */
  staticHeaders: readonly (readonly [string, string])[];
  /** Cross-origin headers, as the full stack sets them (default: none). */
  cors?: Pick<Cors, 'enabled' | 'headers'>;
  /** (principal, URL) pairs remembered in all (default 50,000) and per principal (default 5,000). */
  maxEntries?: number;
  maxUrlsPerPrincipal?: number;
  /** Longer URLs are not remembered (default 512 characters). */
  maxUrlLength?: number;
};

type Remembered = {
  read: PreparedRead;
  replay: Replay | undefined;
  ok: HistogramChild;
  notModified: HistogramChild;
};

const principalKeys = new WeakMap<Principal, string>();

/** Everything about a principal that a response may depend on. */
function principalKey(p: Principal): string {
  let k = principalKeys.get(p);
  if (k === undefined) {
    k = JSON.stringify([p.kind, p.id, p.role, p.employeeId, p.departmentId, p.departmentPath, p.scopes]);
    principalKeys.set(p, k);
  }
  return k;
}

/** If-None-Match against a strong ETag (weak comparison, `*`, lists). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v === etag || v === `W/${etag}`;
  });
}

export function createHotReads(o: HotReadsOptions): HotReads {
  const maxEntries = o.maxEntries ?? 50_000;
  const maxUrls = o.maxUrlsPerPrincipal ?? 5_000;
  const maxUrlLength = o.maxUrlLength ?? 512;
  /** principal key → raw URL → read. Beyond the bounds the least recently added principal goes (and a principal's oldest URL). */
  const memo = new Map<string, Map<string, Remembered>>();
  let entries = 0;
  const hist = httpDurationHistogram(o.registry);
  const outcomes = metric(o.registry, 'http_hot_reads_total', () => new client.Counter({
    name: 'http_hot_reads_total',
    help: 'GET requests the cached-read hot path looked up: served (fresh hit answered at once), loaded (entry missing or stale: loaded and answered by the hot path), passed (known read it could not answer: went through the full stack), unknown (not seen before for this principal).',
    labelNames: ['result'],
    registers: [o.registry],
  }));
  const served = deferredInc(outcomes, { result: 'served' });
  const loaded = deferredInc(outcomes, { result: 'loaded' });
  const passed = deferredInc(outcomes, { result: 'passed' });
  const unknown = deferredInc(outcomes, { result: 'unknown' });
  const fixed: string[] = o.staticHeaders.flat();
  // Nothing per request while CORS is off.
  const cors = o.cors?.enabled === true ? o.cors : undefined;

  const reads: HotReads = {
    handle(req, res, next) {
      if (req.method !== 'GET') return next();
      const ctx: HotContext = { reads };
      (req as WithHot)[HOT] = ctx;
      const authorization = req.headers.authorization;
      const principal = authorization === undefined ? undefined : o.auth.peek(authorization);
      // Two levels: the principal's key string is reused (V8 caches a string's hash), only the
      // URL is hashed per request.
      const hot = principal === undefined ? undefined : memo.get(principalKey(principal))?.get(req.url ?? '');
      if (hot === undefined) {
        unknown();
        return next();
      }
      const start = performance.now();
      // Only for requests answered here (the full stack makes its own for the rest).
      let requestId: string | undefined;
      const requestIdOf = (): string => {
        const incoming = req.headers['x-request-id'];
        return (requestId ??= typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID());
      };
      const answer = (body: Buffer, etag: string, status: CacheStatus, queries: number): void => {
        const notModified = etagMatches(req.headers['if-none-match'], etag);
        const elapsed = performance.now() - start;
        const headers = [...fixed,
          'X-Request-Id', requestIdOf(),
          'X-Cache', status,
          'ETag', etag,
          'Cache-Control', 'private, no-cache',
          'X-Response-Time', `${elapsed.toFixed(2)}ms`,
          'X-DB-Queries', String(queries),
        ];
        if (cors !== undefined) headers.push(...cors.headers(req.headers.origin));
        const utilization = poolUtilization(o.db);
        if (utilization !== '') headers.push('X-DB-Pool-Utilization', utilization);
        if (notModified) {
          res.writeHead(304, headers);
          res.end();
          hot.notModified.observe(elapsed / 1000);
        } else {
          headers.push('Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(body.length));
          res.writeHead(200, headers);
          res.end(body);
          hot.ok.observe(elapsed / 1000);
        }
      };
      // If answering fails (a bug), the full stack answers instead — or, if the head is already
      // out, the connection is dropped rather than sending a second answer.
      const answerOrHandOn = (body: Buffer, etag: string, status: CacheStatus, queries: number): void => {
        try {
          answer(body, etag, status, queries);
        } catch {
          if (!res.headersSent) next();
          else res.destroy();
        }
      };
      const load = async (replay: Replay, state: PeekState): Promise<void> => {
        const qc: QueryContext = { queryCount: 0, requestId: requestIdOf() };
        if (o.readYourWrites && (await o.readYourWrites.recent(principal!))) qc.readYourWrites = true;
        const r = await runWithQueryContext(qc, () => o.cache.getOrLoad(replay.read, replay.load, { prepared: hot.read, peeked: state }));
        loaded();
        answerOrHandOn(r.body, r.etag, r.status, qc.queryCount);
      };
      // peek never rejects.
      o.cache.peek(hot.read).then((r) => {
        if (r.hit !== undefined) {
          served();
          answerOrHandOn(r.hit.body, r.hit.etag, 'HIT', 0);
          return;
        }
        if (hot.replay !== undefined) {
          // A failed load (deleted row → 404, database down → 503) is answered by the full stack,
          // which reads the cache again: its errors, logs and metrics stay in one place.
          return load(hot.replay, r.state).catch(() => {
            if (res.headersSent) return;
            passed();
            next();
          });
        }
        ctx.peeked = r.state;
        passed();
        next();
      }, () => { next(); })
        // Only reached if Express itself threw synchronously: never leave the promise unhandled.
        .catch(() => { if (!res.writableEnded) res.destroy(); });
    },

    remember(principal, url, read, route, replay) {
      // Long URLs (deep pagination cursors) keep taking the full stack: the memo stays small
      // (≤ 50,000 × ~1 KB) whatever URLs an authenticated client makes up.
      if (url.length > maxUrlLength) return;
      const pk = principalKey(principal);
      let urls = memo.get(pk);
      if (urls === undefined) memo.set(pk, (urls = new Map()));
      const known = urls.get(url);
      if (known !== undefined) {
        if (known.read.entryKey === read.entryKey) {
          known.replay ??= replay;
          return;
        }
        urls.delete(url); // the read's scopes changed (e.g. the employee moved): keep the new one
        entries--;
      } else if (urls.size >= maxUrls) {
        urls.delete(urls.keys().next().value!);
        entries--;
      }
      while (entries >= maxEntries) {
        const [oldest, its] = memo.entries().next().value!;
        memo.delete(oldest);
        entries -= its.size;
        if (oldest === pk) {
          memo.set(pk, urls); // keep the one being added to (now the newest)
          entries += its.size;
        }
      }
      entries++;
      urls.set(url, { read, replay, ok: hist.labels({ method: 'GET', route, status_code: '200' }), notModified: hist.labels({ method: 'GET', route, status_code: '304' }) });
    },
  };
  return reads;
}
