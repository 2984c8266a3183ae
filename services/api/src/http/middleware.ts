import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import onHeaders from 'on-headers';
import { runWithQueryContext, type Db, type QueryContext } from '@rota/db';
import { FastHistogram, LATENCY_BUCKETS, metric, type Registry } from '@rota/telemetry';
import type { RequestState } from './context.ts';

/** An incoming X-Request-Id is echoed only when it looks like this. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Share of the writer pool's connections in use, as sent in X-DB-Pool-Utilization ('' without a pool). */
export function poolUtilization(db: Pick<Db, 'stats'>): string {
  const writer = db.stats()[0];
  return writer ? ((writer.total - writer.idle) / writer.max).toFixed(2) : '';
}

/**
 * Runs a middleware that only sets fixed response headers (helmet) once against a stub and
 * returns what it set, so every response — including the hot path's, which writes its head in
 * one call — carries exactly the same headers without running it per request.
 */
export function captureStaticHeaders(mw: RequestHandler): [string, string][] {
  const set = new Map<string, [string, string]>();
  let done = false;
  const res = {
    setHeader(name: string, value: unknown) { set.set(name.toLowerCase(), [name, String(value)]); },
    removeHeader(name: string) { set.delete(name.toLowerCase()); },
  };
  void mw({} as never, res as never, ((err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error(String(err));
    done = true;
  }) as never);
  if (!done) throw new Error('captureStaticHeaders: the middleware did not finish synchronously');
  return [...set.values()];
}

/** Sets the captured headers (see captureStaticHeaders). */
export function staticHeaders(headers: readonly (readonly [string, string])[]): RequestHandler {
  return (_req, res, next) => {
    for (const [k, v] of headers) res.setHeader(k, v);
    next();
  };
}

/**
 * Request id (echoed when sane, else generated), the query-count context, and the headers that
 * must be computed when the response head is written: X-Response-Time, X-DB-Pool-Utilization,
 * X-DB-Queries (queries this request ran: lets tests and operators spot N+1).
 */
export function requestContext(db: Pick<Db, 'stats'>): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const state: RequestState = { requestId, start: process.hrtime.bigint() };
    res.locals['rota'] = state;
    res.setHeader('X-Request-Id', requestId);
    const ctx: QueryContext = { queryCount: 0, requestId };
    onHeaders(res, () => {
      const ms = Number(process.hrtime.bigint() - state.start) / 1e6;
      res.setHeader('X-Response-Time', `${ms.toFixed(2)}ms`);
      const u = poolUtilization(db);
      if (u !== '') res.setHeader('X-DB-Pool-Utilization', u);
      res.setHeader('X-DB-Queries', String(ctx.queryCount));
    });
    runWithQueryContext(ctx, () => next());
  };
}

/** http_request_duration_seconds{method,route,status_code}, by route template, never raw URL. */
export function httpDurationHistogram(registry: Registry): FastHistogram<'method' | 'route' | 'status_code'> {
  return metric(registry, 'http_request_duration_seconds', () => new FastHistogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }));
}

export function httpMetrics(registry: Registry): RequestHandler {
  const hist = httpDurationHistogram(registry);
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      hist.observe({ method: req.method, route, status_code: String(res.statusCode) }, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}
