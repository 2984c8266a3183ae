import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { currentQueryContext } from '@rota/db';
import type { Principal } from '../auth/principal.ts';
import { allowsScope, type Scope } from '../auth/scopes.ts';
import type { Deps } from '../deps.ts';
import { stateOf } from './context.ts';
import { AppError, forbidden } from './errors.ts';
import { parseOrThrow } from './validate.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObject = z.ZodType<Record<string, unknown>>;

export type HandlerContext<P, Q, B> = {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  deps: Deps;
};

/** What a handler returns: a JSON body (status default 200), or nothing when it wrote `res` itself. */
export type HandlerResult = { status?: number; json?: unknown; headers?: Record<string, string> } | void;

export type RouteDef<PS extends AnyObject, QS extends AnyObject, BS extends z.ZodType> = {
  method: Method;
  /** Express path, e.g. `/v1/departments/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** `public` skips authentication (login, health); everything else needs a principal. */
  auth?: 'public' | 'required';
  /**
   * The API-key scope this route needs (auth/scopes.ts), checked before validation and the
   * handler; null: any principal (public routes, `/v1/me`). Users are not limited by scopes.
   */
  scope: Scope | null;
  params?: PS;
  query?: QS;
  body?: BS;
  /** Response schemas for the OpenAPI document. */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  handler: (ctx: HandlerContext<z.infer<PS>, z.infer<QS>, z.infer<BS>>) => Promise<HandlerResult>;
};

export type RegisteredRoute = RouteDef<AnyObject, AnyObject, z.ZodType>;

/** Defines a route (typed); registration and the OpenAPI document both read the same object. */
export function route<PS extends AnyObject = z.ZodObject<{}>, QS extends AnyObject = z.ZodObject<{}>, BS extends z.ZodType = z.ZodUndefined>(
  def: RouteDef<PS, QS, BS>,
): RegisteredRoute {
  return def as unknown as RegisteredRoute;
}

const emptyObject = z.strictObject({});

export function mount(router: Router, routes: readonly RegisteredRoute[], deps: Deps): void {
  for (const r of routes) {
    router[r.method](r.path, async (req, res, next) => {
      try {
        const principal = stateOf(req).principal;
        if (r.auth !== 'public' && !principal) throw new AppError('unauthenticated', 'missing or invalid credentials');
        // Before anything reaches the cache: the hot path (hot-reads.ts) only replays reads this
        // stack served, so a key refused here is never answered there either.
        if (principal && r.auth !== 'public' && !allowsScope(principal, r.scope)) throw forbidden(`this API key lacks the scope ${r.scope}`);
        const params = parseOrThrow(r.params ?? emptyObject, req.params, 'params');
        const query = parseOrThrow(r.query ?? emptyObject, req.query, 'query');
        let body: unknown;
        if (r.body) {
          if (!req.is('application/json') && req.body === undefined) {
            throw new AppError('unsupported_media_type', 'send the body as application/json');
          }
          body = parseOrThrow(r.body, req.body, 'body');
        }
        const ryw = principal ? deps.readYourWrites : undefined;
        const ctx = currentQueryContext();
        if (ryw && r.method === 'get') {
          if (ctx && (await ryw.recent(principal!))) ctx.readYourWrites = true;
        }
        if (ctx) stateOf(req).queriesBeforeHandler = ctx.queryCount;
        const out = await r.handler({ req, res, params, query, body, principal: principal!, deps });
        // Committed: this principal's next reads (on any pod) go to the writer for a while.
        if (ryw && r.method !== 'get') await ryw.wrote(principal!);
        if (out && !res.headersSent) {
          for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
          if (out.json === undefined) res.status(out.status ?? 204).end();
          else res.status(out.status ?? 200).json(out.json);
        }
      } catch (e) {
        next(e);
      }
    });
  }
}
