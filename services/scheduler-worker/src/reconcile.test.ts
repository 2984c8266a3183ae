/**
 * Runs that no job will move on are settled by the reconciler, and every status change the worker
 * makes records its outbox event. Real Postgres (own database per test) and real Redis (own BullMQ
 * prefix per test); a Postgres outage is a pool pointed at a port where nothing listens.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { expect, test as base } from 'vitest';
import { createDb, type Db } from '@rota/db';
import { GENERATION_JOB_ATTEMPTS, GENERATION_JOB_BACKOFF_MS, QUEUE_SCHEDULE_GENERATION, createScenario, generationJobOptions, insertRun, jobIdOf, queueKeyPrefix } from '@rota/generation';
import { createLogger, createRegistry } from '@rota/telemetry';
import { testDatabase, uniqueName, type TestDatabase } from '@rota/testkit';
import { changeRunStatus } from './run-status.ts';
import { reconcileRuns } from './reconcile.ts';
import { createSchedulerWorker, type SchedulerWorkerOptions } from './scheduler.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

type Fixtures = { tdb: TestDatabase; queue: Queue };
const test = base.extend<Fixtures>({
  tdb: testDatabase,
  queue: async ({}, use) => {
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_SCHEDULE_GENERATION, { connection, prefix: queueKeyPrefix(uniqueName('rec').replace(/_/g, '-')) });
    await use(queue);
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    connection.disconnect();
  },
});

function worker(db: Db, queue: Queue, o: Partial<SchedulerWorkerOptions> = {}) {
  return createSchedulerWorker({
    db, redisUrl: REDIS_URL, prefix: queue.opts.prefix!.slice(1, -1) /* QUEUE_PREFIX inside its hash tag */, concurrency: 1, logger: createLogger('t', 'silent'), registry: createRegistry('scheduler-worker'),
    defaultTimeLimitSeconds: 1, lockDurationMs: 5000, stalledIntervalMs: 5000, maxStalledCount: 1, progressIntervalMs: 200, reconcileIntervalMs: 0, ...o,
  });
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const runOf = async (db: Db, id: string) =>
  (await db.query<{ status: string; error: string | null }>('SELECT status, error FROM generation_runs WHERE id = $1', [id])).rows[0]!;
/** The generation.updated events of the run, oldest first: their statuses. */
const eventsOf = async (db: Db, id: string) =>
  (await db.query<{ status: string }>(
    `SELECT envelope->'payload'->>'status' AS status FROM outbox
      WHERE type = 'generation.updated' AND envelope->'aggregate'->>'id' = $1 ORDER BY id`, [id])).rows.map((r) => r.status);

test('transient faults are retried for longer than a failover: ~4 min of exponential backoff', () => {
  const o = generationJobOptions('1');
  expect(o).toMatchObject({ jobId: 'run-1', attempts: GENERATION_JOB_ATTEMPTS, backoff: { type: 'exponential', delay: GENERATION_JOB_BACKOFF_MS } });
  // BullMQ waits delay * 2^(n-1) before retry n.
  const waitedMs = Array.from({ length: o.attempts - 1 }, (_, i) => o.backoff.delay * 2 ** i).reduce((a, b) => a + b, 0);
  expect(waitedMs).toBeGreaterThanOrEqual(4 * 60_000);
});

test('every attempt failed while Postgres was down: the run stays queued, then the reconciler fails it (with its event) once', { timeout: 60_000 }, async ({ tdb, queue }) => {
  const s = await createScenario(tdb.db, { employees: 3, periodStart: '2030-01-07', days: 7 });
  const runId = await insertRun(tdb.db, s);
  const down = createDb({ url: 'postgres://postgres@127.0.0.1:1/rota', applicationName: 'rota-test-down', max: 2 });
  const w = worker(down, queue);
  try {
    await queue.add('generate', { runId }, generationJobOptions(runId, { attempts: 2, backoffMs: 50 }));
    await until('the job to fail', async () => (await (await queue.getJob(jobIdOf(runId)))?.getState()) === 'failed');
  } finally {
    await w.close(0);
    await down.end();
  }
  // The worker could not mark it: without the reconciler it would be live (and deduplicate onto) forever.
  expect((await runOf(tdb.db, runId)).status).toBe('queued');

  const actions = await reconcileRuns({ db: tdb.db, queue, minAgeMs: 0 });
  expect(actions).toEqual([{ runId, action: 'failed', jobState: 'failed' }]);
  const run = await runOf(tdb.db, runId);
  expect(run.status).toBe('failed');
  expect(run.error).toMatch(/attempts exhausted: .*ECONNREFUSED/);
  expect(await eventsOf(tdb.db, runId)).toEqual(['failed']);
  // Idempotent: a second pass (or another worker's) changes nothing.
  expect(await reconcileRuns({ db: tdb.db, queue, minAgeMs: 0 })).toEqual([]);
  expect(await eventsOf(tdb.db, runId)).toEqual(['failed']);
});

