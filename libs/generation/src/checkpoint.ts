/**
 * The best roster of a solve that did not get to write it, kept on generation_runs.checkpoint so
 * the run's next attempt goes on from there instead of starting over:
 *
 * - a worker shutting down (scale-down, rollout) past its grace period stops the search and keeps
 *   its best roster before handing the job back — a run may ask for up to an hour of solving, far
 *   more than any termination grace;
 * - an attempt whose write failed transiently (a failover) keeps the roster it had solved.
 *
 * The next attempt starts its search from the kept roster (the solver's `initial`: rows that now
 * break a hard rule are rebuilt) with the time the run has left. Rows are keyed by employee and
 * template ids, not by the instance's indices: the instance is loaded again, and employees or
 * templates may have changed in between. Deterministic runs (maxIterations) never resume: their
 * point is that the same inputs give the same roster. A trigger (migration 0011) drops the kept
 * roster when the run ends, whoever ends it (the worker, a cancel, the reconciler).
 */
import { z } from 'zod';
import type { Queryable } from '@rota/db';
import type { Assignment } from '@rota/solver';
import type { LoadedInstance } from './load.ts';

export const checkpointSchema = z.object({
  /** Solving time spent so far, over every attempt that added to this roster. */
  solvedMs: z.number().min(0),
  /** The roster's soft-penalty total when it was kept. */
  score: z.number(),
  employeeIds: z.array(z.string()),
  templateIds: z.array(z.string()),
  /** Per employee (employeeIds' order), per day of the period: an index into templateIds, or -1 (off). */
  rows: z.array(z.array(z.number().int().min(-1))),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;

export function checkpointOf(loaded: Pick<LoadedInstance, 'employeeIds' | 'templates'>, assignment: Assignment, solvedMs: number, score: number): Checkpoint {
  return {
    solvedMs: Math.round(solvedMs),
    score,
    employeeIds: loaded.employeeIds,
    templateIds: loaded.templates.map((t) => t.id),
    rows: assignment.map((row) => row.map((t) => t ?? -1)),
  };
}

/**
 * The kept roster in the indices of a freshly loaded instance: an employee who was not in it
 * starts off (the solver builds their row), a template that is gone leaves the day off. Undefined
 * when the period's length does not match (nothing to go on from).
 */
export function resumeFrom(loaded: Pick<LoadedInstance, 'employeeIds' | 'templates' | 'instance'>, c: Checkpoint): Assignment | undefined {
  const days = loaded.instance.days;
  if (c.rows.some((r) => r.length !== days)) return undefined;
  const rowOf = new Map(c.employeeIds.map((id, i) => [id, c.rows[i]]));
  const templateIndex = new Map(loaded.templates.map((t, i) => [t.id, i]));
  const now = c.templateIds.map((id) => templateIndex.get(id) ?? null);
  return loaded.employeeIds.map((id) => {
    const row = rowOf.get(id);
    return Array.from({ length: days }, (_, d) => {
      const t = row?.[d] ?? -1;
      return t < 0 ? null : (now[t] ?? null);
    });
  });
}

/** Keeps the roster on a run this worker still holds (status running); false when it does not. */
export async function saveCheckpoint(q: Queryable, runId: string, c: Checkpoint): Promise<boolean> {
  const r = await q.query(`UPDATE generation_runs SET checkpoint = $2 WHERE id = $1 AND status = 'running'`, [runId, JSON.stringify(c)]);
  return (r.rowCount ?? 0) > 0;
}

/** The run's kept roster; undefined when there is none or it does not parse (then the search starts over). */
export async function readCheckpoint(q: Queryable, runId: string): Promise<Checkpoint | undefined> {
  const r = await q.query<{ checkpoint: unknown }>('SELECT checkpoint FROM generation_runs WHERE id = $1', [runId]);
  const parsed = checkpointSchema.safeParse(r.rows[0]?.checkpoint);
  return parsed.success ? parsed.data : undefined;
}
