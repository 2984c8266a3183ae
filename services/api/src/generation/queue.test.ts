/**
 * The API exports the generation queue's gauges too, so the backlog is observable (alerts, KEDA)
 * when no worker runs; the read is bounded, so /metrics answers while Redis is unreachable.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import { QUEUE_SCHEDULE_GENERATION, queueKeyPrefix } from '@rota/generation';
import { createLogger, createRegistry, type Registry } from '@rota/telemetry';
import { uniqueName, within } from '@rota/testkit';
import { createBullGenerationQueue } from './queue.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const logger = createLogger('t', 'silent');
const gauge = (text: string, state: string): number | undefined => {
  const m = new RegExp(`^bullmq_job_count\\{queue="schedule-generation",state="${state}"[^}]*\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

const scrape = (registry: Registry): Promise<string> => within(registry.metrics(), 5000, '/metrics');

test('bullmq_job_count is exported by the API with no worker running, and cached for a few seconds', { timeout: 30_000 }, async () => {
  const registry = createRegistry('api');
  const prefix = uniqueName('apiq').replace(/_/g, '-');
  const q = createBullGenerationQueue({ redis: { url: REDIS_URL }, prefix, logger, registry });
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const admin = new Queue(QUEUE_SCHEDULE_GENERATION, { connection, prefix: queueKeyPrefix(prefix) });
  try {
    await q.enqueue('1');
    await q.enqueue('2');
    const text = await scrape(registry);
    expect(gauge(text, 'waiting')).toBe(2);
    expect(gauge(text, 'prioritized')).toBe(0);
    expect(text).toMatch(/^bullmq_oldest_waiting_age_seconds\{queue="schedule-generation"[^}]*\} \d/m);
    // Several Prometheus replicas scraping do not each cost a Redis read.
    await q.enqueue('3');
    expect(gauge(await scrape(registry), 'waiting')).toBe(2);
  } finally {
    await admin.obliterate({ force: true }).catch(() => {});
    await admin.close();
    connection.disconnect();
    await q.close();
  }
});

test('while Redis is unreachable the gauges are absent, the failed read is counted, and /metrics answers', { timeout: 30_000 }, async () => {
  const registry = createRegistry('api');
  const q = createBullGenerationQueue({ redis: { url: 'redis://127.0.0.1:1' }, prefix: 'unreachable', logger, registry, enqueueTimeoutMs: 500 });
  try {
    const first = await scrape(registry);
    expect(gauge(first, 'waiting')).toBeUndefined();
    expect(first).not.toMatch(/^bullmq_oldest_waiting_age_seconds\{/m);
    expect(await scrape(registry)).toMatch(/^bullmq_queue_read_errors_total\{queue="schedule-generation"[^}]*\} [1-9]/m);
  } finally {
    await q.close();
  }
});
