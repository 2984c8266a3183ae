/**
 * Status changes of a generation run made by the worker (processor and reconciler). Each one is a
 * conditional UPDATE and its `generation.updated` outbox event in one transaction (SPEC §6: every
 * write, API and worker, records its change event), so a change that did not happen records none.
 */
import type { Db } from '@rota/db';
import { recordEvent } from '@rota/events';
import type { RunStatus } from '@rota/generation';

/** running: claimed by a worker; requeued: running → queued (retry, hand-back, lost job). */
export type RunTransition = 'running' | 'failed' | 'cancelled' | 'requeued';

export type ChangedRun = { status: RunStatus; progress: number; best_score: string | null; department_id: string };

const RETURNING = 'RETURNING status, progress, best_score, department_id::text AS department_id';

/** SET clause and the states the run may be in; $2 is the reason where the transition takes one. */
const CHANGES: Record<RunTransition, { set: string; from: string }> = {
  running: { set: `status = 'running', started_at = coalesce(started_at, now()), attempts = attempts + 1, progress = 1`, from: `status IN ('queued', 'running') AND cancel_requested_at IS NULL` },
  failed: { set: `status = 'failed', error = $2, finished_at = now()`, from: `status IN ('queued', 'running')` },
  cancelled: { set: `status = 'cancelled', finished_at = now()`, from: `status IN ('queued', 'running')` },
  requeued: { set: `status = 'queued', progress = 0, error = $2`, from: `status = 'running'` },
};

export type ChangeOptions = {
  /** Why (stored in generation_runs.error for failed and requeued, and in the event). */
  reason?: string | null;
  /**
   * Only if the row was not written since it was read (its row version, `xmin::text`): the
   * reconciler decides on what it read and must not overrule a worker that touched the run meanwhile.
   */
  ifVersion?: string;
};

/**
 * Applies the transition if the run is in a state that allows it; returns the changed row, or
 * null when nothing changed (another worker, the API or a previous attempt got there first).
 */
export async function changeRunStatus(db: Db, runId: string, t: RunTransition, o: ChangeOptions = {}): Promise<ChangedRun | null> {
  const reason = o.reason ?? null;
  const withReason = t === 'failed' || t === 'requeued';
  const params: unknown[] = withReason ? [runId, reason === null ? null : reason.slice(0, 2000)] : [runId];
  let guard = '';
  if (o.ifVersion !== undefined) {
    params.push(o.ifVersion);
    guard = ` AND xmin = $${params.length}::xid`;
  }
  const c = CHANGES[t];
  return db.tx(async (q) => {
    const r = await q.query<ChangedRun>(`UPDATE generation_runs SET ${c.set} WHERE id = $1 AND ${c.from}${guard} ${RETURNING}`, params);
    const row = r.rows[0];
    if (!row) return null;
    await recordEvent(q, {
      type: 'generation.updated', aggregate: { type: 'generation_run', id: runId }, departmentIds: [row.department_id],
      payload: { status: row.status, ...(reason !== null ? { reason: reason.slice(0, 500) } : {}) },
    });
    return row;
  });
}
