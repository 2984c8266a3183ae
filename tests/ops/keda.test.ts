/**
 * The worker autoscaling signal, end to end: the KEDA ScaledObject's own query and threshold (read
 * from infra/k8s) evaluated by a real Prometheus that scrapes the real worker metrics exporter of
 * two scheduler-worker instances (two replicas), while a real BullMQ queue (unique prefix) is
 * filled through the API's enqueue path. The replica count KEDA's HPA would set —
 * ceil(value / threshold) clamped to [min, max] — must follow the backlog.
 *
 * The two workers are the service's own `createSchedulerWorker` with their consumers paused, so
 * jobs stay waiting (a consuming worker would drain them before Prometheus could look).
 */
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueName, type TestDatabase } from '@rota/testkit';
import { createBullGenerationQueue, type GenerationQueue } from '../../services/api/src/generation/queue.ts';
import { createSchedulerWorker, type SchedulerWorker } from '../../services/scheduler-worker/src/index.ts';
import { createLogger, createRegistry, type Registry } from '../../libs/telemetry/src/index.ts';
import { DEFAULT_REDIS_URL, waitFor } from '../e2e/harness.ts';
import { startPrometheus, single, type TestPrometheus } from './prometheus.ts';
import { readYamlDocuments, repoRoot } from './support.ts';

type ScaledObject = {
  kind: string;
  spec: {
    scaleTargetRef: { name: string };
    minReplicaCount: number;
    maxReplicaCount: number;
    triggers: { type: string; metricType?: string; metadata: { query: string; threshold: string } }[];
  };
};

const manifest = readYamlDocuments(resolve(repoRoot, 'infra/k8s/scheduler-worker/scaledobject.yaml')) as ScaledObject[];
const so = manifest.find((d) => d.kind === 'ScaledObject');
if (!so) throw new Error('no ScaledObject in infra/k8s/scheduler-worker/scaledobject.yaml');
const trigger = so.spec.triggers.find((t) => t.type === 'prometheus');
if (!trigger) throw new Error('the ScaledObject has no prometheus trigger');
const { query } = trigger.metadata;
const threshold = Number(trigger.metadata.threshold);
const { minReplicaCount: min, maxReplicaCount: max } = so.spec;

/** What KEDA's HPA does with an AverageValue metric. */
function impliedReplicas(value: number): number {
  return Math.min(max, Math.max(min, Math.ceil(value / threshold)));
}

function serve(registry: Registry): Promise<{ server: Server; target: string }> {
  const server = createServer((req, res) => {
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    res({ server, target: `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` });
  }));
}

