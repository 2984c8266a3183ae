import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';
import { deferredInc, type Peeked, type PeekState, type PreparedRead } from '@rota/cache';
import type { Db } from '@rota/db';
import { metric, type Registry } from '@rota/telemetry';
import type { Principal } from '../auth/principal.ts';
import type { ResponseCache } from './cached.ts';
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
 * look at nothing else, and every authorization decision that depends on data runs inside the
 * cached loader, so it is part of the entry and invalidated with it. The memo is keyed by the
 * principal's whole content (kind, id, role, department, scopes) and the raw URL, so a principal
 * whose role or department changed, or a different URL spelling, simply takes the full path.
 * The principal itself comes from the authenticator's memo (peek): no I/O, same lifetime as on
 * the full path; a revoked key or deactivated user is forgotten at once on this instance.
 */
export type HotReads = {
  /** Answers the request, or calls `next` (at once or after the Redis read) to hand it to Express. */
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
  /** sendCached reports a read the full stack served (status 200/304) for this principal and URL. */
  remember(principal: Principal, url: string, read: PreparedRead, route: string): void;
};

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
  cache: Required<Pick<ResponseCache, 'peek'>>;
  auth: { peek(authorization: string): Principal | undefined };
  db: Pick<Db, 'stats'>;
  registry: Registry;
  /** The headers every response carries (helmet's), as [name, value] pairs. */
  staticHeaders: readonly (readonly [string, string])[];
  /** (principal, URL) pairs remembered in all (default 50,000) and per principal (default 5,000). */
  maxEntries?: number;
  maxUrlsPerPrincipal?: number;
  /** Longer URLs are not remembered (default 512 characters). */
  maxUrlLength?: number;
};

type Remembered = {
  read: PreparedRead;
  ok: client.Histogram.Internal<'method' | 'route' | 'status_code'>;
  notModified: client.Histogram.Internal<'method' | 'route' | 'status_code'>;
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
    help: 'GET requests the cached-read hot path looked up: served (fresh hit answered at once), passed (known read, not servable from the cache: went through the full stack), unknown (not seen before for this principal).',
    labelNames: ['result'],
    registers: [o.registry],
  }));
  const served = deferredInc(outcomes, { result: 'served' });
  const passed = deferredInc(outcomes, { result: 'passed' });
  const unknown = deferredInc(outcomes, { result: 'unknown' });
  const fixed: string[] = o.staticHeaders.flat();

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
      const answer = (hit: NonNullable<Peeked['hit']>): void => {
        served();
        const incoming = req.headers['x-request-id'];
        const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        const ifNoneMatch = req.headers['if-none-match'];
        const notModified = etagMatches(ifNoneMatch, hit.etag);
        const elapsed = performance.now() - start;
        const headers = [...fixed,
          'X-Request-Id', requestId,
          'X-Cache', 'HIT',
          'ETag', hit.etag,
          'Cache-Control', 'private, no-cache',
          'X-Response-Time', `${elapsed.toFixed(2)}ms`,
          'X-DB-Queries', '0',
        ];
        const utilization = poolUtilization(o.db);
        if (utilization !== '') headers.push('X-DB-Pool-Utilization', utilization);
        if (notModified) {
          res.writeHead(304, headers);
          res.end();
          hot.notModified.observe(elapsed / 1000);
        } else {
          headers.push('Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(hit.body.length));
          res.writeHead(200, headers);
          res.end(hit.body);
          hot.ok.observe(elapsed / 1000);
        }
      };
      // peek never rejects; if answering fails (a bug), the full stack answers instead — or, if
      // the head is already out, the connection is dropped rather than sending a second answer.
      o.cache.peek(hot.read).then((r) => {
        if (r.hit === undefined) {
          ctx.peeked = r.state;
          passed();
          next();
          return;
        }
        try {
          answer(r.hit);
        } catch {
          if (!res.headersSent) next();
          else res.destroy();
        }
      }, () => { next(); })
        // Only reached if Express itself threw synchronously: never leave the promise unhandled.
        .catch(() => { if (!res.writableEnded) res.destroy(); });
    },

    remember(principal, url, read, route) {
      // Long URLs (deep pagination cursors) keep taking the full stack: the memo stays small
      // (≤ 50,000 × ~1 KB) whatever URLs an authenticated client makes up.
      if (url.length > maxUrlLength) return;
      const pk = principalKey(principal);
      let urls = memo.get(pk);
      if (urls === undefined) memo.set(pk, (urls = new Map()));
      const known = urls.get(url);
      if (known !== undefined) {
        if (known.read.entryKey === read.entryKey) return;
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
      urls.set(url, { read, ok: hist.labels('GET', route, '200'), notModified: hist.labels('GET', route, '304') });
    },
  };
  return reads;
}
