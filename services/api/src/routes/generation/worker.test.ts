import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, test as base } from 'vitest';
import { checkStoredRoster, createScenario, importCurtois, readCheckpoint } from '@rota/generation';
import { apiFixture, type TestApi } from '../../testing.ts';
import { readEvents, realQueue, spawnWorker, startWorker, waitFor } from './testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture({ generation: realQueue }) });

type Run = { id: string; status: string; progress: number; attempts: number; error: string | null; scheduleId: string | null; result: any; bestScore: number | null };

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function getRun(api: TestApi, token: string, id: string): Promise<Run> {
  const r = await api.request<Run>('GET', `/v1/schedule-generations/${id}`, { token });
  if (r.status !== 200) throw new Error(`GET run answered ${r.status}`);
  return r.body;
}

const waitStatus = (api: TestApi, token: string, id: string, statuses: string[], timeoutMs = 40_000): Promise<Run> =>
  waitFor(`run ${id} to be ${statuses.join('|')}`, async () => {
    const r = await getRun(api, token, id);
    return statuses.includes(r.status) ? r : undefined;
  }, timeoutMs);

async function storedRosterCheck(api: TestApi, runId: string, scheduleId: string) {
  const c = await checkStoredRoster(api.tdb.db, runId, scheduleId);
  return { rows: c.rows, doubleBooked: c.doubleBooked, duplicateKeys: c.duplicateKeys, violations: c.violations };
}

/** Imports Curtois 8 (a search with phases that do not poll the stop flag), submits a 60-s run and waits until it has been solving for 1.5 s. */
async function solvingCurtois8(api: TestApi, token: string): Promise<{ runId: string; imp: { departmentId: string; periodStart: string; periodEnd: string } }> {
  const text = readFileSync(fileURLToPath(new URL('../../../../../../shared/data/curtois/Instance8.txt', import.meta.url)), 'utf8');
  const imp = await importCurtois(api.tdb.db, text, { departmentName: 'Curtois 8', periodStart: '2030-01-07' });
  const post = await api.request('POST', '/v1/schedule-generations', {
    token, body: { departmentId: imp.departmentId, periodStart: imp.periodStart, periodEnd: imp.periodEnd, options: { timeLimitSeconds: 60 } },
  });
  await waitStatus(api, token, post.body.id, ['running']);
  await new Promise((r) => setTimeout(r, 1500));
  return { runId: post.body.id, imp };
}

