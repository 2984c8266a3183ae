import type { Request } from 'express';
import type { Principal } from '../auth/principal.ts';

/** Per-request state hung on res.locals by the middleware. */
export type RequestState = {
  requestId: string;
  principal?: Principal;
  start: bigint;
  /** Queries the request had run when its route handler started (see sendCached). */
  queriesBeforeHandler?: number;
};

export function stateOf(req: Request): RequestState {
  return (req.res?.locals as { rota?: RequestState }).rota!;
}

export function requestIdOf(req: Request): string {
  return (req.res?.locals as { rota?: RequestState } | undefined)?.rota?.requestId ?? 'unknown';
}
