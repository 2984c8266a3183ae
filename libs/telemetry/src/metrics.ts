import client from 'prom-client';
import { createDb, type Db, type PoolOptions, type QueryEvent } from '@rota/db';
import { FastHistogram, type HistogramChild } from './histogram.ts';
import type { Logger } from './logger.ts';

export type Registry = client.Registry;

/** A registry with Node's default metrics and a `service` label on every series. */
export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

/** Returns the metric registered under `name`, or registers the one `make` builds. */
export function metric<M extends object>(registry: client.Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/** Latency buckets (seconds) fine enough to tell 2 ms from 10 ms, and long enough for exports. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Pool gauges, read at scrape time: db_client_connections{pool,state},
 * db_client_connections_max{pool}, db_client_connections_pending_requests{pool},
 * db_prepared_statements, db_prepared_statement_renewals_total.
 */
export function registerPoolMetrics(registry: client.Registry, db: Pick<Db, 'stats' | 'prepared'>): void {
  new client.Gauge({
    name: 'db_prepared_statements',
    help: 'Distinct statement texts this process runs as prepared statements',
    registers: [registry],
    collect() {
      this.set(db.prepared().statements);
    },
  });
  let counted = 0;
  new client.Counter({
    name: 'db_prepared_statement_renewals_total',
    help: 'Prepared statements that had to be prepared anew (DDL changed their result, or the session lost them: a pooler without prepared-statement support)',
    registers: [registry],
    collect() {
      const n = db.prepared().renewals;
      this.inc(n - counted);
      counted = n;
    },
  });
  new client.Gauge({
    name: 'db_client_connections',
    help: 'Connections in the pool by state',
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      for (const s of db.stats()) {
        this.set({ pool: s.name, state: 'idle' }, s.idle);
        this.set({ pool: s.name, state: 'used' }, s.total - s.idle);
      }
    },
  });
  new client.Gauge({
    name: 'db_client_connections_max',
    help: 'Maximum connections of the pool',
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      for (const s of db.stats()) this.set({ pool: s.name }, s.max);
    },
  });
  new client.Gauge({
    name: 'db_client_connections_pending_requests',
    help: 'Requests waiting for a connection',
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      for (const s of db.stats()) this.set({ pool: s.name }, s.waiting);
    },
  });
}

/** The onQuery/onSlowQuery hooks for createDb: query duration histogram, slow counter and log. */
export function queryObservers(registry: client.Registry, logger: Logger): {
  onQuery: (e: QueryEvent) => void;
  onSlowQuery: (e: QueryEvent) => void;
} {
  const duration = metric(registry, 'db_query_duration_seconds', () => new FastHistogram({
    name: 'db_query_duration_seconds',
    help: 'Query duration by SQL operation',
    labelNames: ['operation', 'pool'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }));
  const slow = metric(registry, 'db_slow_queries_total', () => new client.Counter({
    name: 'db_slow_queries_total',
    help: 'Queries slower than the configured threshold',
    registers: [registry],
  }));
  const children = new Map<string, Map<string, HistogramChild>>();
  return {
    onQuery: (e) => {
      // One child per pool and operation (a handful), found without building a string.
      let byOperation = children.get(e.pool);
      if (byOperation === undefined) children.set(e.pool, (byOperation = new Map()));
      let child = byOperation.get(e.operation);
      if (child === undefined) byOperation.set(e.operation, (child = duration.labels({ operation: e.operation, pool: e.pool })));
      child.observe(e.durationMs / 1000);
    },
    onSlowQuery: (e) => {
      slow.inc();
      logger.warn({ requestId: e.requestId, durationMs: Math.round(e.durationMs), operation: e.operation, sql: e.text.slice(0, 500) }, 'slow query');
    },
  };
}

/** A database pool whose queries feed db_query_duration_seconds / slow-query logs and whose pool gauges are registered. */
export function createInstrumentedDb(o: Omit<PoolOptions, 'onQuery' | 'onSlowQuery'>, registry: client.Registry, logger: Logger): Db {
  const db = createDb({ ...o, ...queryObservers(registry, logger) });
  registerPoolMetrics(registry, db);
  return db;
}
