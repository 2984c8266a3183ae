import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request (or per-job) database context: counts queries so tests can assert "no N+1". */
export type QueryContext = { queryCount: number; requestId?: string; readYourWrites?: boolean };

const storage = new AsyncLocalStorage<QueryContext>();

/** Runs `fn` with a fresh query context; the returned context holds the count afterwards. */
export function runWithQueryContext<T>(ctx: QueryContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentQueryContext(): QueryContext | undefined {
  return storage.getStore();
}
