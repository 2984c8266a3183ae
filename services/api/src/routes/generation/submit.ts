import { createHash } from 'node:crypto';
import { z } from 'zod';
import { pgErrorInfo } from '@rota/db';
import { recordEvent } from '@rota/events';
import { dayNumber, runOptionsSchema } from '@rota/generation';
import { coversDepartment, type Principal } from '../../auth/principal.ts';
import type { Deps } from '../../deps.ts';
import { AppError, forbidden, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { idParam, isoDate } from '../../http/validate.ts';
import { readRunRow, runJson, runSchema, type RunRow } from './shape.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const submitBody = z.strictObject({
  departmentId: idParam,
  periodStart: isoDate,
  periodEnd: isoDate,
  options: runOptionsSchema.optional(),
});
type SubmitBody = z.infer<typeof submitBody>;

/** Who may submit and manage generations: admins, and managers (users or API keys) inside their subtree. */
export function assertCanManage(p: Principal, departmentPath: string): void {
  if (p.role === 'employee') throw forbidden('employees cannot run schedule generation');
  if (!coversDepartment(p, departmentPath, 'manage')) throw forbidden('the department is outside your scope');
}

/** Canonical JSON (sorted keys) so that the same body always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function requestHash(body: SubmitBody): string {
  return createHash('sha256').update(canonical({ ...body, options: body.options ?? {} })).digest('hex');
}

type Outcome = { run: RunRow; kind: 'created' | 'replayed' | 'deduplicated' };

/** The run this principal's key was answered with (created or deduplicated), and that request's hash. */
async function byKey(deps: Deps, requestedBy: string, key: string): Promise<{ run: RunRow; hash: string } | undefined> {
  const r = await deps.db.query<{ run_id: string; request_hash: string }>(
    'SELECT run_id, request_hash FROM generation_idempotency_keys WHERE requested_by = $1 AND idempotency_key = $2', [requestedBy, key]);
  const row = r.rows[0];
  const run = row ? await readRunRow(deps.db, row.run_id) : undefined;
  return row && run ? { run, hash: row.request_hash } : undefined;
}

async function liveRun(deps: Deps, body: SubmitBody): Promise<RunRow | undefined> {
  const r = await deps.db.query<{ id: string }>(
    `SELECT id FROM generation_runs WHERE department_id = $1 AND period_start = $2 AND period_end = $3 AND status IN ('queued', 'running')`,
    [body.departmentId, body.periodStart, body.periodEnd]);
  const id = r.rows[0]?.id;
  return id ? readRunRow(deps.db, id) : undefined;
}

function replayOrConflict(used: { run: RunRow; hash: string }, hash: string): Outcome {
  if (used.hash !== hash) {
    throw new AppError('idempotency_conflict', 'this Idempotency-Key was already used with a different request body', {
      details: [{ field: 'headers.idempotency-key', message: `already used for generation run ${used.run.id}` }],
    });
  }
  return { run: used.run, kind: 'replayed' };
}

const KEY_INSERT = `INSERT INTO generation_idempotency_keys (requested_by, idempotency_key, request_hash, run_id) VALUES ($1, $2, $3, $4)`;

/**
 * Creates the run and enqueues its job in one step: the INSERT and the enqueue happen inside the
 * same transaction, enqueue before COMMIT, so Redis down → rollback → 503 and no run row. (If the
 * COMMIT itself fails after the enqueue, the worker finds no run row and drops the job.) The two
 * unique indexes settle races: generation_idempotency_keys_pkey (same principal + key, whether the
 * key created a run or was deduplicated onto one) and generation_runs_live (one queued/running run
 * per department and period).
 */
