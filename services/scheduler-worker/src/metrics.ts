import client from 'prom-client';
import type { Queue } from 'bullmq';
import { metric, type Registry } from '@rota/telemetry';

export const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed'] as const;

/** Outcomes of a job attempt (the status label of the duration histogram and the jobs counter). */
export const JOB_OUTCOMES = ['succeeded', 'failed', 'retry', 'cancelled', 'handed_back', 'skipped'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];
export const RECONCILE_ACTIONS = ['reenqueued', 'failed', 'cancelled', 'error'] as const;

export type WorkerMetrics = {
  duration: client.Histogram<'status'>;
  score: client.Gauge;
  jobs: client.Counter<'status'>;
  busySeconds: client.Counter;
  activeJobs: client.Gauge;
  reconciled: client.Counter<'action'>;
};

/** A scrape must answer while Redis is down or hanging: queue reads give up after this. */
export const QUEUE_READ_TIMEOUT_MS = 1000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`queue read timed out after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}

/**
 * bullmq_job_count{queue,state} is read from Redis at scrape time (the KEDA autoscaling signal:
 * waiting + prioritized), so every worker reports the same queue-wide numbers. `queue` should sit
 * on a fail-fast connection (no offline queue); a read that fails or takes longer than
 * QUEUE_READ_TIMEOUT_MS leaves the queue gauges absent from that scrape (never stale numbers) and
 * counts bullmq_queue_read_errors_total, so /metrics answers while Redis is down.
 */
export function registerWorkerMetrics(registry: Registry, queue: Queue, readTimeoutMs = QUEUE_READ_TIMEOUT_MS): WorkerMetrics {
  const readErrors = metric(registry, 'bullmq_queue_read_errors_total', () => new client.Counter({
    name: 'bullmq_queue_read_errors_total',
    help: 'Scrape-time queue reads (bullmq_job_count, bullmq_oldest_waiting_age_seconds) that failed or timed out',
    labelNames: ['queue'],
    registers: [registry],
  }));
  readErrors.inc({ queue: queue.name }, 0);
  metric(registry, 'bullmq_job_count', () => new client.Gauge({
    name: 'bullmq_job_count',
    help: 'Jobs in the queue by state, read from Redis at scrape time (absent when Redis did not answer)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const counts = await withTimeout(queue.getJobCounts(...JOB_STATES), readTimeoutMs);
        for (const s of JOB_STATES) this.set({ queue: queue.name, state: s }, counts[s] ?? 0);
      } catch {
        readErrors.inc({ queue: queue.name });
      }
    },
  }));
  metric(registry, 'bullmq_oldest_waiting_age_seconds', () => new client.Gauge({
    name: 'bullmq_oldest_waiting_age_seconds',
    help: 'Age of the oldest waiting or prioritized job (0 when none), read from Redis at scrape time (absent when Redis did not answer)',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        // asc = oldest first; the range applies per state, so take the older of the two heads.
        const heads = await withTimeout(queue.getJobs(['waiting', 'prioritized'], 0, 0, true), readTimeoutMs);
        const oldest = Math.min(...heads.map((j) => j.timestamp).filter((t) => Number.isFinite(t)));
        this.set({ queue: queue.name }, Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
      } catch {
        readErrors.inc({ queue: queue.name });
      }
    },
  }));
  const m: WorkerMetrics = {
    duration: metric(registry, 'schedule_generation_duration_seconds', () => new client.Histogram({
      name: 'schedule_generation_duration_seconds',
      help: 'Time from job start to its end (load, solve, write), by final status of the attempt',
      labelNames: ['status'],
      buckets: [0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 3600],
      registers: [registry],
    })),
    score: metric(registry, 'schedule_generation_score', () => new client.Gauge({
      name: 'schedule_generation_score',
      help: 'Total soft penalty of the last roster this worker wrote (lower is better)',
      registers: [registry],
    })),
    jobs: metric(registry, 'schedule_generation_jobs_total', () => new client.Counter({
      name: 'schedule_generation_jobs_total',
      help: 'Generation job attempts by outcome (succeeded, failed, retry, cancelled, handed_back, skipped)',
      labelNames: ['status'],
      registers: [registry],
    })),
    busySeconds: metric(registry, 'scheduler_worker_busy_seconds_total', () => new client.Counter({
      name: 'scheduler_worker_busy_seconds_total',
      help: 'Seconds spent processing jobs (sum over concurrent jobs); rate() / concurrency = utilisation',
      registers: [registry],
    })),
    reconciled: metric(registry, 'schedule_generation_reconciled_total', () => new client.Counter({
      name: 'schedule_generation_reconciled_total',
      help: 'Runs the reconciler settled (reenqueued, failed, cancelled), and its failed passes (error)',
      labelNames: ['action'],
      registers: [registry],
    })),
    activeJobs: metric(registry, 'scheduler_worker_active_jobs', () => new client.Gauge({
      name: 'scheduler_worker_active_jobs',
      help: 'Jobs this worker is processing now',
      registers: [registry],
    })),
  };
  // Born at 0: a labelled series otherwise appears with its first observation already counted and
  // increase()/rate() miss it (GenerationQueueStalled would not see a worker's first finished job).
  for (const status of JOB_OUTCOMES) {
    m.duration.zero({ status });
    m.jobs.inc({ status }, 0);
  }
  for (const action of RECONCILE_ACTIONS) m.reconciled.inc({ action }, 0);
  return m;
}
