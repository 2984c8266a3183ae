/**
 * /metrics of the worker answers while Redis is down or hanging: the queue gauges are left out of
 * that scrape (not reported stale) and the failed read is counted. A redis-server of the test's
 * own is stopped, or blocked with DEBUG SLEEP.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test as base } from 'vitest';
import { createLogger, createRegistry, type Registry } from '@rota/telemetry';
import { PrivateRedis, freeStaticPort, testDatabase, uniqueName, within, type TestDatabase } from '@rota/testkit';
import { createSchedulerWorker, type SchedulerWorker } from './scheduler.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });
let redis: PrivateRedis;
beforeAll(async () => {
  redis = new PrivateRedis(await freeStaticPort(), ['--enable-debug-command', 'local']);
  await redis.start();
});
afterAll(async () => {
  await redis?.stop();
});

/** The scrape, or an error if it did not answer within 5 s (it hung forever before). */
const scrape = (registry: Registry): Promise<string> => within(registry.metrics(), 5000, '/metrics');

const errors = (text: string): number => Number(/^bullmq_queue_read_errors_total\{queue="schedule-generation"[^}]*\} (\d+)$/m.exec(text)?.[1]);

test('counters the alerts take increase() of start at 0; queue gauges while Redis answers, hangs, and is down', { timeout: 60_000 }, async ({ tdb }) => {
  const registry = createRegistry('scheduler-worker');
  const w: SchedulerWorker = createSchedulerWorker({
    db: tdb.db, redisUrl: redis.url, prefix: uniqueName('m').replace(/_/g, '-'), concurrency: 1, logger: createLogger('t', 'silent'), registry,
    defaultTimeLimitSeconds: 1, lockDurationMs: 5000, stalledIntervalMs: 5000, maxStalledCount: 1, progressIntervalMs: 200, reconcileIntervalMs: 0,
  });
  try {
    const up = await scrape(registry);
    expect(up).toMatch(/^bullmq_job_count\{queue="schedule-generation",state="waiting"[^}]*\} 0$/m);
    expect(up).toMatch(/^bullmq_oldest_waiting_age_seconds\{queue="schedule-generation"[^}]*\} 0$/m);
    // Born at 0, so increase() sees the first failure, and GenerationQueueStalled a worker's first finished job.
    expect(errors(up)).toBe(0);
    for (const status of ['succeeded', 'failed', 'retry', 'cancelled']) {
      expect(up).toMatch(new RegExp(`^schedule_generation_duration_seconds_count\\{[^}]*status="${status}"[^}]*\\} 0$`, 'm'));
      expect(up).toMatch(new RegExp(`^schedule_generation_jobs_total\\{[^}]*status="${status}"[^}]*\\} 0$`, 'm'));
    }

    // Redis accepts the connection but does not answer.
    const blocker = new Redis(redis.url);
    const sleeping = blocker.call('DEBUG', 'SLEEP', '3').catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    const hung = await scrape(registry);
    expect(hung).not.toMatch(/^bullmq_job_count\{/m);
    expect(hung).not.toMatch(/^bullmq_oldest_waiting_age_seconds\{/m);
    await sleeping;
    blocker.disconnect();
    // The counter is rendered while the gauges still wait: a failure shows from the next scrape.
    expect(errors(await scrape(registry))).toBe(1);

    await redis.stop();
    const down = await scrape(registry);
    expect(down).not.toMatch(/^bullmq_job_count\{/m);
    expect(errors(await scrape(registry))).toBeGreaterThanOrEqual(2);
    // The rest of the exporter is still there.
    expect(down).toMatch(/^scheduler_worker_active_jobs/m);

    await redis.start();
    const back = await new Promise<string>((res, rej) => {
      const deadline = Date.now() + 15_000;
      const poll = (): void => {
        scrape(registry).then((t) => {
          if (/^bullmq_job_count\{/m.test(t)) res(t);
          else if (Date.now() > deadline) rej(new Error('queue gauges did not come back'));
          else setTimeout(poll, 200);
        }, rej);
      };
      poll();
    });
    expect(back).toMatch(/^bullmq_job_count\{queue="schedule-generation",state="waiting"[^}]*\} 0$/m);
  } finally {
    await w.close(0);
  }
});