test('a second reconciler that sees the run queued before the first one added its job re-enqueues nothing twice: one action reported, one job', { timeout: 30_000 }, async ({ tdb, queue }) => {
  const s = await createScenario(tdb.db, { employees: 2, periodStart: '2030-01-07', days: 7 });
  const runId = await insertRun(tdb.db, s, { timeLimitSeconds: 1 });
  expect(await changeRunStatus(tdb.db, runId, 'running')).toMatchObject({ status: 'running' });
  // The first reconciler's add waits until the second has run: it set the run back to queued,
  // and the second finds it queued with no job, as on two workers with the unlucky timing.
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let adding!: () => void;
  const reachedAdd = new Promise<void>((r) => { adding = r; });
  const slow = new Proxy(queue, {
    get(target, prop) {
      if (prop === 'add') return async (...args: Parameters<Queue['add']>) => { adding(); await gate; return target.add(...args); };
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const first = reconcileRuns({ db: tdb.db, queue: slow, minAgeMs: 0 });
  await reachedAdd;
  const second = await reconcileRuns({ db: tdb.db, queue, minAgeMs: 0 });
  await new Promise((r) => setTimeout(r, 5));
  release();
  const actions = [...(await first), ...second];
  expect(actions).toEqual([{ runId, action: 'reenqueued', jobState: 'missing' }]);
  expect(await queue.count()).toBe(1);
  expect(await eventsOf(tdb.db, runId)).toEqual(['running', 'queued']);
});

test('Redis lost the job of a running run: re-enqueued once (status back to queued with its event), and a worker finishes it', { timeout: 60_000 }, async ({ tdb, queue }) => {
  const s = await createScenario(tdb.db, { employees: 4, periodStart: '2030-01-07', days: 7 });
  const runId = await insertRun(tdb.db, s, { timeLimitSeconds: 1 });
  expect(await changeRunStatus(tdb.db, runId, 'running')).toMatchObject({ status: 'running' });
  // A run written just now is left alone.
  expect(await reconcileRuns({ db: tdb.db, queue, minAgeMs: 60_000 })).toEqual([]);

  const [a, b] = await Promise.all([reconcileRuns({ db: tdb.db, queue, minAgeMs: 0 }), reconcileRuns({ db: tdb.db, queue, minAgeMs: 0 })]);
  // Two workers reconciling at once: exactly one of them moves the run.
  expect([...a!, ...b!]).toEqual([{ runId, action: 'reenqueued', jobState: 'missing' }]);
  expect((await runOf(tdb.db, runId)).status).toBe('queued');
  const job = await queue.getJob(jobIdOf(runId));
  expect(await job?.getState()).toBe('waiting');
  expect(job?.opts.attempts).toBe(GENERATION_JOB_ATTEMPTS);
  expect(await queue.count()).toBe(1);
  expect(await eventsOf(tdb.db, runId)).toEqual(['running', 'queued']);
  // A waiting job is BullMQ's to move on.
  expect(await reconcileRuns({ db: tdb.db, queue, minAgeMs: 0 })).toEqual([]);

  const w = worker(tdb.db, queue);
  try {
    await until('the run to succeed', async () => (await runOf(tdb.db, runId)).status === 'succeeded');
  } finally {
    await w.close(0);
  }
  // The worker's claim recorded its event too.
  expect(await eventsOf(tdb.db, runId)).toEqual(['running', 'queued', 'running']);
});

test('a cancelled running run whose job is gone is cancelled by the reconciler, which the worker runs on its own', { timeout: 60_000 }, async ({ tdb, queue }) => {
  const s = await createScenario(tdb.db, { employees: 2, periodStart: '2030-01-07', days: 7 });
  const runId = await insertRun(tdb.db, s);
  await changeRunStatus(tdb.db, runId, 'running');
  // What DELETE /v1/schedule-generations/:id does to a running run.
  await tdb.db.query('UPDATE generation_runs SET cancel_requested_at = now() WHERE id = $1', [runId]);
  const registry = createRegistry('scheduler-worker');
  const w = worker(tdb.db, queue, { registry, reconcileIntervalMs: 200, reconcileMinAgeMs: 1000 });
  try {
    await until('the run to be cancelled', async () => (await runOf(tdb.db, runId)).status === 'cancelled', 15_000);
    expect(await registry.metrics()).toMatch(/schedule_generation_reconciled_total\{action="cancelled",service="scheduler-worker"\} 1/);
  } finally {
    await w.close(0);
  }
  expect(await eventsOf(tdb.db, runId)).toEqual(['running', 'cancelled']);
  expect(await queue.getJob(jobIdOf(runId))).toBeUndefined();
});

test('the processor records an event with each status change: running, then failed for invalid input', { timeout: 60_000 }, async ({ tdb, queue }) => {
  const s = await createScenario(tdb.db, { employees: 2, periodStart: '2030-01-07', days: 7 });
  await tdb.db.query('UPDATE shift_templates SET active = false WHERE department_id = $1', [s.departmentId]);
  const runId = await insertRun(tdb.db, s);
  await queue.add('generate', { runId }, generationJobOptions(runId));
  const w = worker(tdb.db, queue);
  try {
    await until('the run to fail', async () => (await runOf(tdb.db, runId)).status === 'failed');
  } finally {
    await w.close(0);
  }
  expect(await eventsOf(tdb.db, runId)).toEqual(['running', 'failed']);
  const events = await tdb.db.query<{ partition_key: string; reason: string }>(
    `SELECT partition_key, envelope->'payload'->>'reason' AS reason FROM outbox WHERE type = 'generation.updated' ORDER BY id DESC LIMIT 1`);
  expect(events.rows[0]).toMatchObject({ partition_key: s.departmentId, reason: expect.stringMatching(/no active shift templates/) });
});

test('while Redis cannot be asked the reconciler decides nothing', { timeout: 30_000 }, async ({ tdb }) => {
  const s = await createScenario(tdb.db, { employees: 2, periodStart: '2030-01-07', days: 7 });
  const runId = await insertRun(tdb.db, s);
  const connection = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  connection.on('error', () => {});
  const gone = new Queue(QUEUE_SCHEDULE_GENERATION, { connection, prefix: queueKeyPrefix('unreachable') });
  gone.on('error', () => {});
  try {
    await expect(reconcileRuns({ db: tdb.db, queue: gone, minAgeMs: 0 })).rejects.toThrow();
  } finally {
    await gone.close().catch(() => {});
    connection.disconnect();
  }
  expect((await runOf(tdb.db, runId)).status).toBe('queued');
  expect(await eventsOf(tdb.db, runId)).toEqual([]);
});

test('passes go on where the last one stopped: a lost job behind a backlog of waiting runs is reached', { timeout: 60_000 }, async ({ tdb, queue }) => {
  const s = await createScenario(tdb.db, { employees: 3, periodStart: '2030-01-07', days: 7 });
  // Two runs legitimately waiting in the queue, then one whose job Redis lost.
  const waiting: string[] = [];
  for (const start of ['2030-02-04', '2030-03-04']) {
    const id = await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: start, periodEnd: start.replace(/-04$/, '-10') });
    await queue.add('generate', { runId: id }, generationJobOptions(id));
    waiting.push(id);
  }
  const lost = await insertRun(tdb.db, { departmentId: s.departmentId, periodStart: '2030-04-01', periodEnd: '2030-04-07' });
  const cursor = { afterId: '0' };
  const pass = () => reconcileRuns({ db: tdb.db, queue, minAgeMs: 0, limit: 2, cursor });
  expect(await pass()).toEqual([]); // the two waiting runs: nothing to do
  expect(await pass()).toEqual([{ runId: lost, action: 'reenqueued', jobState: 'missing' }]);
  expect(await (await queue.getJob(jobIdOf(lost)))?.getState()).toBe('waiting');
  // Without a cursor every pass would look at the same first two.
  expect(cursor.afterId).toBe('0');
  expect(waiting.every((id) => Number(id) < Number(lost))).toBe(true);
});
