import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, test as base } from 'vitest';
import { QUEUE_SCHEDULE_GENERATION, createScenario, jobIdOf, queueKeyPrefix } from '@rota/generation';
import { createLogger } from '@rota/telemetry';
import { newApiKey } from '../../auth/api-keys.ts';
import { createBullGenerationQueue } from '../../generation/queue.ts';
import { apiFixture, createTestApi, type TestApi } from '../../testing.ts';
import { realQueue } from './testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture({ generation: realQueue }) });

async function jobOf(api: TestApi, runId: string) {
  const connection = new Redis(api.deps.config.REDIS_URL, { maxRetriesPerRequest: null });
  const q = new Queue(QUEUE_SCHEDULE_GENERATION, { connection, prefix: queueKeyPrefix(api.deps.config.QUEUE_PREFIX) });
  try {
    const job = await q.getJob(jobIdOf(runId));
    return job ? { state: await job.getState(), data: job.data as unknown } : null;
  } finally {
    await q.close();
    connection.disconnect();
  }
}

describe('POST /v1/schedule-generations (no worker running: runs stay queued)', () => {
  test('idempotency: same key + body → same run; same key + other body → 409; other key, same period → deduplicated; concurrent submissions → one run', { timeout: 60_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 3, periodStart: '2030-01-07', days: 7 });
    const body = { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds: 5, seed: 3 } };
    const first = await api.request('POST', '/v1/schedule-generations', { token, body, headers: { 'idempotency-key': 'k-1' } });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'queued', departmentId: s.departmentId, progress: 0, queuePosition: 1, deduplicated: false });
    expect(first.headers.get('location')).toBe(`/v1/schedule-generations/${first.body.id}`);
    expect(await jobOf(api, first.body.id)).toEqual({ state: 'waiting', data: { runId: first.body.id } });

    // Key order in the body does not matter (canonical hash).
    const again = await api.request('POST', '/v1/schedule-generations', {
      token, headers: { 'idempotency-key': 'k-1' },
      body: { options: { seed: 3, timeLimitSeconds: 5 }, periodEnd: s.periodEnd, periodStart: s.periodStart, departmentId: s.departmentId },
    });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');

    const conflict = await api.request('POST', '/v1/schedule-generations', { token, body: { ...body, options: { seed: 4 } }, headers: { 'idempotency-key': 'k-1' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('idempotency_conflict');

    // Another principal may use the same key for its own request.
    const other = await api.login('admin');
    const s2 = await createScenario(api.tdb.db, { employees: 2, periodStart: '2030-02-04', days: 7 });
    const otherRun = await api.request('POST', '/v1/schedule-generations', {
      token: other.token, headers: { 'idempotency-key': 'k-1' },
      body: { departmentId: s2.departmentId, periodStart: s2.periodStart, periodEnd: s2.periodEnd },
    });
    expect(otherRun.status).toBe(202);
    expect(otherRun.body.id).not.toBe(first.body.id);
    expect(otherRun.body.queuePosition).toBe(2);

    const dedup = await api.request('POST', '/v1/schedule-generations', { token, body: { ...body, options: {} }, headers: { 'idempotency-key': 'k-2' } });
    expect(dedup.status).toBe(202);
    expect(dedup.body).toMatchObject({ id: first.body.id, deduplicated: true });
    const noKey = await api.request('POST', '/v1/schedule-generations', { token, body });
    expect(noKey.body.id).toBe(first.body.id);

    // Concurrent submissions for a new period, each with its own key: exactly one run.
    const period = { departmentId: s.departmentId, periodStart: '2030-03-04', periodEnd: '2030-03-10' };
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      api.request('POST', '/v1/schedule-generations', { token, body: period, headers: { 'idempotency-key': `c-${i}` } })));
    expect(many.map((r) => r.status)).toEqual(new Array(10).fill(202));
    expect(new Set(many.map((r) => r.body.id)).size).toBe(1);
    // Concurrent duplicates of the same key: one run too.
    const period2 = { ...period, periodStart: '2030-04-01', periodEnd: '2030-04-07' };
    const same = await Promise.all(Array.from({ length: 6 }, () =>
      api.request('POST', '/v1/schedule-generations', { token, body: period2, headers: { 'idempotency-key': 'same' } })));
    expect(same.map((r) => r.status)).toEqual(new Array(6).fill(202));
    expect(new Set(same.map((r) => r.body.id)).size).toBe(1);
    const rows = await api.tdb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM generation_runs WHERE department_id = $1`, [s.departmentId]);
    expect(rows.rows[0]!.n).toBe(3);
  });

  test('a key answered with a deduplicated run keeps naming that run after it finished; reused with another body → 409', { timeout: 60_000 }, async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 2, periodStart: '2030-01-07', days: 7 });
    const body = { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd };
    const post = (b: unknown, key: string) => api.request('POST', '/v1/schedule-generations', { token, body: b, headers: { 'idempotency-key': key } });
    const live = await post(body, 'creator');
    expect(live.status).toBe(202);
    const dedup = await post({ ...body, options: { seed: 9 } }, 'late');
    expect(dedup.body).toMatchObject({ id: live.body.id, deduplicated: true });
    // The live run ends (here: cancelled while queued), which frees the period.
    expect((await api.request('DELETE', `/v1/schedule-generations/${live.body.id}`, { token })).body.status).toBe('cancelled');

    // A client retrying the deduplicated request gets the same run, not a second one.
    const retry = await post({ ...body, options: { seed: 9 } }, 'late');
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(live.body.id);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const reused = await post({ ...body, options: { seed: 10 } }, 'late');
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('idempotency_conflict');
    const runs = await api.tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM generation_runs WHERE department_id = $1', [s.departmentId]);
    expect(runs.rows[0]!.n).toBe(1);
    // A fresh key for the same period now starts a new run.
    const fresh = await post(body, 'fresh');
    expect(fresh.body).toMatchObject({ deduplicated: false, status: 'queued' });
    expect(fresh.body.id).not.toBe(live.body.id);
  });

  test('GET, list (keyset, filters) and cancel of a queued run', async ({ api }) => {
    const { token } = await api.login('admin');
    const s = await createScenario(api.tdb.db, { employees: 2, periodStart: '2030-01-07', days: 7 });
    const ids: string[] = [];
    for (const start of ['2030-01-07', '2030-01-14', '2030-01-21']) {
      const r = await api.request('POST', '/v1/schedule-generations', { token, body: { departmentId: s.departmentId, periodStart: start, periodEnd: start } });
      ids.push(r.body.id);
    }
    const one = await api.request('GET', `/v1/schedule-generations/${ids[1]}`, { token });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: ids[1], status: 'queued', queuePosition: 2, result: null, scheduleId: null, cancelRequested: false });

    const cancel = await api.request('DELETE', `/v1/schedule-generations/${ids[0]}`, { token });
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ status: 'cancelled', cancelRequested: true });
    expect(await jobOf(api, ids[0]!)).toBeNull();
    expect((await api.request('GET', `/v1/schedule-generations/${ids[1]}`, { token })).body.queuePosition).toBe(1);
    // Cancelling again is a no-op; the period is free for a new run.
    expect((await api.request('DELETE', `/v1/schedule-generations/${ids[0]}`, { token })).body.status).toBe('cancelled');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.request('GET', `/v1/schedule-generations?departmentId=${s.departmentId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expect(page.status).toBe(200);
      expect(Number(page.headers.get('x-db-queries'))).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((r: { id: string }) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const queued = await api.request('GET', `/v1/schedule-generations?status=queued`, { token });
    expect(queued.body.data.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    expect((await api.request('GET', '/v1/schedule-generations?status=bogus', { token })).status).toBe(400);
    expect((await api.request('GET', '/v1/schedule-generations/987654', { token })).status).toBe(404);
  });

  test('validation and authorization', async ({ api }) => {
    const top = await api.makeDepartment({ name: 'Top' });
    const mine = await api.makeDepartment({ name: 'Mine', parentId: top });
    const child = await api.makeDepartment({ name: 'Child', parentId: mine });
    const other = await api.makeDepartment({ name: 'Other', parentId: top });
    const admin = await api.login('admin', top);
    const manager = await api.login('manager', mine);
    const employee = await api.login('employee', child);
    const body = (departmentId: string, periodStart = '2030-01-07', periodEnd = '2030-01-13') => ({ departmentId, periodStart, periodEnd });
    const post = (token: string | undefined, b: unknown, headers: Record<string, string> = {}) =>
      api.request('POST', '/v1/schedule-generations', { ...(token ? { token } : {}), body: b, headers });

    expect((await post(undefined, body(mine))).status).toBe(401);
    expect((await post(employee.token, body(child))).status).toBe(403);
    expect((await post(manager.token, body(other))).status).toBe(403);
    const ok = await post(manager.token, body(child));
    expect(ok.status).toBe(202);
    expect((await api.request('GET', `/v1/schedule-generations/${ok.body.id}`, { token: employee.token })).status).toBe(403);
    expect((await api.request('GET', '/v1/schedule-generations', { token: employee.token })).status).toBe(403);
    const otherRun = await post(admin.token, body(other));
    expect((await api.request('GET', `/v1/schedule-generations/${otherRun.body.id}`, { token: manager.token })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/schedule-generations/${otherRun.body.id}`, { token: manager.token })).status).toBe(403);
    const managerList = await api.request('GET', '/v1/schedule-generations', { token: manager.token });
    expect(managerList.body.data.map((r: { id: string }) => r.id)).toEqual([ok.body.id]);

    const cases: [unknown, number, string][] = [
      [body('999999'), 404, ''],
      [body(mine, '2030-01-10', '2030-01-09'), 400, 'body.periodEnd'],
      [body(mine, '2030-01-01', '2030-06-30'), 400, 'body.periodEnd'],
      [body(mine, '2030-02-30', '2030-03-01'), 400, 'body.periodStart'],
      [{ ...body(mine), options: { timeLimitSeconds: 0 } }, 400, 'body.options.timeLimitSeconds'],
      [{ ...body(mine), options: { turbo: true } }, 400, 'body.options.turbo'],
      [{ ...body(mine), extra: 1 }, 400, 'body.extra'],
      [{ periodStart: '2030-01-07' }, 400, 'body.departmentId'],
    ];
    for (const [b, status, field] of cases) {
      const r = await post(admin.token, b);
      expect(r.status, JSON.stringify(b)).toBe(status);
      if (field) expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    const doc = await api.request('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths).filter((p) => p.includes('schedule-generations')).sort()).toEqual([
      '/v1/schedule-generations', '/v1/schedule-generations/{id}', '/v1/schedule-generations/{id}/events',
    ]);
    // Machine clients: an API key acts with its role inside its department subtree.
    const apiKey = async (role: string, departmentId: string): Promise<{ key: string; id: string }> => {
      const k = newApiKey();
      const r = await api.tdb.db.query<{ id: string }>(
        `INSERT INTO api_keys (name, prefix, key_hash, role, department_id) VALUES ('test', $1, $2, $3, $4) RETURNING id`, [k.prefix, k.hash, role, departmentId]);
      return { key: k.key, id: r.rows[0]!.id };
    };
    const managerKey = await apiKey('manager', mine);
    const viaKey = await post(managerKey.key, body(child, '2030-06-03', '2030-06-09'), { 'idempotency-key': 'k' });
    expect(viaKey.status).toBe(202);
    expect(viaKey.body.requestedBy).toBe(`apiKey:${managerKey.id}`);
    expect((await post(managerKey.key, body(other, '2030-06-03', '2030-06-09'))).status).toBe(403);
    expect((await post((await apiKey('employee', mine)).key, body(mine, '2030-06-03', '2030-06-09'))).status).toBe(403);
    const badKey = await post(admin.token, body(mine), { 'idempotency-key': 'x'.repeat(300) });
    expect(badKey.status).toBe(400);
    // A published schedule for the exact period is never overwritten by a generation.
    await api.tdb.db.query(`INSERT INTO schedules (department_id, period_start, period_end, status, published_at) VALUES ($1, '2030-05-06', '2030-05-12', 'published', now())`, [mine]);
    const pub = await post(admin.token, body(mine, '2030-05-06', '2030-05-12'));
    expect(pub.status).toBe(409);
  });
});

describe('queue unavailable', () => {
  test('Redis unreachable → 503 with Retry-After, and no run row is left behind', async () => {
    const api = await createTestApi({
      generation: (d) => createBullGenerationQueue({ redis: { url: 'redis://127.0.0.1:1' }, prefix: d.config.QUEUE_PREFIX, logger: createLogger('t', 'silent'), enqueueTimeoutMs: 1000 }),
    });
    try {
      const { token } = await api.login('admin');
      const s = await createScenario(api.tdb.db, { employees: 2, periodStart: '2030-01-07', days: 7 });
      const r = await api.request('POST', '/v1/schedule-generations', { token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd }, headers: { 'idempotency-key': 'x' } });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('unavailable');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      const rows = await api.tdb.db.query('SELECT 1 FROM generation_runs');
      expect(rows.rowCount).toBe(0);
      const outbox = await api.tdb.db.query('SELECT 1 FROM outbox');
      expect(outbox.rowCount).toBe(0);
    } finally {
      await api.close();
    }
  });
});
