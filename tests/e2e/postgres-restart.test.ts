// SPEC §9: a Postgres restart needs no service restart. Every session on the services' database is
// terminated at once (what a restart does to them, without touching the other suites' databases):
// the API's pool, its outbox relay (whose leader session held the advisory lock and LISTENed for
// new rows) and the worker's pool reconnect by themselves — reads, writes, their events and a
// generation job all go on.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, startHarness, type Harness } from './harness.ts';
import { readUntilNotHit, rename, runGeneration, seedGenerationInput, seedScenario, settle, warm, type Scenario } from './helpers.ts';

const hasWorker = existsSync(join(ROOT, 'services/scheduler-worker/src/main.ts'));
let h: Harness;
let s: Scenario;

beforeAll(async () => {
  h = await startHarness({ apiEnv: { CACHE_INVALIDATE_ON_WRITE: 'false' }, workerEnv: { SOLVER_TIME_LIMIT_SECONDS: '2' } });
  s = await seedScenario(h);
  await seedGenerationInput(h, s.deptA, '2027-05-03', '2027-05-16');
}, 180_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

/** Terminates every other session on the test database; returns how many there were. */
async function terminateAll(): Promise<number> {
  const r = await h.tdb.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
     ) t`);
  return r.rows[0]!.n;
}

/** A one-week generation for department A, run to its end. */
const generate = (periodStart: string, periodEnd: string) =>
  runGeneration(h, s.token, { departmentId: s.deptA, periodStart, periodEnd, options: { timeLimitSeconds: 1, seed: 3 } });

it('every service carries on after all its Postgres sessions are terminated', { timeout: 150_000 }, async () => {
  // Pools hold connections, the relay leads (lock + LISTEN), the worker has written a schedule.
  await warm(h, s.token, s.listA);
  await rename(h, s, s.empA, 'BeforeRestart');
  if (hasWorker) expect((await generate('2027-05-03', '2027-05-09')).status).toBe('succeeded');
  await settle(h);
  const sessions = await h.tdb.db.query<{ application_name: string }>(
    'SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  const apps = sessions.rows.map((r) => r.application_name);
  expect(apps, JSON.stringify(apps)).toEqual(expect.arrayContaining(['rota-outbox-relay', 'rota-api:writer', ...(hasWorker ? [expect.stringMatching(/worker/)] : [])]));

  const killed = await terminateAll();
  expect(killed).toBe(apps.length);
  await sleep(1_000);
  // Reads that reach Postgres (each URL new, so a cache miss; readiness runs a query): none fails
  // once the dead sessions have been noticed, a second after.
  const failed: string[] = [];
  for (let i = 1; i <= 10; i++) {
    for (const p of [`/v1/employees?departmentId=${s.deptB}&limit=${i}`, `/v1/schedules?departmentId=${s.deptB}&limit=${i}`, '/readyz']) {
      const r = await h.request('GET', p, { token: s.token });
      if (r.status !== 200 || (p !== '/readyz' && r.headers.get('x-cache') !== 'MISS')) failed.push(`${p}: ${r.status} ${r.headers.get('x-cache')} ${r.text.slice(0, 200)}`);
    }
  }
  expect(failed).toEqual([]);

  // A write commits, its event is relayed (the relay re-elected itself and listens again) and
  // the invalidator invalidates the cached list.
  const t0 = Date.now();
  await rename(h, s, s.empA, 'AfterRestart');
  await settle(h, 30_000);
  const relayedMs = Date.now() - t0;
  const fresh = await readUntilNotHit(h, s.token, s.listA, 15_000);
  expect(fresh.text).toContain('AfterRestart');

  // The worker's pool reconnects too: a second job runs to the end.
  if (hasWorker) expect((await generate('2027-05-10', '2027-05-16')).status).toBe('succeeded');
  process.stdout.write(`postgres-restart: ${killed} sessions terminated (${apps.join(', ')}); write → relayed and invalidated in ${relayedMs} ms\n`);
});
