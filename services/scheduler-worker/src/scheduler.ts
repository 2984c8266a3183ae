/**
 * The schedule-generation consumer: a BullMQ Worker whose processor claims the run in Postgres,
 * loads the solver instance, solves it in a worker thread (progress ≥ every second, cancellation
 * within a second), and writes the roster in one transaction. The generation_runs row is the
 * durable truth; BullMQ only carries the run id.
 *
 * Run states written here: queued → running → succeeded | failed | cancelled; running → queued
 * when an attempt failed transiently (BullMQ retries it after a backoff) or the worker shut down
 * and handed the job back. Either way a roster already solved is kept on the run (checkpoint.ts
 * of @rota/generation) and the next attempt goes on from it with the time the run has left.
 */
import { availableParallelism } from 'node:os';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { createRedisClient } from '@rota/cache';
import type { Db } from '@rota/db';
import {
  QUEUE_SCHEDULE_GENERATION, InvalidGenerationInputError, cancelChannel, checkpointOf, generationJobSchema, loadInstance,
  queueKeyPrefix, readCheckpoint, readRun, resumeFrom, runEventsChannel, saveCheckpoint, writeResult,
  type Checkpoint, type LoadedInstance, type RunEvent, type RunRow, type RunStatus, type WriteOptions,
} from '@rota/generation';
import type { Logger, Registry } from '@rota/telemetry';
import { registerWorkerMetrics, type JobOutcome } from './metrics.ts';
import { relaxMinimums } from '@rota/solver';
import { SolverAbortedError, SolverInputError, createSolverPool, type SolverHandle, type ThreadResult } from './solver-runner.ts';
import { changeRunStatus, type ChangedRun, type RunTransition } from './run-status.ts';
import { reconcileRuns } from './reconcile.ts';

export type SchedulerWorkerOptions = {
  db: Db;
  redisUrl: string;
  /** REDIS_CLUSTER: redisUrl is one node of a Redis Cluster. */
  redisCluster?: boolean;
  /** QUEUE_PREFIX: BullMQ prefix (as the hash tag `{QUEUE_PREFIX}`) and pub/sub channel prefix. */
  prefix: string;
  concurrency: number;
  /** Parallel searches per job, one thread each. Default: defaultSolverThreads(concurrency). */
  solverThreads?: number;
  logger: Logger;
  registry: Registry;
  defaultTimeLimitSeconds: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  progressIntervalMs: number;
  /** How often this worker runs the reconciler (reconcile.ts). Default 30 000 ms; 0 = never. */
  reconcileIntervalMs?: number;
  /** The reconciler looks at runs not written for this long. Default 60 000 ms. */
  reconcileMinAgeMs?: number;
  /**
   * On shutdown past the grace period: how long a stopped search may take to answer with its
   * roster before it is aborted (the job then goes back without one). Default 15 000 ms.
   */
  stopWaitMs?: number;
  /** Test-only fault injection, by attempt number (1-based). Never set in production wiring. */
  writeOptionsFor?: (attempt: number) => WriteOptions;
};

export type SchedulerWorker = {
  worker: Worker;
  queue: Queue;
  /** Runs being solved by this process now. */
  activeRuns(): string[];
  /** Parallel searches (threads) per job. */
  solverThreads: number;
  /**
   * Stops taking jobs; active jobs may finish within `graceMs`, after which their solvers are
   * stopped and the jobs handed back to the queue for another worker.
   */
  close(graceMs: number): Promise<void>;
};

type Active = { handle: SolverHandle | null; stopReason: 'cancel' | 'shutdown' | null };
/** A roster an attempt solved, with the instance it was solved for and the checkpoint it went on from. */
type Kept = { loaded: LoadedInstance; solved: ThreadResult; before: Checkpoint | undefined };

const ORPHAN_WAIT_MS = 5_000;
/**
 * Search time of an attempt that goes on from a kept roster whose run has (almost) used up its
 * time limit: enough to rebuild rows that data changed since made invalid.
 */
