import { createServer as createHttpServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express from 'express';
import helmet from 'helmet';
import { withTimeout } from '@rota/telemetry';
import type { Deps } from './deps.ts';
import { errorMiddleware, notFoundHandler } from './http/errors.ts';
import { createCors, type Cors } from './http/cors.ts';
import { createHotReads } from './http/hot-reads.ts';
import { captureStaticHeaders, httpMetrics, requestContext, staticHeaders } from './http/middleware.ts';
import { buildOpenApi } from './http/openapi.ts';
import { mount, type RegisteredRoute } from './http/route.ts';
import { allRoutes } from './routes/index.ts';

export type ReadinessCheck = () => Promise<{ name: string; ok: boolean; required: boolean; detail?: string }>;

export type AppOptions = {
  /** Extra readiness checks (e.g. the outbox relay's Kafka producer), reported by /readyz. */
  readiness?: ReadinessCheck[];
  routes?: readonly RegisteredRoute[];
  /** Built from `CORS_ORIGINS` when not given; createServer shares one with the hot path. */
  cors?: Cors;
};

const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const DOCS_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Rota API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

/**
 * Security headers of every API response (JSON, exports, errors), set by both paths: the set the
 * OWASP REST Security Cheat Sheet gives for API responses — nothing may frame, sniff or load
 * from them, HTTPS only — plus no referrer and same-origin reads. The rest of helmet's set
 * (COOP, Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options, …) governs HTML
 * documents: 430 bytes more on every response for nothing a JSON client reads.
 */
export const API_SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];
/** The rendered docs are an HTML page a browser runs: helmet's whole set, scripts and styles from here only. */
const DOCS_SECURITY_HEADERS = captureStaticHeaders(helmet({ contentSecurityPolicy: { directives: { 'script-src': ["'self'"], 'img-src': ["'self'", 'data:'] } } }));

/**
 * The API's HTTP server: the hot path of cached reads (http/hot-reads.ts) sees every request
 * first and hands on what it cannot answer to the Express app.
 */
export function createServer(deps: Deps, opts: AppOptions = {}): Server {
  const cors = opts.cors ?? createCors(deps.config.CORS_ORIGINS);
  const app = createApp(deps, { ...opts, cors });
  const peek = deps.cache.peek?.bind(deps.cache);
  if (!peek || !deps.cache.prepare) return createHttpServer(app);
  const hot = createHotReads({ cache: { peek, getOrLoad: deps.cache.getOrLoad.bind(deps.cache) }, readYourWrites: deps.readYourWrites, auth: deps.auth, db: deps.db, registry: deps.registry, staticHeaders: API_SECURITY_HEADERS, cors });
  return createHttpServer((req, res) => {
    hot.handle(req, res, () => { app(req, res); });
  });
}

/** `/v1/employees/7/history` → `/v1/employees` (lower case: Express matches case-insensitively). */
function resourceOf(path: string): string {
  const second = path.indexOf('/', 1);
  const third = second < 0 ? -1 : path.indexOf('/', second + 1);
  return (third < 0 ? path : path.slice(0, third)).toLowerCase();
}

/** `POST /v1/auth/token/` → `post /v1/auth/token` (Express matches case-insensitively, with or without a trailing slash). */
function routeKey(method: string, path: string): string {
  return `${method.toLowerCase()} ${path.toLowerCase().replace(/(.)\/$/, '$1')}`;
}

export function createApp(deps: Deps, opts: AppOptions = {}): express.Express {
  const routes = opts.routes ?? allRoutes;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.TRUST_PROXY);
  app.set('etag', false); // ETags come from the cache layer (hash of the exact bytes)
  app.set('query parser', 'simple');
  app.use(requestContext(deps.db));
  app.use(httpMetrics(deps.registry));
  app.use(staticHeaders(API_SECURITY_HEADERS));
  // Before authentication: a preflight carries no credentials.
  app.use((opts.cors ?? createCors(deps.config.CORS_ORIGINS)).middleware);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all([
      (async () => {
        try { await withTimeout(deps.db.query('SELECT 1'), 1000, 'postgres'); return { name: 'postgres', ok: true, required: true }; }
        catch (e) { return { name: 'postgres', ok: false, required: true, detail: (e as Error).message }; }
      })(),
      // Reported, not required: without Redis the API still serves reads from Postgres (SPEC §9),
      // and a required check would take every pod out of its Service during a Redis blip.
      (async () => {
        try { await withTimeout(deps.redis.ping(), 500, 'redis'); return { name: 'redis', ok: true, required: false }; }
        catch (e) { return { name: 'redis', ok: false, required: false, detail: (e as Error).message }; }
      })(),
      ...(opts.readiness ?? []).map((c) => c().catch((e: unknown) => ({ name: 'check', ok: false, required: false, detail: (e as Error).message }))),
    ]);
    const ready = checks.every((c) => c.ok || !c.required);
    const status = !ready ? 'not ready' : checks.every((c) => c.ok) ? 'ready' : 'degraded';
    res.status(ready ? 200 : 503).json({ status, checks });
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type(deps.registry.contentType).send(await deps.registry.metrics());
    } catch (e) {
      next(e);
    }
  });
  const openapi = buildOpenApi(routes, '1.0.0');
  app.get('/openapi.json', (_req, res) => { res.json(openapi); });
  app.use('/docs', staticHeaders(DOCS_SECURITY_HEADERS));
  app.get('/docs', (_req, res) => { res.type('html').send(DOCS_HTML); });
  app.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send("window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });");
  });
  app.use('/docs/assets', express.static(swaggerDir, { index: false, maxAge: '1d' }));

  // Public routes (login) ignore the Authorization header: a client still sending its expired
  // token must be able to log in. Their paths have no parameters, so a set lookup finds them.
  const publicRoutes = new Set(routes.filter((r) => r.auth === 'public').map((r) => routeKey(r.method, r.path)));
  app.use((req, res, next) => {
    if (publicRoutes.has(routeKey(req.method, req.path))) next();
    else void deps.auth.middleware(req, res, next);
  });
  app.use(express.json({ limit: deps.config.BODY_LIMIT, strict: true }));
  // One router per resource (`/v1/<resource>`), picked by a map lookup: Express matches a
  // router's routes one by one, and a request should not walk past all 67 of them.
  const groups = new Map<string, express.Router>();
  for (const r of routes) {
    const key = resourceOf(r.path);
    let router = groups.get(key);
    if (router === undefined) groups.set(key, (router = express.Router()));
    mount(router, [r], deps);
  }
  app.use((req, res, next) => {
    const router = groups.get(resourceOf(req.path));
    if (router === undefined) next();
    else router(req, res, next);
  });
  app.use(notFoundHandler);
  app.use(errorMiddleware(deps.logger));
  return app;
}