async function submit(deps: Deps, body: SubmitBody, requestedBy: string, key: string | undefined, hash: string): Promise<Outcome> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (key) {
      const existing = await byKey(deps, requestedBy, key);
      if (existing) return replayOrConflict(existing, hash);
    }
    const live = await liveRun(deps, body);
    if (live?.cancel_requested_at) {
      // The live index still holds the period until the worker has stopped (within a second).
      throw new AppError('conflict', `generation run ${live.id} for this period is being cancelled; retry in a moment`, { retryAfterSeconds: 1 });
    }
    try {
      if (live) {
        // The key now names this run: a retry after it finished replays it instead of starting another.
        if (key) await deps.db.query(KEY_INSERT, [requestedBy, key, hash, live.id]);
        return { run: live, kind: 'deduplicated' };
      }
      const id = await deps.db.tx(async (q) => {
        // generation_runs.idempotency_key is no longer read (generation_idempotency_keys is, since
        // migration 0010); it is still written so that API instances of the previous release, during
        // a rolling deploy, keep replaying keys of runs created by this one.
        const r = await q.query<{ id: string }>(
          `INSERT INTO generation_runs (department_id, period_start, period_end, options, requested_by, idempotency_key, request_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
          [body.departmentId, body.periodStart, body.periodEnd, JSON.stringify(body.options ?? {}), requestedBy, key ?? null, hash]);
        const runId = r.rows[0]!.id;
        if (key) await q.query(KEY_INSERT, [requestedBy, key, hash, runId]);
        await recordEvent(q, {
          type: 'generation.updated', aggregate: { type: 'generation_run', id: runId }, departmentIds: [body.departmentId],
          payload: { status: 'queued', periodStart: body.periodStart, periodEnd: body.periodEnd },
        });
        try {
          await deps.generation.enqueue(runId);
        } catch (e) {
          deps.logger.warn({ err: e, runId }, 'enqueue failed: submission rolled back');
          throw new AppError('unavailable', 'the generation queue is unavailable, try again shortly', { retryAfterSeconds: 5, cause: e });
        }
        return runId;
      });
      const run = await readRunRow(deps.db, id);
      if (!run) throw new Error(`run ${id} vanished after commit`);
      return { run, kind: 'created' };
    } catch (e) {
      const info = pgErrorInfo(e);
      // Lost a race: loop and read the winner.
      if (info?.code === '23505' && (info.constraint === 'generation_runs_live' || info.constraint === 'generation_idempotency_keys_pkey')) continue;
      throw e;
    }
  }
  throw new AppError('conflict', 'the generation run changed concurrently, retry the request', { retryAfterSeconds: 1 });
}

export const submitRoute = route({
  method: 'post',
  path: '/v1/schedule-generations',
  summary: 'Submit a schedule generation (Idempotency-Key header recommended)',
  tag: 'schedule-generations',
  scope: 'schedules:generate',
  body: submitBody,
  responses: {
    202: { description: 'Queued (or the existing run: same Idempotency-Key and body, or a run for the same department and period still queued/running)', schema: runSchema },
    400: { description: 'Invalid body or period' },
    403: { description: 'Not allowed for this department' },
    404: { description: 'Unknown department' },
    409: { description: 'Idempotency-Key reused with another body, or a published schedule covers the period' },
    503: { description: 'Queue unavailable (Retry-After); nothing was created' },
  },
  handler: async ({ req, body, principal, deps }) => {
    const key = req.get('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new AppError('validation_failed', 'Idempotency-Key must be 1..255 visible ASCII characters', { details: [{ field: 'headers.idempotency-key', message: 'invalid format' }] });
    }
    if (body.periodEnd < body.periodStart) {
      throw new AppError('validation_failed', 'periodEnd must not be before periodStart', { details: [{ field: 'body.periodEnd', message: 'before periodStart' }] });
    }
    const days = dayNumber(body.periodEnd) - dayNumber(body.periodStart) + 1;
    if (days > deps.config.GENERATION_MAX_DAYS) {
      throw new AppError('validation_failed', `the period may span at most ${deps.config.GENERATION_MAX_DAYS} days, got ${days}`, {
        details: [{ field: 'body.periodEnd', message: `at most ${deps.config.GENERATION_MAX_DAYS} days after periodStart` }],
      });
    }
    if (principal.role === 'employee') throw forbidden('employees cannot run schedule generation');
    const dept = await deps.db.query<{ path: string; active: boolean }>('SELECT path::text AS path, active FROM departments WHERE id = $1', [body.departmentId]);
    const d = dept.rows[0];
    if (!d) throw notFound('department');
    assertCanManage(principal, d.path);
    if (!d.active) throw new AppError('validation_failed', 'the department is inactive', { details: [{ field: 'body.departmentId', message: 'inactive department' }] });
    const requestedBy = `${principal.kind}:${principal.id}`;
    const hash = requestHash(body);
    const respond = async ({ run, kind }: Outcome) => ({
      status: 202,
      json: { ...(await runJson(run, deps.generation)), deduplicated: kind === 'deduplicated' },
      headers: {
        Location: `/v1/schedule-generations/${run.id}`,
        ...(kind === 'replayed' ? { 'Idempotent-Replayed': 'true' } : {}),
      },
    });
    if (key) {
      const existing = await byKey(deps, requestedBy, key);
      if (existing) return respond(replayOrConflict(existing, hash));
    }
    const published = await deps.db.query<{ id: string }>(
      `SELECT id FROM schedules WHERE department_id = $1 AND period_start = $2 AND period_end = $3 AND status = 'published'`,
      [body.departmentId, body.periodStart, body.periodEnd]);
    if (published.rows[0]) {
      throw new AppError('conflict', 'a published schedule covers this period; archive it before generating a new draft', {
        details: [{ field: 'body.periodStart', message: `published schedule ${published.rows[0].id}` }],
      });
    }
    return respond(await submit(deps, body, requestedBy, key, hash));
  },
});
