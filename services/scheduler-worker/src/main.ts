import { createServer } from 'node:http';
import { createInstrumentedDb, createLogger, createRegistry } from '@rota/telemetry';
import { loadWorkerConfig } from './config.ts';
import { createSchedulerWorker } from './scheduler.ts';

const config = loadWorkerConfig();
const logger = createLogger('scheduler-worker', config.LOG_LEVEL);
const registry = createRegistry('scheduler-worker');
const db = createInstrumentedDb({
  url: config.DATABASE_URL,
  max: config.DATABASE_POOL_MAX,
  statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
  slowQueryMs: config.DATABASE_SLOW_QUERY_MS,
  preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
  applicationName: 'rota-scheduler-worker',
}, registry, logger);

const scheduler = createSchedulerWorker({
  db,
  redisUrl: config.REDIS_URL,
  redisCluster: config.REDIS_CLUSTER,
  prefix: config.QUEUE_PREFIX,
  concurrency: config.WORKER_CONCURRENCY,
  ...(config.SOLVER_THREADS !== undefined ? { solverThreads: config.SOLVER_THREADS } : {}),
  logger,
  registry,
  defaultTimeLimitSeconds: config.SOLVER_TIME_LIMIT_SECONDS,
  lockDurationMs: config.LOCK_DURATION_MS,
  stalledIntervalMs: config.STALLED_INTERVAL_MS,
  maxStalledCount: config.MAX_STALLED_COUNT,
  progressIntervalMs: config.PROGRESS_INTERVAL_MS,
  reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
  reconcileMinAgeMs: config.RECONCILE_MIN_AGE_MS,
});

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', activeRuns: scheduler.activeRuns() }));
    return;
  }
  if (req.url === '/metrics') {
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => { logger.warn({ err }, 'metrics collection failed'); res.writeHead(500).end(); },
    );
    return;
  }
  res.writeHead(404).end();
});
server.listen(config.METRICS_PORT, config.METRICS_HOST, () => {
  const addr = server.address();
  logger.info({ metricsPort: typeof addr === 'object' && addr ? addr.port : config.METRICS_PORT, prefix: config.QUEUE_PREFIX, concurrency: config.WORKER_CONCURRENCY, solverThreads: scheduler.solverThreads }, 'scheduler worker started');
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, graceSeconds: config.SHUTDOWN_GRACE_SECONDS, activeRuns: scheduler.activeRuns() }, 'scheduler worker shutting down');
  // Past the grace period (plus time to write or hand back) something is stuck: exit anyway; the
  // stalled-job check of another worker recovers whatever was left.
  const force = setTimeout(() => process.exit(1), (config.SHUTDOWN_GRACE_SECONDS + 30) * 1000);
  force.unref();
  await scheduler.close(config.SHUTDOWN_GRACE_SECONDS * 1000);
  server.close();
  await db.end();
  logger.info('scheduler worker stopped');
  // Everything was closed deliberately; do not wait for stray client timers.
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
