/**
 * Redis is an optimisation: with Redis gone every read endpoint still answers 200 from Postgres
 * (X-Cache: BYPASS) and the cache breaker opens; when Redis returns the breaker closes and reads
 * are cached again. /readyz stays 200 (Redis reported as degraded, not required) meanwhile.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PrivateRedis, freeStaticPort } from '@rota/testkit';
import { allRoutes } from './routes/index.ts';
import { createTestApi, type TestApi } from './testing.ts';

let redis: PrivateRedis;
let api: TestApi;

beforeAll(async () => {
  redis = new PrivateRedis(await freeStaticPort());
  await redis.start();
  api = await createTestApi({ env: { REDIS_URL: redis.url }, cacheTimeoutMs: 100 });
});
afterAll(async () => {
  await api?.close();
  await redis?.stop();
});

async function breakerState(): Promise<number | undefined> {
  const m = await api.deps.registry.getSingleMetric('circuit_breaker_state')?.get();
  return m?.values.find((v) => v.labels['name'] === 'redis-cache')?.value;
}

/** Streams and long polls that are not cache reads. */
const NOT_CACHE_READS = new Set(['/v1/schedule-generations/:id/events']);

test('every read endpoint answers 200 from Postgres while Redis is down; the breaker opens, then closes when Redis is back', { timeout: 120_000 }, async () => {
  const admin = await api.login('admin');
  const dept = admin.departmentId;
  const emp = await api.makeEmployee({ departmentId: dept });
  const tpl = await api.makeTemplate({ departmentId: dept });
  const db = api.tdb.db;
  const other = await api.makeDepartment();
  await db.query(`UPDATE employees SET department_id = $1 WHERE id = $2`, [other, emp]);
  await db.query(`INSERT INTO department_assignment_history (employee_id, from_department_id, to_department_id) VALUES ($1, $2, $3)`, [emp, dept, other]);
  await db.query(`UPDATE employees SET department_id = $1 WHERE id = $2`, [dept, emp]);
  await db.query(`INSERT INTO demand (department_id, template_id, date, required) VALUES ($1, $2, '2026-03-02', 2)`, [dept, tpl]);
  const sched = (await db.query<{ id: string }>(
    `INSERT INTO schedules (department_id, period_start, period_end, status, published_at) VALUES ($1, '2026-03-02', '2026-03-08', 'published', now()) RETURNING id`, [dept])).rows[0]!.id;
  await db.query(`SELECT rota_ensure_shift_partitions('2026-03-02', '2026-03-08')`);
  await db.query(`INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, starts_at, ends_at)
                  VALUES ($1, $2, $3, $4, '2026-03-02', '2026-03-02T08:00Z', '2026-03-02T16:00Z')`, [sched, dept, emp, tpl]);
  await db.query(`SELECT rota_refresh_daily_stats($1, '2026-03-02', '2026-03-08')`, [dept]);
  const run = (await db.query<{ id: string }>(
    `INSERT INTO generation_runs (department_id, period_start, period_end, requested_by, request_hash, status) VALUES ($1, '2026-04-06', '2026-04-12', 'user:1', 'h', 'failed') RETURNING id`, [dept])).rows[0]!.id;

  const urls: Record<string, string> = {
    '/v1/me': '/v1/me',
    '/v1/api-keys': '/v1/api-keys',
    '/v1/departments': '/v1/departments',
    '/v1/departments/tree': '/v1/departments/tree',
    '/v1/departments/:id': `/v1/departments/${dept}`,
    '/v1/departments/:id/demand': `/v1/departments/${dept}/demand?from=2026-03-01&to=2026-03-31`,
    '/v1/departments/:id/shift-templates': `/v1/departments/${dept}/shift-templates`,
    '/v1/departments/:id/shift-templates/:templateId': `/v1/departments/${dept}/shift-templates/${tpl}`,
    '/v1/employees': `/v1/employees?departmentId=${dept}`,
    '/v1/employees/:id': `/v1/employees/${emp}`,
    '/v1/employees/:id/availability': `/v1/employees/${emp}/availability`,
    '/v1/employees/:id/department-history': `/v1/employees/${emp}/department-history`,
    '/v1/employees/:id/shift-requests': `/v1/employees/${emp}/shift-requests`,
    '/v1/employees/:id/shifts': `/v1/employees/${emp}/shifts?from=2026-03-01&to=2026-03-31`,
    '/v1/employees/:id/time-off': `/v1/employees/${emp}/time-off`,
    '/v1/employees/:id/work-rules': `/v1/employees/${emp}/work-rules`,
    '/v1/schedules': `/v1/schedules?departmentId=${dept}`,
    '/v1/schedules/:id': `/v1/schedules/${sched}`,
    '/v1/schedules/:id/shifts': `/v1/schedules/${sched}/shifts`,
    '/v1/schedules/:id/export': `/v1/schedules/${sched}/export?format=csv`,
    '/v1/schedules/:id/rule-violations': `/v1/schedules/${sched}/rule-violations`,
    '/v1/schedule-generations': `/v1/schedule-generations?departmentId=${dept}`,
    '/v1/schedule-generations/:id': `/v1/schedule-generations/${run}`,
    '/v1/analytics/overview': `/v1/analytics/overview?from=2026-03-01&to=2026-03-31&departmentId=${dept}`,
    '/v1/analytics/departments/:id/daily': `/v1/analytics/departments/${dept}/daily?from=2026-03-01&to=2026-03-31`,
  };
  // Every GET route of the API is in the list: a new read endpoint must be added here.
  const gets = allRoutes.filter((r) => r.method === 'get' && !NOT_CACHE_READS.has(r.path)).map((r) => r.path).sort();
  expect(Object.keys(urls).sort()).toEqual(gets);

  const readAll = async (): Promise<Record<string, { status: number; cache: string | null; body: string }>> => {
    const out: Record<string, { status: number; cache: string | null; body: string }> = {};
    for (const [route, url] of Object.entries(urls)) {
      const r = await api.request('GET', url, { token: admin.token });
      out[route] = { status: r.status, cache: r.headers.get('x-cache'), body: r.text };
    }
    return out;
  };

  await readAll();
  const warm = await readAll();
  for (const [route, r] of Object.entries(warm)) expect(r.status, route).toBe(200);
  expect(Object.values(warm).filter((r) => r.cache === 'HIT').length).toBeGreaterThan(15);
  expect(await breakerState()).toBe(0);

  await redis.stop();
  // Failures trip the breaker once they are half of the calls in its rolling window; keep reading
  // (every read must answer from Postgres meanwhile) until it is open.
  const openBy = Date.now() + 20_000;
  while ((await breakerState()) !== 2 && Date.now() < openBy) {
    for (const [route, r] of Object.entries(await readAll())) expect(r.status, route).toBe(200);
  }
  const down = await readAll();
  for (const [route, r] of Object.entries(down)) {
    expect(r.status, route).toBe(200);
    expect(r.body, route).toBe(warm[route]!.body);
    if (r.cache !== null) expect(r.cache, route).toBe('BYPASS');
  }
  expect(await breakerState()).toBe(2);
  // Readiness reports Redis but does not fail on it: a Redis outage must not take every API pod
  // out of its Kubernetes Service while reads are served from Postgres.
  const readyz = await api.request('GET', '/readyz');
  expect(readyz.status).toBe(200);
  const readyBody = readyz.body as { status: string; checks: { name: string; ok: boolean; required: boolean }[] };
  expect(readyBody.status).toBe('degraded');
  expect(readyBody.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: false, required: false });
  expect(readyBody.checks.find((c) => c.name === 'postgres')).toMatchObject({ ok: true, required: true });

  await redis.start();
  // The breaker half-opens after its reset timeout, and one successful probe closes it.
  const deadline = Date.now() + 30_000;
  let cached = 0;
  while (Date.now() < deadline) {
    await sleep(500);
    const r = await api.request('GET', urls['/v1/departments/tree']!, { token: admin.token });
    expect(r.status).toBe(200);
    if (r.headers.get('x-cache') === 'HIT' && (await breakerState()) === 0) { cached++; break; }
  }
  expect(cached).toBe(1);
  expect(await breakerState()).toBe(0);
});
