import type CircuitBreaker from 'opossum';
import { Counter, Gauge } from 'prom-client';
import { FastHistogram } from '@rota/telemetry';
import type { Registry } from 'prom-client';

/**
 * Metrics are looked up on the caller's registry before being created, so two caches (or a cache
 * and another instrumented breaker) can share a registry: they share the series, told apart by
 * their labels.
 */
function getOrCreate<M>(registry: Registry, name: string, kind: abstract new (...args: never[]) => M, create: () => M): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  if (existing instanceof kind) return existing;
  throw new TypeError(`metric ${name} is already registered with another type`);
}

type Collectable = { collect?: () => unknown; inc(labels: Record<string, string>, value: number): void };
const pendingOf = new WeakMap<object, { labels: Record<string, string>; n: number }[]>();

/**
 * An increment of one label set of `counter` that costs a plain `n++`: prom-client hashes the
 * labels on every inc (a few µs, several times per cache hit); here the count is added to the
 * counter when it is collected (every scrape, every registry read), so readers never see it late.
 */
export function deferredInc(counter: Counter<string>, labels: Record<string, string>): () => void {
  const c = counter as unknown as Collectable;
  let pending = pendingOf.get(counter);
  if (pending === undefined) {
    const list: { labels: Record<string, string>; n: number }[] = [];
    pending = list;
    pendingOf.set(counter, list);
    const previous = c.collect;
    c.collect = function (this: unknown) {
      for (const p of list) {
        if (p.n === 0) continue;
        const n = p.n;
        p.n = 0;
        c.inc(p.labels, n);
      }
      return previous?.call(this);
    };
  }
  const slot = { labels, n: 0 };
  pending.push(slot);
  c.inc(labels, 0); // the series exists from the start
  return () => {
    slot.n++;
  };
}

export type CacheMetrics = {
  requests: Counter<'namespace' | 'result'>;
  loadDuration: FastHistogram<'namespace'>;
  refreshes: Counter<'namespace' | 'trigger'>;
  fills: Counter<'namespace' | 'result'>;
  errors: Counter<'operation'>;
  local: Counter<'namespace' | 'result'>;
  /** Adds a source of the in-process copies' bytes (every cache on the registry adds its own); returns its removal. */
  addLocalBytes(source: () => number): () => void;
};

const localBytesSources = new WeakMap<Gauge, Set<() => number>>();

export function cacheMetrics(registry: Registry): CacheMetrics {
  const registers = [registry];
  return {
    requests: getOrCreate(registry, 'cache_requests_total', Counter, () => new Counter({
      name: 'cache_requests_total',
      help: 'Cache reads by namespace and result (hit, miss, stale, bypass).',
      labelNames: ['namespace', 'result'] as const,
      registers,
    })),
    loadDuration: getOrCreate<FastHistogram<'namespace'>>(registry, 'cache_load_duration_seconds', FastHistogram, () => new FastHistogram({
      name: 'cache_load_duration_seconds',
      help: 'Duration of cache loaders (the Postgres side of a miss, refresh or bypass).',
      labelNames: ['namespace'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    })),
    refreshes: getOrCreate(registry, 'cache_refreshes_total', Counter, () => new Counter({
      name: 'cache_refreshes_total',
      help: 'Background refreshes started, by trigger (stale: inside the stale window; early: XFetch).',
      labelNames: ['namespace', 'trigger'] as const,
      registers,
    })),
    fills: getOrCreate(registry, 'cache_fills_total', Counter, () => new Counter({
      name: 'cache_fills_total',
      help: 'Cache writes: stored, rejected (a scope was invalidated while loading), error.',
      labelNames: ['namespace', 'result'] as const,
      registers,
    })),
    errors: getOrCreate(registry, 'cache_errors_total', Counter, () => new Counter({
      name: 'cache_errors_total',
      help: 'Failed Redis operations of the cache (errors, timeouts, open-breaker rejections).',
      labelNames: ['operation'] as const,
      registers,
    })),
    local: getOrCreate(registry, 'cache_local_copy_reads_total', Counter, () => new Counter({
      name: 'cache_local_copy_reads_total',
      help: 'Reads that found an in-process copy of the entry: hit (served from it after its versions were checked in Redis), dropped (versions moved, or due for an early refresh: read from Redis).',
      labelNames: ['namespace', 'result'] as const,
      registers,
    })),
    addLocalBytes(source) {
      const gauge = getOrCreate(registry, 'cache_local_copy_bytes', Gauge, () => {
        const sources = new Set<() => number>();
        const g: Gauge = new Gauge({
          name: 'cache_local_copy_bytes',
          help: 'Bytes of response bodies held as in-process copies of cache entries (keys included).',
          registers,
          collect() {
            let total = 0;
            for (const s of sources) total += s();
            g.set(total);
          },
        });
        localBytesSources.set(g, sources);
        return g;
      });
      const sources = localBytesSources.get(gauge);
      sources?.add(source);
      return () => { sources?.delete(source); };
    },
  };
}

export type BreakerState = 'closed' | 'halfOpen' | 'open';

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, halfOpen: 1, open: 2 };

export const BREAKER_EVENTS = ['open', 'close', 'halfOpen', 'failure', 'timeout', 'reject', 'success'] as const;

export type BreakerLogger = {
  warn(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
};

/**
 * Exports an opossum breaker as `circuit_breaker_state{name}` (0 closed, 1 half-open, 2 open)
 * and `circuit_breaker_events_total{name,event}`, and logs its state changes.
 */
export function instrumentBreaker(
  breaker: CircuitBreaker<never[], unknown> | CircuitBreaker,
  registry: Registry,
  logger?: BreakerLogger,
): void {
  const name = breaker.name;
  const state = getOrCreate(registry, 'circuit_breaker_state', Gauge, () => new Gauge({
    name: 'circuit_breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
    labelNames: ['name'] as const,
    registers: [registry],
  }));
  const events = getOrCreate(registry, 'circuit_breaker_events_total', Counter, () => new Counter({
    name: 'circuit_breaker_events_total',
    help: 'Circuit breaker events (open, close, halfOpen, failure, timeout, reject, success).',
    labelNames: ['name', 'event'] as const,
    registers: [registry],
  }));
  const set = (s: BreakerState): void => state.set({ name }, STATE_VALUE[s]);
  set(breaker.opened ? 'open' : breaker.halfOpen ? 'halfOpen' : 'closed');
  for (const event of BREAKER_EVENTS) {
    // 'success' fires on every cache call: a deferred increment. The series exist from the start
    // (0), so rate() and alerts see them.
    const inc = deferredInc(events, { name, event });
    (breaker as CircuitBreaker).on(event as 'success', inc);
  }
  breaker.on('open', () => {
    set('open');
    logger?.warn({ breaker: name }, 'circuit breaker opened');
  });
  breaker.on('halfOpen', () => {
    set('halfOpen');
    logger?.info({ breaker: name }, 'circuit breaker half-open');
  });
  breaker.on('close', () => {
    set('closed');
    logger?.info({ breaker: name }, 'circuit breaker closed');
  });
}
