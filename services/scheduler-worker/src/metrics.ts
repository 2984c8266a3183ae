import client from 'prom-client';
import type { Queue } from 'bullmq';
import { metric, registerQueueMetrics, type Registry } from '@rota/telemetry';

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

/**
 * The worker's metrics, and the queue gauges of @rota/telemetry (bullmq_job_count, the KEDA
 * signal; bullmq_oldest_waiting_age_seconds), which `queue` — on a fail-fast connection — feeds.
 */
export function registerWorkerMetrics(registry: Registry, queue: Queue): WorkerMetrics {
  registerQueueMetrics(registry, queue);
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