export const MIN_RESUMED_SOLVE_MS = 1_000;
/** On shutdown: how long a stopped search may take to answer with its roster before it is aborted (default of stopWaitMs). */
const STOP_WAIT_MS = 15_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isInvalidInput(e: unknown): boolean {
  return e instanceof InvalidGenerationInputError || e instanceof SolverInputError || (e as Error | null)?.name === 'ZodError';
}

/**
 * Solver threads per job when not configured: the cores shared out among the concurrent jobs
 * (at least one). More threads than cores would only slice the same CPU time thinner.
 */
export function defaultSolverThreads(concurrency: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / concurrency));
}

export function createSchedulerWorker(o: SchedulerWorkerOptions): SchedulerWorker {
  const { db, logger } = o;
  const target = { url: o.redisUrl, cluster: o.redisCluster ?? false };
  const bullPrefix = queueKeyPrefix(o.prefix);
  const bullConnection = createRedisClient(target, { maxRetriesPerRequest: null });
  const pub = createRedisClient(target, { maxRetriesPerRequest: 2 });
  const sub = createRedisClient(target, { maxRetriesPerRequest: null });
  for (const c of [bullConnection, pub, sub]) c.on('error', (err) => logger.debug({ err: err.message }, 'redis connection error'));
  const queue = new Queue(QUEUE_SCHEDULE_GENERATION, { connection: bullConnection, prefix: bullPrefix });
  // Scrape-time queue reads and the reconciler fail fast on a connection of their own: on the
  // worker's (retries forever, offline queue) a scrape during a Redis outage never answered, and a
  // reconciler pass (and with it shutdown) would wait for Redis.
  const fastConnection = createRedisClient(target, { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000 });
  fastConnection.on('error', (err) => logger.debug({ err: err.message }, 'redis connection error'));
  const fastQueue = new Queue(QUEUE_SCHEDULE_GENERATION, { connection: fastConnection, prefix: bullPrefix });
  fastQueue.on('error', (err) => logger.debug({ err: err.message }, 'fail-fast queue error'));
  const metrics = registerWorkerMetrics(o.registry, fastQueue);
  const active = new Map<string, Active>();
  const solvers = createSolverPool(o.concurrency, o.solverThreads ?? defaultSolverThreads(o.concurrency));
  let shuttingDown = false;

  // Cancellation fast path: the API publishes the run id; the durable flag (cancel_requested_at)
  // is also read with every progress update, so a lost message costs at most one interval.
  void sub.subscribe(cancelChannel(o.prefix)).catch((err: unknown) => logger.warn({ err }, 'cancel subscription failed'));
  sub.on('message', (_channel, runId: string) => {
    const a = active.get(runId);
    if (a && !a.stopReason) {
      a.stopReason = 'cancel';
      a.handle?.abort();
      logger.info({ runId }, 'cancel requested: solver aborted');
    }
  });

  const publish = (e: RunEvent): void => {
    pub.publish(runEventsChannel(o.prefix), JSON.stringify(e)).catch(() => {});
  };

  const publishChange = (runId: string, row: ChangedRun): void =>
    publish({ runId, status: row.status, progress: row.progress, bestScore: row.best_score === null ? null : Number(row.best_score) });
  /** A status change with its outbox event (run-status.ts), then the SSE fast path. */
  async function transition(runId: string, t: RunTransition, reason: string | null = null): Promise<boolean> {
    const row = await changeRunStatus(db, runId, t, { reason });
    if (row) publishChange(runId, row);
    return row !== null;
  }
  const markFailed = (runId: string, reason: string): Promise<boolean> => transition(runId, 'failed', reason);
  const markCancelled = (runId: string): Promise<boolean> => transition(runId, 'cancelled');
  const markRequeued = (runId: string, reason: string | null): Promise<boolean> => transition(runId, 'requeued', reason);

  /** Keeps the roster an attempt solved but could not write on its run; a failure only costs the next attempt a full search. */
  async function keep(runId: string, k: Kept | undefined, log: Logger): Promise<void> {
    // A deterministic run (maxIterations) starts over anyway, so it reproduces its roster.
    if (!k || k.loaded.options.maxIterations !== undefined) return;
    const c = checkpointOf(k.loaded, k.solved.assignment, k.solved.elapsedMs + (k.before?.solvedMs ?? 0), k.solved.score.total);
    try {
      if (await saveCheckpoint(db, runId, c)) log.info({ solvedMs: c.solvedMs, score: c.score }, 'kept the roster solved so far for the next attempt');
    } catch (err) {
      log.warn({ err }, 'could not keep the roster solved so far; the next attempt starts over');
    }
  }

  /** The API inserts the run and enqueues before COMMIT; give its transaction a moment to land. */
  async function readRunPatiently(runId: string): Promise<RunRow | null> {
    const deadline = Date.now() + ORPHAN_WAIT_MS;
    for (;;) {
      const run = await readRun(db, runId);
      if (run || Date.now() > deadline) return run;
      await sleep(100);
    }
  }

  async function processJob(job: Job, token: string | undefined): Promise<unknown> {
    const started = performance.now();
    const attempt = job.attemptsMade + 1;
    const parsed = generationJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job payload: ${parsed.error.message}`);
    const runId = parsed.data.runId;
    const log = logger.child({ runId, jobId: job.id, attempt });
    const entry: Active = { handle: null, stopReason: null };
    active.set(runId, entry);
    metrics.activeJobs.inc();
    let outcome: JobOutcome = 'failed';
    /** The roster this attempt solved and what it built on, kept if the attempt cannot write it. */
    let kept: Kept | undefined;
    try {
      const run = await readRunPatiently(runId);
      if (!run) {
        log.warn('generation run not found: the submitting transaction rolled back; dropping the job');
        outcome = 'skipped';
        return { skipped: 'run-missing' };
      }
      if (run.status !== 'queued' && run.status !== 'running') {
        outcome = 'skipped';
        return { skipped: run.status };
      }
      if (run.cancel_requested_at) {
        await markCancelled(runId);
        outcome = 'cancelled';
        return { cancelled: true };
      }
      const claimed = await transition(runId, 'running');
      if (!claimed) {
        outcome = 'skipped';
        return { skipped: 'changed' };
      }
      log.info('generation started');
      const loaded = await loadInstance(db, run);
      await job.updateProgress(5).catch(() => {});
      if (entry.stopReason === 'cancel') {
        await markCancelled(runId);
        outcome = 'cancelled';
        return { cancelled: true };
      }

      let lastReport = 0;
      let reporting = false;
      const report = async (pct: number, best: number): Promise<void> => {
        reporting = true;
        try {
          const r = await db.query<{ status: RunStatus; cancel_requested_at: Date | null }>(
            `UPDATE generation_runs SET progress = $2, best_score = $3 WHERE id = $1 RETURNING status, cancel_requested_at`,
            [runId, pct, Math.round(best * 10_000) / 10_000]);
          const row = r.rows[0];
          if ((!row || row.cancel_requested_at || row.status !== 'running') && !entry.stopReason) {
            entry.stopReason = 'cancel';
            entry.handle?.abort();
          }
          publish({ runId, status: 'running', progress: pct, bestScore: best });
          await job.updateProgress(pct);
        } catch (err) {
          log.warn({ err }, 'progress report failed');
        } finally {
          reporting = false;
        }
      };
      let timeLimitMs = (loaded.options.timeLimitSeconds ?? o.defaultTimeLimitSeconds) * 1000;
      // An earlier attempt's roster (shut down or failed to write): go on from it with the time
      // left. A deterministic run (maxIterations) starts over, so it reproduces its roster.
      const before = loaded.options.maxIterations === undefined ? await readCheckpoint(db, runId) : undefined;
      const initial = before ? resumeFrom(loaded, before) : undefined;
      if (before && initial) {
        timeLimitMs = Math.max(MIN_RESUMED_SOLVE_MS, timeLimitMs - before.solvedMs);
        log.info({ solvedMs: before.solvedMs, score: before.score, timeLimitMs }, 'going on from the roster of an earlier attempt');
      }
      const resumed = initial ? before : undefined;
      entry.handle = solvers.run(loaded.instance, {
        seed: loaded.options.seed ?? 1,
        timeLimitMs,
        ...(initial ? { initial } : {}),
        ...(loaded.options.maxIterations !== undefined ? { maxIterations: loaded.options.maxIterations } : {}),
        progressIntervalMs: Math.min(250, o.progressIntervalMs),
      }, (p) => {
        const now = performance.now();
        if (reporting || now - lastReport < o.progressIntervalMs) return;
        lastReport = now;
        void report(Math.min(95, Math.round((5 + 90 * p.progress) * 10) / 10), p.bestScore);
      });
      // Cancelled or shut down before the search began: nothing to keep.
      if (entry.stopReason) entry.handle.abort();
      // Cancel aborts the thread (the roster is not wanted): no result then. Shutdown stops the
      // search instead, which answers with its best roster so far.
      let solved: ThreadResult | null = null;
      try {
        solved = await entry.handle.result;
      } catch (e) {
        if (!(e instanceof SolverAbortedError)) throw e;
      }
      if (solved) kept = { loaded, solved, before: resumed };
      while (reporting) await sleep(10);
      // Re-read: the subscriber and the progress reports set it while we awaited.
      const stopReason = entry.stopReason as Active['stopReason'];
      if (stopReason === 'cancel') {
        await markCancelled(runId);
        log.info('generation cancelled');
        outcome = 'cancelled';
        return { cancelled: true };
      }
      if (stopReason === 'shutdown') {
        await keep(runId, kept, log);
        await markRequeued(runId, null);
        await job.moveToWait(token);
        log.info('worker shutting down: job handed back to the queue');
        outcome = 'handed_back';
        throw new WaitingError();
      }
      if (!solved) throw new Error('solver aborted without a cancel or shutdown');
      if (solved.relaxedEmployeeIds.length > 0) log.warn({ employeeIds: solved.relaxedEmployeeIds }, 'minimum rules lifted: no roster could meet them');
      // The roster is checked against the rules it was solved under (minimums lifted where none fit).
      const solvedFor = solved.relaxedEmployeeIds.length ? { ...loaded, instance: relaxMinimums(loaded.instance, solved.relaxedEmployeeIds) } : loaded;
      // Solving time of the run: this attempt's plus the attempts it went on from.
      const written = await writeResult(db, solvedFor, solved.assignment,
        { elapsedMs: solved.elapsedMs + (resumed?.solvedMs ?? 0), iterations: solved.iterations, stoppedBy: solved.stoppedBy, score: solved.score, relaxedEmployeeIds: solved.relaxedEmployeeIds },
        o.writeOptionsFor?.(attempt) ?? {});
      if (written.kind === 'skipped') {
        outcome = written.status === 'cancelled' ? 'cancelled' : 'skipped';
        if (written.status === 'cancelled') publish({ runId, status: 'cancelled', progress: 95, bestScore: solved.score.total });
        return { skipped: written.status };
      }
      publish({ runId, status: 'succeeded', progress: 100, bestScore: written.result.softPenalties.total });
      metrics.score.set(written.result.softPenalties.total);
      outcome = 'succeeded';
      log.info({ scheduleId: written.result.scheduleId, shifts: written.result.shifts, coveragePct: written.result.coveragePct, solveTimeMs: written.result.solveTimeMs, solverThreads: solved.threads, stoppedBy: solved.stoppedBy }, 'generation succeeded');
      return { scheduleId: written.result.scheduleId, shifts: written.result.shifts, score: written.result.softPenalties.total };
    } catch (e) {
      if (e instanceof WaitingError) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      if (e instanceof UnrecoverableError || isInvalidInput(e)) {
        await markFailed(runId, reason).catch((err: unknown) => log.error({ err }, 'could not mark run failed'));
        log.warn({ reason }, 'generation failed: invalid input, not retried');
        outcome = 'failed';
        throw e instanceof UnrecoverableError ? e : new UnrecoverableError(reason);
      }
      const last = attempt >= (job.opts.attempts ?? 1);
      if (last) {
        await markFailed(runId, reason).catch((err: unknown) => log.error({ err }, 'could not mark run failed'));
        log.error({ err: e }, 'generation failed: attempts exhausted');
        outcome = 'failed';
      } else {
        // A roster solved before the failure (e.g. the write hit a failover) is not solved again.
        await keep(runId, kept, log);
        await markRequeued(runId, `attempt ${attempt} failed, retrying: ${reason}`).catch(() => {});
        log.warn({ err: e }, 'generation attempt failed: will retry');
        outcome = 'retry';
      }
      throw e;
    } finally {
      active.delete(runId);
      metrics.activeJobs.dec();
      const seconds = (performance.now() - started) / 1000;
      metrics.busySeconds.inc(seconds);
      metrics.jobs.inc({ status: outcome });
      metrics.duration.observe({ status: outcome }, seconds);
    }
  }

  // Every worker reconciles (no leader: reconcile.ts explains why that is safe); passes of one
  // process never overlap.
  let reconciling: Promise<void> | null = null;
  const reconcileCursor = { afterId: '0' };
  const reconcile = (): void => {
    if (reconciling || shuttingDown) return;
    reconciling = reconcileRuns({
      db, queue: fastQueue, minAgeMs: o.reconcileMinAgeMs ?? 60_000, cursor: reconcileCursor,
      onChanged: publishChange,
    }).then((actions) => {
      for (const a of actions) {
        metrics.reconciled.inc({ action: a.action });
        logger.warn(a, 'reconciler settled a generation run');
      }
    }, (err: unknown) => {
      metrics.reconciled.inc({ action: 'error' });
      logger.warn({ err }, 'reconciler pass failed; retried next interval');
    }).finally(() => { reconciling = null; });
  };
  const reconcileEvery = o.reconcileIntervalMs ?? 30_000;
  const reconcileTimer = reconcileEvery > 0 ? setInterval(reconcile, reconcileEvery) : undefined;
  reconcileTimer?.unref();

  const worker = new Worker(QUEUE_SCHEDULE_GENERATION, processJob, {
    connection: bullConnection,
    prefix: bullPrefix,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.stalledIntervalMs,
    maxStalledCount: o.maxStalledCount,
    autorun: true,
  });
  worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));
  // A job can also fail without our processor deciding it (stalled more than maxStalledCount
  // times, i.e. it keeps killing workers): make the run row say so.
  worker.on('failed', (job, err) => {
    if (!job) return;
    void (async () => {
      if ((await job.getState()) !== 'failed') return;
      const runId = String((job.data as { runId?: unknown }).runId ?? job.id);
      await markFailed(runId, err.message);
    })().catch((e: unknown) => logger.warn({ err: e }, 'failed-job bookkeeping failed'));
  });

  return {
    worker,
    queue,
    activeRuns: () => [...active.keys()],
    solverThreads: solvers.threads,
    async close(graceMs) {
      if (shuttingDown) return;
      shuttingDown = true;
      clearInterval(reconcileTimer);
      const timer = setTimeout(() => {
        for (const [runId, a] of active) {
          if (a.stopReason) continue;
          a.stopReason = 'shutdown';
          // Stop, not abort: the search answers with its best roster, which is kept for the next attempt.
          a.handle?.stop();
          // A search in a phase that does not poll its stop flag (seconds on big instances) must not
          // hold the hand-back past the process's own deadline (main.ts: grace + 30 s): abort it
          // then — the job is handed back without a roster, as before kept rosters existed.
          setTimeout(() => { if (active.get(runId) === a) a.handle?.abort(); }, o.stopWaitMs ?? STOP_WAIT_MS).unref();
          logger.info({ runId }, 'grace period over: stopping solver to hand the job back with its roster');
        }
      }, graceMs);
      try {
        await worker.close();
      } finally {
        clearTimeout(timer);
        await reconciling;
        await queue.close().catch(() => {});
        await fastQueue.close().catch(() => {});
        await solvers.close();
        sub.disconnect();
        pub.disconnect();
        bullConnection.disconnect();
        fastConnection.disconnect();
      }
    },
  };
}
