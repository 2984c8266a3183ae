import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Every variable the scheduler worker reads, with its default. docs/configuration.md lists the same. */
export const workerEnvSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/rota'),
  /** Connections: one per concurrent job for the write, plus progress updates. */
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(100).default(5),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  DATABASE_SLOW_QUERY_MS: z.coerce.number().int().min(1).default(1000),
  /** Parameterized statements run prepared (parsed and planned once per connection); false behind PgBouncer < 1.21 in transaction mode. */
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** REDIS_URL is one node of a Redis Cluster (any node, or the cluster's configuration endpoint); the client discovers the rest. */
  REDIS_CLUSTER: bool.default(false),
  /** BullMQ key prefix (as the hash tag `{QUEUE_PREFIX}`) and pub/sub channel prefix; must match the API's QUEUE_PREFIX. */
  QUEUE_PREFIX: z.string().regex(/^[a-z0-9_-]+$/).default('rota'),
  /** Jobs solved at once by this process. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** Parallel searches per job, one worker thread each; unset: max(1, floor(cores / WORKER_CONCURRENCY)). */
  SOLVER_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  METRICS_HOST: z.string().default('0.0.0.0'),
  /** Solver wall-clock limit when the run does not set options.timeLimitSeconds. */
  SOLVER_TIME_LIMIT_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /** On SIGTERM: how long an active job may keep running before it is handed back to the queue. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  /** BullMQ job lock; renewed every LOCK_DURATION_MS / 2 while the event loop is free (the solver runs in a thread). */
  LOCK_DURATION_MS: z.coerce.number().int().min(500).default(30_000),
  /** How often this worker looks for jobs whose lock expired (a crashed worker's jobs). */
  STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(30_000),
  /** Stalls allowed before a job fails (a job that kills its worker every time must not loop). */
  MAX_STALLED_COUNT: z.coerce.number().int().min(0).max(100).default(2),
  /** How often the reconciler settles runs no job will move on (lost job, failed run not marked); 0 = off. */
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
  /** The reconciler only looks at runs not written for this long (a solving run is written every PROGRESS_INTERVAL_MS). */
  RECONCILE_MIN_AGE_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Progress (Postgres row, job progress, pub/sub for SSE) is reported this often while solving. */
  PROGRESS_INTERVAL_MS: z.coerce.number().int().min(100).max(1000).default(500),
});

export type WorkerConfig = Readonly<z.infer<typeof workerEnvSchema>>;

/** Parses the environment once at boot; a bad value fails with the variable's name. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const r = workerEnvSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(r.data);
}
