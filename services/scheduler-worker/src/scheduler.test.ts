import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, test as base } from 'vitest';
import { QUEUE_SCHEDULE_GENERATION, createScenario, insertRun, jobIdOf, queueKeyPrefix } from '@rota/generation';
import { createLogger, createRegistry } from '@rota/telemetry';
import { testDatabase, uniqueName, type TestDatabase } from '@rota/testkit';
import { loadWorkerConfig } from './config.ts';
import { createSchedulerWorker, defaultSolverThreads } from './scheduler.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });
const REDIS_URL = 'redis://127.0.0.1:6379';

describe('config', () => {
  test('defaults, and a bad value fails naming the variable', () => {
    const c = loadWorkerConfig({});
    expect(c).toMatchObject({ QUEUE_PREFIX: 'rota', WORKER_CONCURRENCY: 1, METRICS_PORT: 9465, SOLVER_TIME_LIMIT_SECONDS: 30 });
    expect(() => loadWorkerConfig({ WORKER_CONCURRENCY: 'many' })).toThrow(/WORKER_CONCURRENCY/);
    expect(() => loadWorkerConfig({ QUEUE_PREFIX: 'Bad Prefix' })).toThrow(/QUEUE_PREFIX/);
    expect(c.SOLVER_THREADS).toBeUndefined();
    expect(loadWorkerConfig({ SOLVER_THREADS: '2' }).SOLVER_THREADS).toBe(2);
    expect(() => loadWorkerConfig({ SOLVER_THREADS: '0' })).toThrow(/SOLVER_THREADS/);
  });

  test('solver threads default to the cores shared out among concurrent jobs', () => {
    expect(defaultSolverThreads(1, 2)).toBe(2);
    expect(defaultSolverThreads(2, 2)).toBe(1);
    expect(defaultSolverThreads(3, 2)).toBe(1);
    expect(defaultSolverThreads(2, 8)).toBe(4);
  });
});

describe('scheduler worker', () => {
  test('processes a job by run id (with the default solver threads); /metrics reports queue counts by state, duration, score and busy time', { timeout: 60_000 }, async ({ tdb }) => {
    const prefix = uniqueName('w').replace(/_/g, '-');
    const registry = createRegistry('scheduler-worker');
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const producer = new Queue(QUEUE_SCHEDULE_GENERATION, { connection, prefix: queueKeyPrefix(prefix) });
    const s = await createScenario(tdb.db, { employees: 5, periodStart: '2030-01-07', days: 7 });
    const runId = await insertRun(tdb.db, s, { timeLimitSeconds: 1 });
    const waitingRun = await insertRun(tdb.db, { ...s, periodStart: '2030-01-14', periodEnd: '2030-01-20' });
    await producer.add('generate', { runId }, { jobId: jobIdOf(runId) });
    const w = createSchedulerWorker({
      db: tdb.db, redisUrl: REDIS_URL, prefix, concurrency: 1, logger: createLogger('t', 'silent'), registry,
      defaultTimeLimitSeconds: 1, lockDurationMs: 5000, stalledIntervalMs: 5000, maxStalledCount: 1, progressIntervalMs: 200,
    });
    expect(w.solverThreads).toBe(defaultSolverThreads(1));
    try {
      for (let i = 0; i < 200; i++) {
        const r = await tdb.db.query<{ status: string }>('SELECT status FROM generation_runs WHERE id = $1', [runId]);
        if (r.rows[0]?.status === 'succeeded') break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const run = await tdb.db.query<{ status: string; progress: number; result: { hardViolations: number } }>('SELECT status, progress, result FROM generation_runs WHERE id = $1', [runId]);
      expect(run.rows[0]).toMatchObject({ status: 'succeeded', progress: 100, result: { hardViolations: 0 } });
      // The run row commits before the processor's bookkeeping (metrics) finishes.
      for (let i = 0; i < 100 && w.activeRuns().length > 0; i++) await new Promise((res) => setTimeout(res, 50));
      await w.worker.pause();
      await producer.add('generate', { runId: waitingRun }, { jobId: jobIdOf(waitingRun) });
      const text = await registry.metrics();
      expect(text).toMatch(/bullmq_job_count\{queue="schedule-generation",state="waiting",service="scheduler-worker"\} 1/);
      expect(text).toMatch(/bullmq_job_count\{queue="schedule-generation",state="completed",service="scheduler-worker"\} 1/);
      for (const state of ['prioritized', 'delayed', 'active', 'failed']) expect(text).toContain(`state="${state}"`);
      expect(text).toMatch(/schedule_generation_duration_seconds_count\{[^}]*status="succeeded"[^}]*\} 1/);
      expect(text).toMatch(/schedule_generation_score\{service="scheduler-worker"\} \d/);
      expect(text).toMatch(/scheduler_worker_busy_seconds_total\{service="scheduler-worker"\} [1-9]/);
    } finally {
      await w.close(0);
      await producer.obliterate({ force: true }).catch(() => {});
      await producer.close();
      connection.disconnect();
    }
  });
});