describe('schedule generation end to end (API → BullMQ → worker → Postgres)', () => {
  test('a run succeeds; SSE streams progress until the terminal state; GET shows the result summary', { timeout: 60_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 12, periodStart: '2030-01-07', days: 14, successions: [['N', 'E']] });
    const worker = startWorker(api);
    try {
      const post = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 3 } },
      });
      expect(post.status).toBe(202);
      const events = await readEvents(`${api.url}/v1/schedule-generations/${post.body.id}/events`, token);
      const statuses = events.map((e) => e.status);
      expect(statuses.at(-1)).toBe('succeeded');
      const running = events.filter((e) => e.status === 'running');
      // ≥ 1 update per second over a 3 s solve.
      expect(running.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < running.length; i++) expect(running[i]!.progress).toBeGreaterThanOrEqual(running[i - 1]!.progress);
      expect(running.some((e) => e.bestScore !== null)).toBe(true);

      const run = await getRun(api, token, post.body.id);
      expect(run).toMatchObject({ status: 'succeeded', progress: 100, attempts: 1, error: null });
      expect(run.result).toMatchObject({ hardViolations: 0, scheduleId: run.scheduleId, employees: 12, days: 14 });
      expect(run.result.shifts.inserted).toBe(run.result.shifts.total);
      expect(run.result.coveragePct).toBeGreaterThan(0);
      expect(run.result.solveTimeMs).toBeGreaterThan(2000);
      expect(Object.keys(run.result.softPenalties).sort()).toEqual(['cost', 'coverOver', 'coverUnder', 'fairness', 'offRequests', 'onRequests', 'total']);
      const check = await storedRosterCheck(api, run.id, run.scheduleId!);
      expect(check).toMatchObject({ rows: run.result.shifts.total, doubleBooked: 0, duplicateKeys: 0, violations: [] });
      const metrics = await worker.queue.getJobCounts('completed');
      expect(metrics['completed']).toBe(1);
      // An SSE client arriving after the end gets the final object and the stream closes.
      const late = await readEvents(`${api.url}/v1/schedule-generations/${post.body.id}/events`, token, 5000);
      expect(late.map((e) => e.status)).toEqual(['succeeded']);
    } finally {
      await worker.close(0);
    }
  });

  test('DELETE stops a running solver within a second; nothing is written', { timeout: 60_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 30, periodStart: '2030-01-07', days: 28 });
    const worker = startWorker(api);
    try {
      const post = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 120 } },
      });
      await waitFor('solver progress', async () => (await getRun(api, token, post.body.id)).progress > 5, 30_000);
      const t0 = Date.now();
      const del = await api.request('DELETE', `/v1/schedule-generations/${post.body.id}`, { token });
      expect(del.status).toBe(200);
      expect(del.body.cancelRequested).toBe(true);
      const done = await waitStatus(api, token, post.body.id, ['cancelled', 'succeeded', 'failed'], 5000);
      const elapsed = Date.now() - t0;
      expect(done.status).toBe('cancelled');
      expect(elapsed).toBeLessThan(1000);
      await waitFor('worker idle', async () => worker.activeRuns().length === 0, 5000);
      expect((await api.tdb.db.query('SELECT 1 FROM shifts')).rowCount).toBe(0);
      expect((await api.request('DELETE', `/v1/schedule-generations/${post.body.id}`, { token })).body.status).toBe('cancelled');
    } finally {
      await worker.close(0);
    }
  });

  test('cancel is prompt even while the solver is in a phase that does not poll its stop flag (Curtois 8)', { timeout: 60_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const worker = startWorker(api);
    try {
      const { runId, imp } = await solvingCurtois8(api, token);
      const t0 = Date.now();
      await api.request('DELETE', `/v1/schedule-generations/${runId}`, { token });
      const done = await waitStatus(api, token, runId, ['cancelled', 'succeeded', 'failed'], 10_000);
      expect(done.status).toBe('cancelled');
      expect(Date.now() - t0).toBeLessThan(1000);
      // The aborted thread was replaced: the worker solves the next run.
      const again = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: imp.departmentId, periodStart: imp.periodStart, periodEnd: imp.periodEnd, options: { timeLimitSeconds: 1, maxIterations: 500 } },
      });
      expect(again.status).toBe(202);
      expect((await waitStatus(api, token, again.body.id, ['succeeded', 'failed'])).status).toBe('succeeded');
    } finally {
      await worker.close(0);
    }
  });

  test('shutdown: a stopped search that does not answer within stopWaitMs is aborted; the job goes back without a roster and is solved again', { timeout: 90_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    // The search is stopped at once (grace 0) and given 1 ms to answer: far less than a stopped
    // search needs to post its roster back, so only the abort can end the attempt.
    const worker = startWorker(api, { stopWaitMs: 1 });
    let next: ReturnType<typeof startWorker> | undefined;
    try {
      const { runId } = await solvingCurtois8(api, token);
      const t0 = Date.now();
      await worker.close(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      const handedBack = await getRun(api, token, runId);
      expect(handedBack.status).toBe('queued');
      // Aborted, not stopped: nothing kept (a stopped search would have left its roster).
      expect(await readCheckpoint(api.tdb.db, runId)).toBeUndefined();
      await api.tdb.db.query(`UPDATE generation_runs SET options = '{"timeLimitSeconds": 1}' WHERE id = $1`, [runId]);
      next = startWorker(api);
      const run = await waitStatus(api, token, runId, ['succeeded', 'failed'], 60_000);
      expect(run).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(run.result.hardViolations).toBe(0);
    } finally {
      await worker.close(0);
      await next?.close(0);
    }
  });

  test('invalid input fails the run once with a clear reason (no retry loop)', { timeout: 60_000 }, async ({ api }) => {
    const { token, departmentId } = await api.login('admin');
    await api.makeEmployee({ departmentId });
    const worker = startWorker(api);
    try {
      const post = await api.request('POST', '/v1/schedule-generations', { token, body: { departmentId, periodStart: '2030-01-07', periodEnd: '2030-01-13' } });
      const run = await waitStatus(api, token, post.body.id, ['failed', 'succeeded']);
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/no active shift templates/);
      expect(run.attempts).toBe(1);
      const job = await worker.queue.getJob(`run-${post.body.id}`);
      expect(job?.attemptsMade).toBe(1);
      expect(await job?.getState()).toBe('failed');
    } finally {
      await worker.close(0);
    }
  });

  test('a failure inside the write transaction is retried; the retry leaves the complete roster and nothing twice', { timeout: 60_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 8, periodStart: '2030-01-07', days: 14 });
    const attemptsSeen: number[] = [];
    const worker = startWorker(api, {
      writeOptionsFor: (attempt) => {
        attemptsSeen.push(attempt);
        return attempt === 1 ? { failAfterShiftsWritten: true } : {};
      },
    });
    try {
      const post = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 1, maxIterations: 2000 } },
      });
      const run = await waitStatus(api, token, post.body.id, ['succeeded', 'failed']);
      expect(run.status).toBe('succeeded');
      expect(run.attempts).toBe(2);
      expect(attemptsSeen).toEqual([1, 2]);
      // The first attempt's rows were rolled back: the second inserted every row itself.
      expect(run.result.shifts.inserted).toBe(run.result.shifts.total);
      const schedules = await api.tdb.db.query<{ version: number }>('SELECT version FROM schedules');
      expect(schedules.rows).toEqual([{ version: 1 }]);
      const check = await storedRosterCheck(api, run.id, run.scheduleId!);
      expect(check).toMatchObject({ rows: run.result.shifts.total, doubleBooked: 0, duplicateKeys: 0, violations: [] });
      const events = await api.tdb.db.query<{ type: string }>(`SELECT type FROM outbox WHERE type = 'schedule.generated'`);
      expect(events.rowCount).toBe(1);
    } finally {
      await worker.close(0);
    }
  });

  test('an attempt whose write fails keeps its roster: the retry goes on from it instead of solving again', { timeout: 60_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 8, periodStart: '2030-01-07', days: 14 });
    const worker = startWorker(api, { writeOptionsFor: (attempt) => (attempt === 1 ? { failAfterShiftsWritten: true } : {}) });
    try {
      const post = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 3 } },
      });
      const run = await waitStatus(api, token, post.body.id, ['succeeded', 'failed']);
      expect(run.status).toBe('succeeded');
      expect(run.attempts).toBe(2);
      // 3 s solved by the first attempt, then the retry's minimum (1 s) from that roster; a retry
      // that solved again from scratch would report about 3 s.
      expect(run.result.solveTimeMs).toBeGreaterThanOrEqual(3_800);
      expect(run.result.solveTimeMs).toBeLessThan(3_000 + 1_000 + 1_500);
      expect(run.result.hardViolations).toBe(0);
      const check = await storedRosterCheck(api, run.id, run.scheduleId!);
      expect(check).toMatchObject({ rows: run.result.shifts.total, doubleBooked: 0, duplicateKeys: 0, violations: [] });
      expect(await readCheckpoint(api.tdb.db, post.body.id)).toBeUndefined();
    } finally {
      await worker.close(0);
    }
  });

  test('a worker killed with SIGKILL mid-solve: another worker recovers the job; no duplicate or missing shifts', { timeout: 90_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 15, periodStart: '2030-01-07', days: 14 });
    const child = spawnWorker(api);
    let rescuer: ReturnType<typeof startWorker> | undefined;
    try {
      const post = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 4 } },
      });
      await waitFor('child worker solving', async () => {
        const r = await getRun(api, token, post.body.id);
        return r.status === 'running' && r.progress > 5;
      }, 40_000);
      child.kill('SIGKILL');
      await once(child, 'exit');
      expect((await getRun(api, token, post.body.id)).status).toBe('running');
      rescuer = startWorker(api);
      const run = await waitStatus(api, token, post.body.id, ['succeeded', 'failed'], 60_000);
      expect(run.status).toBe('succeeded');
      expect(run.attempts).toBe(2);
      const check = await storedRosterCheck(api, run.id, run.scheduleId!);
      expect(check).toMatchObject({ rows: run.result.shifts.total, doubleBooked: 0, duplicateKeys: 0, violations: [] });
      // Every demand slot is either covered by an assigned shift or visible as an open shift.
      const cover = await api.tdb.db.query<{ missing: number }>(
        `SELECT count(*)::int AS missing FROM demand d
          WHERE d.department_id = $1 AND d.required > (SELECT count(*) FROM shifts s WHERE s.schedule_id = $2 AND s.date = d.date AND s.template_id = d.template_id)`,
        [s.departmentId, run.scheduleId]);
      expect(cover.rows[0]!.missing).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rescuer?.close(0);
    }
  });

  test('a job that stalls more often than allowed fails, and the run row says so', { timeout: 90_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 10, periodStart: '2030-01-07', days: 14 });
    const child = spawnWorker(api, { MAX_STALLED_COUNT: '0' });
    let next: ReturnType<typeof startWorker> | undefined;
    try {
      const post = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 30 } },
      });
      await waitFor('child worker solving', async () => (await getRun(api, token, post.body.id)).progress > 5, 40_000);
      child.kill('SIGKILL');
      await once(child, 'exit');
      next = startWorker(api, { maxStalledCount: 0 });
      const run = await waitStatus(api, token, post.body.id, ['failed', 'succeeded'], 30_000);
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/stalled/);
      expect((await api.tdb.db.query('SELECT 1 FROM shifts')).rowCount).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await next?.close(0);
    }
  });

  test('SIGTERM past the grace period hands the job back; another worker finishes it', { timeout: 90_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 10, periodStart: '2030-01-07', days: 14 });
    const port = await freePort();
    const child = spawnWorker(api, { SHUTDOWN_GRACE_SECONDS: '1', METRICS_PORT: String(port) });
    let next: ReturnType<typeof startWorker> | undefined;
    try {
      // The worker process serves /healthz and /metrics on METRICS_PORT.
      const health = await waitFor('worker /healthz', async () => {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return r?.status === 200 ? r.json() : undefined;
      }, 20_000, 100);
      expect(health).toMatchObject({ status: 'ok', activeRuns: [] });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/bullmq_job_count\{[^}]*state="waiting"[^}]*\} 0/);
      expect(metrics).toContain('db_client_connections');
      const post = await api.request('POST', '/v1/schedule-generations', {
        token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 60 } },
      });
      await waitFor('child worker solving', async () => (await getRun(api, token, post.body.id)).progress > 5, 40_000);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
      const handedBack = await getRun(api, token, post.body.id);
      expect(handedBack.status).toBe('queued');
      // It handed back its best roster so far, not nothing: the next attempt goes on from it.
      const kept = await readCheckpoint(api.tdb.db, post.body.id);
      expect(kept).toBeDefined();
      expect(kept!.solvedMs).toBeGreaterThan(500);
      expect(kept!.rows).toHaveLength(10);
      expect(Number.isFinite(kept!.score)).toBe(true);
      // The run has "used" its time: the next attempt only polishes the kept roster.
      await api.tdb.db.query(`UPDATE generation_runs SET options = '{"timeLimitSeconds": 1}' WHERE id = $1`, [post.body.id]);
      next = startWorker(api);
      const run = await waitStatus(api, token, post.body.id, ['succeeded', 'failed'], 30_000);
      expect(run.status).toBe('succeeded');
      expect(run.attempts).toBe(2);
      // Solving time counts both attempts; the search began at the kept roster, so it is no worse.
      expect(run.result.solveTimeMs).toBeGreaterThanOrEqual(kept!.solvedMs + 900);
      expect(run.result.softPenalties.total).toBeLessThanOrEqual(kept!.score + 1e-6);
      expect(run.result.hardViolations).toBe(0);
      expect(await readCheckpoint(api.tdb.db, post.body.id)).toBeUndefined();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await next?.close(0);
    }
  });
});
