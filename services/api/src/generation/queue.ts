/**
 * The API's handle on the schedule-generation queue (BullMQ) and the run-event channel. Built in
 * main.ts; the generation routes use it to enqueue, cancel, report queue positions and stream
 * progress to SSE clients.
 */
import { once } from 'node:events';
import { Queue } from 'bullmq';
import { createRedisClient, type RedisClient, type RedisTarget } from '@rota/cache';
import {
  QUEUE_SCHEDULE_GENERATION, cancelChannel, queueKeyPrefix, generationJobOptions, generationJobSchema, jobIdOf, runEventSchema, runEventsChannel, type RunEvent,
} from '@rota/generation';
import { registerQueueMetrics, withTimeout, type Logger, type Registry } from '@rota/telemetry';

export type GenerationQueue = {
  /** Adds the run's job (job id `run-<runId>`). Throws when Redis is unavailable. */
  enqueue(runId: string): Promise<void>;
  /** Signals a running job to stop (and removes a waiting one). Best effort: the run row is the durable flag. */
  cancel(runId: string): Promise<void>;
  /** 1-based position among waiting jobs, or null when not waiting. */
  position(runId: string): Promise<number | null>;
  /** Calls `onEvent` for every change event of the run until the returned function is called. */
  subscribe(runId: string, onEvent: (e: RunEvent) => void): () => void;
  close(): Promise<void>;
};

/** For tests and tools that run the API without a queue. */
export const noGenerationQueue: GenerationQueue = {
  async enqueue() { throw new Error('generation queue is not configured'); },
  async cancel() {},
  async position() { return null; },
  subscribe() { return () => {}; },
  async close() {},
};

export type BullGenerationQueueOptions = {
  redis: RedisTarget;
  /** QUEUE_PREFIX: BullMQ key prefix (as the hash tag `{QUEUE_PREFIX}`) and pub/sub channel prefix, shared with the workers. */
  prefix: string;
  logger: Logger;
  /** Attempts per job (transient faults are retried with exponential backoff). Default GENERATION_JOB_ATTEMPTS (8). */
  attempts?: number;
  /** First backoff delay in ms (doubles per attempt). Default GENERATION_JOB_BACKOFF_MS (2000): ~4 min from first failure to last attempt. */
  backoffMs?: number;
  /** An enqueue slower than this fails the submission with 503. Default 2000 ms. */
  enqueueTimeoutMs?: number;
  /**
   * Exports the queue gauges (bullmq_job_count, bullmq_oldest_waiting_age_seconds) here too, read
   * at most every 5 s and given up after 500 ms: the backlog stays observable (GenerationQueueStalled,
   * KEDA) when no worker runs to export it.
   */
  registry?: Registry;
};

export function createBullGenerationQueue(o: BullGenerationQueueOptions): GenerationQueue {
  const timeoutMs = o.enqueueTimeoutMs ?? 2000;
  // Fail fast when Redis is down (no offline queue): the submission answers 503 instead of hanging.
  const connection = createRedisClient(o.redis, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  connection.on('error', (err) => o.logger.debug({ err: err.message }, 'queue redis connection error'));
  const queue = new Queue(QUEUE_SCHEDULE_GENERATION, { connection, prefix: queueKeyPrefix(o.prefix) });
  queue.on('error', (err) => o.logger.debug({ err: err.message }, 'queue error'));
  const waitKey = queue.toKey('wait');
  if (o.registry) registerQueueMetrics(o.registry, queue, { timeoutMs: 500, cacheMs: 5000 });

  let sub: RedisClient | undefined;
  const listeners = new Map<string, Set<(e: RunEvent) => void>>();
  const subscriber = (): RedisClient => {
    if (sub) return sub;
    sub = createRedisClient(o.redis, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(times * 200, 2000) });
    sub.on('error', (err) => o.logger.debug({ err: err.message }, 'run-event subscriber error'));
    sub.on('message', (_channel, raw: string) => {
      let parsed: RunEvent;
      try {
        parsed = runEventSchema.parse(JSON.parse(raw));
      } catch {
        return;
      }
      for (const fn of listeners.get(parsed.runId) ?? []) fn(parsed);
    });
    sub.subscribe(runEventsChannel(o.prefix)).catch((err: unknown) => o.logger.warn({ err }, 'run-event subscription failed'));
    return sub;
  };

  /** Without an offline queue, a command sent while (re)connecting fails at once: wait for ready first. */
  const ready = async (): Promise<void> => {
    if (connection.status === 'ready') return;
    if (connection.status === 'wait') connection.connect().catch(() => {});
    const ac = new AbortController();
    try {
      await withTimeout(once(connection, 'ready', { signal: ac.signal }), timeoutMs, 'queue connection');
    } finally {
      ac.abort(); // drops the listener when we gave up waiting
    }
  };

  return {
    async enqueue(runId) {
      const data = generationJobSchema.parse({ runId });
      await ready();
      const opts = generationJobOptions(runId, { ...(o.attempts !== undefined ? { attempts: o.attempts } : {}), ...(o.backoffMs !== undefined ? { backoffMs: o.backoffMs } : {}) });
      await withTimeout(queue.add('generate', data, opts), timeoutMs, 'enqueue');
    },
    async cancel(runId) {
      await withTimeout(connection.publish(cancelChannel(o.prefix), runId), timeoutMs, 'cancel publish').catch(() => {});
      // Removes a waiting or delayed job; an active (locked) one is stopped by its worker instead.
      await withTimeout(queue.remove(jobIdOf(runId)), timeoutMs, 'job removal').catch(() => {});
    },
    async position(runId) {
      try {
        const [pos, len] = await withTimeout(Promise.all([connection.lpos(waitKey, jobIdOf(runId)), connection.llen(waitKey)]), 500, 'position');
        // Jobs are pushed on the left and taken from the right.
        return pos === null ? null : len - pos;
      } catch {
        return null;
      }
    },
    subscribe(runId, onEvent) {
      subscriber();
      let set = listeners.get(runId);
      if (!set) listeners.set(runId, (set = new Set()));
      set.add(onEvent);
      return () => {
        set.delete(onEvent);
        if (set.size === 0) listeners.delete(runId);
      };
    },
    async close() {
      await queue.close().catch(() => {});
      connection.disconnect();
      sub?.disconnect();
    },
  };
}
