import { recordEvent } from '@rota/events';
import { AppError } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { idsParams } from '../../http/validate.ts';
import { readRunRow, runJson, runSchema } from './shape.ts';
import { visibleRun } from './read.ts';

export const cancelRoute = route({
  method: 'delete',
  path: '/v1/schedule-generations/:id',
  summary: 'Cancel a generation run (queued: removed at once; running: the worker stops the solver within a second)',
  tag: 'schedule-generations',
  scope: 'schedules:generate',
  params: idsParams,
  responses: {
    200: { description: 'The run after the cancel request (status cancelled, or running with cancelRequested until the worker stops)', schema: runSchema },
    409: { description: 'The run already finished' },
  },
  handler: async ({ params, principal, deps }) => {
    const run = await visibleRun(deps, principal, params.id);
    if (run.status === 'succeeded' || run.status === 'failed') {
      throw new AppError('conflict', `the run already ${run.status}`, { details: [{ field: 'params.id', message: `status ${run.status}` }] });
    }
    // One statement decides: a queued run is cancelled here; a running one is flagged and its
    // worker (told through pub/sub, or reading the flag with its next progress update) stops.
    const status = await deps.db.tx(async (q) => {
      const r = await q.query<{ status: string }>(
        `UPDATE generation_runs
            SET cancel_requested_at = coalesce(cancel_requested_at, now()),
                status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
          WHERE id = $1 AND status IN ('queued', 'running') RETURNING status`, [run.id]);
      const s = r.rows[0]?.status;
      if (s) {
        await recordEvent(q, { type: 'generation.updated', aggregate: { type: 'generation_run', id: run.id }, departmentIds: [run.department_id], payload: { status: s, cancelRequested: true } });
      }
      return s;
    });
    if (status) await deps.generation.cancel(run.id);
    const after = await readRunRow(deps.db, run.id);
    return { json: await runJson(after ?? run, deps.generation) };
  },
});
