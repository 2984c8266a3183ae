/** Test helpers for schedule generation: a real BullMQ queue, in-process or child-process workers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger, createRegistry } from '@rota/telemetry';
import { createSchedulerWorker, type SchedulerWorker, type SchedulerWorkerOptions } from '@rota/scheduler-worker';
import type { Deps } from '../../deps.ts';
import { createBullGenerationQueue, type GenerationQueue } from '../../generation/queue.ts';
import type { TestApi } from '../../testing.ts';

/** For `apiFixture({ generation: realQueue })`: short backoff so retries happen within a test. */
export const realQueue = (d: Omit<Deps, 'generation'>): GenerationQueue =>
  createBullGenerationQueue({ redis: { url: d.config.REDIS_URL, cluster: d.config.REDIS_CLUSTER }, prefix: d.config.QUEUE_PREFIX, logger: d.logger, backoffMs: 200 });

/** A worker in this process with test timings (short locks so stalled jobs are found fast). */
export function startWorker(api: TestApi, o: Partial<SchedulerWorkerOptions> = {}): SchedulerWorker {
  return createSchedulerWorker({
    db: api.tdb.db,
    redisUrl: api.deps.config.REDIS_URL,
    redisCluster: api.deps.config.REDIS_CLUSTER,
    prefix: api.deps.config.QUEUE_PREFIX,
    concurrency: 1,
    logger: createLogger('scheduler-worker-test', 'silent'),
    registry: createRegistry('scheduler-worker'),
    defaultTimeLimitSeconds: 2,
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
    maxStalledCount: 2,
    progressIntervalMs: 300,
    ...o,
  });
}

const WORKER_MAIN = fileURLToPath(new URL('../../../../scheduler-worker/src/main.ts', import.meta.url));

/** The real worker entry point as a child process (for SIGKILL / SIGTERM scenarios). */
export function spawnWorker(api: TestApi, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [WORKER_MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: api.tdb.url,
      REDIS_URL: api.deps.config.REDIS_URL,
      REDIS_CLUSTER: String(api.deps.config.REDIS_CLUSTER),
      QUEUE_PREFIX: api.deps.config.QUEUE_PREFIX,
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      LOG_LEVEL: 'silent',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Reads an SSE stream until it ends; returns the parsed `status` events. */
export async function readEvents(url: string, token: string, timeoutMs = 30_000): Promise<{ status: string; progress: number; bestScore: number | null }[]> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ctrl.signal });
    if (res.status !== 200) throw new Error(`SSE answered ${res.status}`);
    const text = await res.text();
    return text.split('\n\n').filter((b) => b.includes('event: status')).map((b) => {
      const data = b.split('\n').find((l) => l.startsWith('data: '))!.slice(6);
      return JSON.parse(data) as { status: string; progress: number; bestScore: number | null };
    });
  } finally {
    clearTimeout(timer);
  }
}
