import client from 'prom-client';
import { metric } from './metrics.ts';
import { withTimeout } from './timeout.ts';

/** The states bullmq_job_count reports (the KEDA signal is waiting + prioritized). */
export const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed'] as const;

/** What the gauges read of a BullMQ Queue (structural, so this lib needs no bullmq). */
export type QueueLike = {
  readonly name: string;
  getJobCounts(...states: (typeof JOB_STATES)[number][]): Promise<Record<string, number>>;
  getJobs(states: ('waiting' | 'prioritized')[], start: number, end: number, asc: boolean): Promise<{ timestamp: number }[]>;
};

export type QueueMetricsOptions = {
  /** A read slower than this is given up: /metrics must answer while Redis hangs. Default 1000 ms. */
  timeoutMs?: number;
  /** A successful read is reused for this long (scrapes of several Prometheus replicas). Default 0. */
  cacheMs?: number;
};

type Snapshot = { counts: Record<string, number>; oldestWaitingAt: number | null };

/**
 * bullmq_job_count{queue,state} and bullmq_oldest_waiting_age_seconds{queue}, read from Redis at
 * scrape time: every exporter (workers and API) reports the same queue-wide numbers, so queries
 * take max across instances. Give `queue` a fail-fast connection (no offline queue, few retries):
 * a read that fails or takes longer than `timeoutMs` leaves both gauges absent from that scrape
 * (never stale numbers) and counts bullmq_queue_read_errors_total{queue} (born at 0; rendered
 * before the gauges are read, so a failure shows from the next scrape).
 */
export function registerQueueMetrics(registry: client.Registry, queue: QueueLike, o: QueueMetricsOptions = {}): void {
  const timeoutMs = o.timeoutMs ?? 1000;
  const cacheMs = o.cacheMs ?? 0;
  const readErrors = metric(registry, 'bullmq_queue_read_errors_total', () => new client.Counter({
    name: 'bullmq_queue_read_errors_total',
    help: 'Scrape-time queue reads (bullmq_job_count, bullmq_oldest_waiting_age_seconds) that failed or timed out',
    labelNames: ['queue'],
    registers: [registry],
  }));
  readErrors.inc({ queue: queue.name }, 0);

  // One read serves both gauges of a scrape (and, with cacheMs, the scrapes that follow).
  let last: { at: number; snapshot: Snapshot } | undefined;
  let inFlight: Promise<Snapshot | null> | undefined;
  const snapshot = (): Promise<Snapshot | null> => {
    if (last && Date.now() - last.at <= cacheMs) return Promise.resolve(last.snapshot);
    inFlight ??= withTimeout((async (): Promise<Snapshot> => {
      // asc = oldest first; the range applies per state, so take the older of the two heads.
      const [counts, heads] = await Promise.all([queue.getJobCounts(...JOB_STATES), queue.getJobs(['waiting', 'prioritized'], 0, 0, true)]);
      const oldest = Math.min(...heads.map((j) => j.timestamp).filter((t) => Number.isFinite(t)));
      return { counts, oldestWaitingAt: Number.isFinite(oldest) ? oldest : null };
    })(), timeoutMs, 'queue read').then((s) => {
      last = { at: Date.now(), snapshot: s };
      return s;
    }, () => {
      readErrors.inc({ queue: queue.name });
      return null;
    }).finally(() => { inFlight = undefined; });
    return inFlight;
  };

  metric(registry, 'bullmq_job_count', () => new client.Gauge({
    name: 'bullmq_job_count',
    help: 'Jobs in the queue by state, read from Redis at scrape time (absent when Redis did not answer)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const s = await snapshot();
      if (s) for (const state of JOB_STATES) this.set({ queue: queue.name, state }, s.counts[state] ?? 0);
    },
  }));
  metric(registry, 'bullmq_oldest_waiting_age_seconds', () => new client.Gauge({
    name: 'bullmq_oldest_waiting_age_seconds',
    help: 'Age of the oldest waiting or prioritized job (0 when none), read from Redis at scrape time (absent when Redis did not answer)',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      const s = await snapshot();
      if (s) this.set({ queue: queue.name }, s.oldestWaitingAt === null ? 0 : Math.max(0, (Date.now() - s.oldestWaitingAt) / 1000));
    },
  }));
}
