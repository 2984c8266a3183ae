import type { RequestHandler } from 'express';

/**
 * Cross-origin access for browser clients on other origins (a scheduling UI served from its own
 * host). Off unless origins are configured (`CORS_ORIGINS`). Requests authenticate with a bearer
 * token or API key, never cookies, so credentials mode stays off. CORS is not access control: a
 * request from an origin that is not allowed is still answered (without CORS headers, so the
 * browser withholds the response from the page); authorization decides what anyone may do.
 */
export type Cors = {
  /** False while no origin is configured: then `headers()` is always empty and the middleware passes. */
  readonly enabled: boolean;
  /**
   * Headers (name, value, name, value, …) of a response to a request carrying `origin`: the ones
   * every response carries while CORS is on, plus `Access-Control-Allow-Origin` when allowed.
   * Empty while CORS is off. Both the hot path and the Express stack add them.
   */
  headers(origin: string | undefined): readonly string[];
  /** Express middleware: sets `headers()` and answers preflight requests (204), before authentication. */
  middleware: RequestHandler;
};

/** Response headers a page may read besides the CORS-safelisted ones. */
const EXPOSED = 'ETag, Location, Retry-After, X-Request-Id, X-Response-Time, X-Cache, X-DB-Pool-Utilization, X-DB-Queries';
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'Authorization, Content-Type, If-None-Match, Idempotency-Key, X-Request-Id';
/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 h). */
const PREFLIGHT_MAX_AGE_S = '600';

/** `https://app.example.com` or `http://localhost:5173`: scheme, host and port only, as a browser sends it. */
export const ORIGIN_PATTERN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/;

/** `origins`: exact origins, or `['*']` for any. Empty: CORS off. */
export function createCors(origins: readonly string[]): Cors {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  const on = origins.length > 0;
  // With a list, the answer depends on Origin: caches must key on it.
  const always: readonly string[] = !on ? [] : any ? ['Access-Control-Expose-Headers', EXPOSED] : ['Vary', 'Origin', 'Access-Control-Expose-Headers', EXPOSED];
  const allowOf = (origin: string | undefined): string | undefined =>
    origin === undefined ? undefined : any ? '*' : allowed.has(origin) ? origin : undefined;

  const headers = (origin: string | undefined): readonly string[] => {
    const allow = on ? allowOf(origin) : undefined;
    return allow === undefined ? always : [...always, 'Access-Control-Allow-Origin', allow];
  };

  const middleware: RequestHandler = (req, res, next) => {
    if (!on) return next();
    const origin = req.headers.origin;
    const h = headers(origin);
    for (let i = 0; i < h.length; i += 2) res.setHeader(h[i]!, h[i + 1]!);
    if (req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined) {
      if (allowOf(origin) !== undefined) {
        res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
        res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
        res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_S);
      }
      res.status(204).end();
      return;
    }
    next();
  };
  return { enabled: on, headers, middleware };
}
