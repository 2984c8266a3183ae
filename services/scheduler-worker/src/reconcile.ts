/**
 * The reconciler: finds generation runs that Postgres says are queued or running but that no
 * BullMQ job will ever move on, and settles them. Without it such a run stays live forever — and
 * generation_runs_live deduplicates every new submission for its period onto it. It happens when:
 * - every attempt failed during a Postgres outage, so marking the run failed failed too;
 * - Redis lost the job (restart without persistence, failover to a replica that had not seen it);
 * - a running run was cancelled but its job is gone, so no worker will ever stop it.
 *
 * Every worker runs it (no leader): each decision is a conditional UPDATE that only applies if the
 * run was not written since it was read, and a re-enqueue reuses the run's job id, which BullMQ
 * turns into a no-op when the job exists. Nothing is decided while Redis cannot be asked.
 */
import type { Queue } from 'bullmq';
import type { Db } from '@rota/db';
import { generationJobOptions, jobIdOf } from '@rota/generation';
import { changeRunStatus, type ChangedRun } from './run-status.ts';

/** Job states in which BullMQ still moves the job on by itself (stalled active jobs included). */
const LIVE_JOB_STATES = new Set(['waiting', 'prioritized', 'delayed', 'active', 'waiting-children']);

export type ReconcileOptions = {
  db: Db;
  queue: Queue;
  /** Only runs not written for this long are looked at (progress reports write every ~0.5 s). */
  minAgeMs: number;
  /** Runs looked at per pass. Default 100. */
  limit?: number;
  /**
   * Where the previous pass stopped, kept by the caller across passes: each pass goes on from
   * there (back to the start after the last run), so a lost job behind more than `limit` runs
   * that are legitimately waiting in a backlog is still reached. Updated in place.
   */
  cursor?: { afterId: string };
  /** Called after each status change (the worker publishes it for SSE clients). */
  onChanged?: (runId: string, row: ChangedRun) => void;
};

export type ReconcileAction = { runId: string; action: 'reenqueued' | 'failed' | 'cancelled'; jobState: string };

type Candidate = { id: string; status: 'queued' | 'running'; cancel_requested: boolean; version: string };

export async function reconcileRuns(o: ReconcileOptions): Promise<ReconcileAction[]> {
  const r = await o.db.query<Candidate>(
    `SELECT id::text AS id, status, cancel_requested_at IS NOT NULL AS cancel_requested, xmin::text AS version
       FROM generation_runs
      WHERE status IN ('queued', 'running') AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
        AND id > $3::bigint
      ORDER BY id LIMIT $2`, [o.minAgeMs, o.limit ?? 100, o.cursor?.afterId ?? '0']);
  if (o.cursor) o.cursor.afterId = r.rows.length < (o.limit ?? 100) ? '0' : r.rows[r.rows.length - 1]!.id;
  const actions: ReconcileAction[] = [];
  for (const run of r.rows) {
    // Throws while Redis is unreachable: the pass stops without deciding anything.
    const job = await o.queue.getJob(jobIdOf(run.id));
    const jobState = job ? await job.getState() : 'missing';
    if (LIVE_JOB_STATES.has(jobState)) continue;
    const change = async (t: 'failed' | 'cancelled' | 'requeued', reason: string): Promise<boolean> => {
      const row = await changeRunStatus(o.db, run.id, t, { reason, ifVersion: run.version });
      if (row) o.onChanged?.(run.id, row);
      return row !== null;
    };
    if (run.cancel_requested) {
      if (await change('cancelled', `cancelled while its job was ${jobState}`)) actions.push({ runId: run.id, action: 'cancelled', jobState });
    } else if (jobState === 'missing') {
      // Status first, job second: a worker that takes the new job at once must find the run queued.
      if (run.status === 'running' && !(await change('requeued', 'the queue lost the job: re-enqueued'))) continue;
      const added = await o.queue.add('generate', { runId: run.id }, generationJobOptions(run.id));
      // Another reconciler that read the run as queued between our status change and our add
      // adds the same job id too: BullMQ keeps the first job (the second add is a no-op), so only
      // the reconciler whose job is the stored one reports the re-enqueue.
      const stored = await o.queue.getJob(jobIdOf(run.id));
      if (stored !== undefined && stored.timestamp !== added.timestamp) continue;
      actions.push({ runId: run.id, action: 'reenqueued', jobState });
    } else {
      // failed (attempts exhausted while the run could not be marked), completed or unknown.
      const why = jobState === 'failed' ? `attempts exhausted: ${job?.failedReason ?? 'unknown error'}` : `its job ended (${jobState}) without finishing the run`;
      if (await change('failed', why)) actions.push({ runId: run.id, action: 'failed', jobState });
    }
  }
  return actions;
}
