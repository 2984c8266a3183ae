import { z } from 'zod';
import type { Queryable } from '@rota/db';
import { RUN_STATUSES, type RunStatus } from '@rota/generation';
import type { GenerationQueue } from '../../generation/queue.ts';

/** Columns of a run as the routes read it; `d` is the run's department (for authorization). */
export const RUN_COLUMNS = `r.id, r.department_id, to_char(r.period_start, 'YYYY-MM-DD') AS period_start,
  to_char(r.period_end, 'YYYY-MM-DD') AS period_end, r.options, r.status, r.progress, r.best_score::float8 AS best_score,
  r.requested_by, r.schedule_id, r.result, r.error, r.attempts, r.cancel_requested_at, r.created_at, r.started_at,
  r.finished_at, r.updated_at, r.request_hash, d.path::text AS department_path`;

export type RunRow = {
  id: string;
  department_id: string;
  period_start: string;
  period_end: string;
  options: Record<string, unknown>;
  status: RunStatus;
  progress: number;
  best_score: number | null;
  requested_by: string;
  schedule_id: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
  cancel_requested_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
  request_hash: string;
  department_path: string;
};

export async function readRunRow(q: Queryable, id: string): Promise<RunRow | undefined> {
  const r = await q.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM generation_runs r JOIN departments d ON d.id = r.department_id WHERE r.id = $1`, [id]);
  return r.rows[0];
}

export const runSchema = z.object({
  id: z.string(),
  departmentId: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  status: z.enum(RUN_STATUSES),
  progress: z.number().describe('0..100'),
  queuePosition: z.number().nullable().describe('1-based position among waiting jobs while queued'),
  bestScore: z.number().nullable().describe('total soft penalty of the best roster so far (lower is better)'),
  options: z.record(z.string(), z.unknown()),
  attempts: z.number(),
  scheduleId: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable().describe('on success: hardViolations, coveragePct, softPenalties, shifts {inserted, updated, deleted}, solveTimeMs, …'),
  error: z.string().nullable(),
  cancelRequested: z.boolean(),
  requestedBy: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
});
export type RunJson = z.infer<typeof runSchema>;

export function toRun(r: RunRow, queuePosition: number | null = null): RunJson {
  return {
    id: r.id,
    departmentId: r.department_id,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    status: r.status,
    progress: r.progress,
    queuePosition: r.status === 'queued' ? queuePosition : null,
    bestScore: r.best_score,
    options: r.options,
    attempts: r.attempts,
    scheduleId: r.schedule_id,
    result: r.result,
    // A retry note on a run that then succeeded is history, not an error.
    error: r.status === 'succeeded' ? null : r.error,
    cancelRequested: r.cancel_requested_at !== null,
    requestedBy: r.requested_by,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
    updatedAt: r.updated_at.toISOString(),
  };
}

/** The status object with the live queue position (one Redis round trip while queued). */
export async function runJson(r: RunRow, queue: GenerationQueue): Promise<RunJson> {
  return toRun(r, r.status === 'queued' ? await queue.position(r.id) : null);
}