describe('KEDA ScaledObject of scheduler-worker', () => {
  it('scales the worker Deployment on a Prometheus query with an AverageValue threshold', () => {
    expect(so.spec.scaleTargetRef.name).toBe('scheduler-worker');
    expect(trigger.metricType ?? 'AverageValue').toBe('AverageValue');
    expect(threshold).toBeGreaterThan(0);
    expect(min).toBeGreaterThanOrEqual(1);
    expect(max).toBeGreaterThan(min);
    // waiting + prioritized of the generation queue; never active/delayed or a raw list length
    expect(query).toContain('bullmq_job_count');
    expect(query).toContain('queue="schedule-generation"');
    expect(query).toMatch(/state=~"waiting\|prioritized"|state=~"prioritized\|waiting"/);
  });

  describe('against a real Prometheus scraping two real worker exporters', () => {
    let tdb: TestDatabase;
    let prefix: string;
    const workers: SchedulerWorker[] = [];
    const servers: Server[] = [];
    let prom: TestPrometheus;
    let api: GenerationQueue;
    const logger = createLogger('keda-test', 'silent');
    let nextRun = 1;

    beforeAll(async () => {
      tdb = await createTestDatabase({ poolMax: 3 });
      prefix = uniqueName('keda').replace(/_/g, '-');
      const targets: string[] = [];
      for (let i = 0; i < 2; i++) {
        const registry = createRegistry('scheduler-worker');
        const w = createSchedulerWorker({
          db: tdb.db, redisUrl: DEFAULT_REDIS_URL, prefix, concurrency: 1, logger, registry,
          defaultTimeLimitSeconds: 5, lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 1, progressIntervalMs: 500,
        });
        // No job exists yet; from here on this replica takes none, so the jobs stay waiting.
        await w.worker.pause(true);
        workers.push(w);
        const s = await serve(registry);
        servers.push(s.server);
        targets.push(s.target);
      }
      api = createBullGenerationQueue({ redis: { url: DEFAULT_REDIS_URL }, prefix, logger });
      prom = await startPrometheus({
        targets: { 'scheduler-worker': targets }, scrapeInterval: '1s',
        ruleFiles: [resolve(repoRoot, 'infra/prometheus/rules/recording.yml')],
      });
      await prom.waitForTargets();
    }, 120_000);

    afterAll(async () => {
      await prom?.stop();
      await workers[0]?.queue.obliterate({ force: true }).catch(() => {});
      await Promise.all(workers.map((w) => w.close(0)));
      for (const s of servers) s.close();
      await api?.close();
      await tdb?.drop();
    }, 60_000);

    /** Waits until the query reports `backlog` (scrapes are 1 s apart), returns the replicas. */
    async function replicasAt(backlog: number): Promise<number> {
      const value = await waitFor(`the KEDA query to report ${backlog}`, async () => {
        const v = single(await prom.query(query));
        return v === backlog ? v : undefined;
      }, 15_000, 250).catch(async (e: unknown) => {
        throw new Error(`${(e as Error).message}; last value ${JSON.stringify(await prom.query(query))}`);
      });
      return impliedReplicas(value);
    }

    async function enqueue(n: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = String(nextRun++);
        await api.enqueue(id);
        ids.push(id);
      }
      return ids;
    }

    it('empty queue → minReplicaCount', async () => {
      expect(await replicasAt(0)).toBe(min);
    });

    it('waiting jobs → ceil(jobs / threshold) replicas, counted once however many workers report them', async () => {
      const jobs = 7;
      await enqueue(jobs);
      expect(await replicasAt(jobs)).toBe(Math.min(max, Math.max(min, Math.ceil(jobs / threshold))));
      if (threshold === 2 && min <= 4 && max >= 4) expect(impliedReplicas(jobs)).toBe(4);
      // Both replicas export the queue-wide count: a plain sum would double the signal.
      const naive = 'sum(bullmq_job_count{queue="schedule-generation",state=~"waiting|prioritized"})';
      await waitFor('both replicas scraped', async () => single(await prom.query(naive)) === 2 * jobs, 15_000, 250);
      expect(single(await prom.query(query))).toBe(jobs);
      // The alerts and the dashboard use the recording rule: it must say the same as KEDA.
      await waitFor('the recording rule', async () => single(await prom.query('queue:bullmq_backlog_jobs:max')) === jobs, 15_000, 250);
    }, 30_000);

    it('prioritized jobs count; delayed ones do not', async () => {
      const q = workers[0]!.queue;
      await q.add('generate', { runId: String(nextRun) }, { jobId: `run-${nextRun++}`, priority: 5 });
      await q.add('generate', { runId: String(nextRun) }, { jobId: `run-${nextRun++}`, delay: 600_000 });
      expect(await replicasAt(8)).toBe(impliedReplicas(8));
      const byState = await prom.query('max by (state) (bullmq_job_count{queue="schedule-generation"})');
      const state = (s: string): number => Number(byState.find((x) => x.metric['state'] === s)?.value[1]);
      expect(state('waiting')).toBe(7);
      expect(state('prioritized')).toBe(1);
      expect(state('delayed')).toBe(1);
    }, 30_000);

    it('a large backlog is capped at maxReplicaCount', async () => {
      const extra = threshold * max + 5 - 8;
      await enqueue(extra);
      expect(await replicasAt(8 + extra)).toBe(max);
    }, 60_000);

    it('drained queue → back to minReplicaCount', async () => {
      // Removing waiting jobs is what the API's cancel does for queued runs.
      const waiting = await workers[0]!.queue.getJobs(['waiting', 'prioritized']);
      for (const j of waiting) await api.cancel(String((j.data as { runId: string }).runId));
      expect(await replicasAt(0)).toBe(min);
    }, 60_000);
  });
});
