import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import onHeaders from 'on-headers';
import client from 'prom-client';
import { runWithQueryContext, type Db, type QueryContext } from '@rota/db';
import { LATENCY_BUCKETS, metric, type Registry } from '@rota/telemetry';
import type { RequestState } from './context.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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
      const writer = db.stats()[0];
      if (writer) res.setHeader('X-DB-Pool-Utilization', ((writer.total - writer.idle) / writer.max).toFixed(2));
      res.setHeader('X-DB-Queries', String(ctx.queryCount));
    });
    runWithQueryContext(ctx, () => next());
  };
}

/** http_request_duration_seconds{method,route,status_code}, by route template, never raw URL. */
export function httpMetrics(registry: Registry): RequestHandler {
  const hist = metric(registry, 'http_request_duration_seconds', () => new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }));
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      hist.observe({ method: req.method, route, status_code: String(res.statusCode) }, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}
