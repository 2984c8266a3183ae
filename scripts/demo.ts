/**
 * The demo run (`pnpm demo` starts everything, then runs this): submits generation jobs for a few
 * departments and shows their progress, reads the resulting schedules through the API, changes an
 * employee and shows the cached read being invalidated, then prints where everything is and a
 * summary. Exits non-zero when a run fails or a roster breaks a hard rule.
 */
import { randomUUID } from 'node:crypto';

const API = process.env['DEMO_API_URL'] ?? `http://127.0.0.1:${process.env['PORT'] ?? 3000}`;
const EMAIL = process.env['ROTA_ADMIN_EMAIL'] ?? 'admin@rota.local';
const PASSWORD = process.env['ROTA_ADMIN_PASSWORD'] ?? 'rota-admin-password';
const DEPARTMENTS = Number(process.env['DEMO_DEPARTMENTS'] ?? 3);
const TIME_LIMIT = Number(process.env['DEMO_TIME_LIMIT_SECONDS'] ?? 15);
const tty = process.stdout.isTTY;

type Res<T = any> = { status: number; headers: Headers; body: T; ms: number };
let token = '';

async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res<T>> {
  const started = performance.now();
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T, ms: performance.now() - started };
}

function must<T>(r: Res<T>, what: string, ok = [200]): T {
  if (!ok.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function nextMonday(weeksAhead: number): string {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + ((8 - d.getUTCDay()) % 7 || 7) + 7 * weeksAhead);
  return d.toISOString().slice(0, 10);
}
const plusDays = (date: string, n: number): string => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

type TreeNode = { id: string; name: string; headCount: number; children: TreeNode[] };
type Pick = { id: string; name: string; headCount: number };

function leaves(nodes: TreeNode[], out: Pick[] = []): Pick[] {
  for (const n of nodes) {
    if (n.children.length === 0) out.push({ id: n.id, name: n.name, headCount: n.headCount });
    leaves(n.children, out);
  }
  return out;
}

function bar(label: string, pct: number, status: string): string {
  const width = 30;
  const filled = Math.round((Math.max(0, Math.min(100, pct)) / 100) * width);
  return `${label.padEnd(28).slice(0, 28)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}% ${status}`;
}

async function main(): Promise<void> {
  console.log(`demo: API ${API}`);
  const login = must(await call<{ accessToken: string }>('POST', '/v1/auth/token', { email: EMAIL, password: PASSWORD }), 'login');
  token = login.accessToken;

  // Departments with people and shift templates, mid-sized so the demo stays short.
  const tree = must(await call<{ data: TreeNode[] }>('GET', '/v1/departments/tree'), 'department tree');
  const candidates = leaves(tree.data).filter((d) => d.headCount >= 8 && d.headCount <= 80).sort((a, b) => a.headCount - b.headCount);
  const picked: Pick[] = [];
  for (const d of candidates) {
    const t = await call<{ data: unknown[] }>('GET', `/v1/departments/${d.id}/shift-templates`);
    if (t.status === 200 && t.body.data.length > 0) picked.push(d);
    if (picked.length >= DEPARTMENTS) break;
  }
  if (picked.length === 0) throw new Error('no department with employees and shift templates; run `pnpm seed` first');

  // 1. Submit one generation per department (4 weeks); shift the period when one is published.
  type Run = { dept: Pick; id: string; status: string; progress: number; result?: any; error?: string | null; submittedAt: number; endedAt?: number };
  const runs: Run[] = [];
  for (const dept of picked) {
    for (let ahead = 1; ahead <= 12; ahead += 4) {
      const periodStart = nextMonday(ahead);
      const r = await call('POST', '/v1/schedule-generations',
        { departmentId: dept.id, periodStart, periodEnd: plusDays(periodStart, 27), options: { timeLimitSeconds: TIME_LIMIT } },
        { 'idempotency-key': randomUUID() });
      if (r.status === 409) continue; // a published schedule covers this period
      must(r, `submit generation for ${dept.name}`, [200, 202]);
      runs.push({ dept, id: r.body.id, status: r.body.status, progress: r.body.progress, submittedAt: performance.now() });
      console.log(`demo: submitted run ${r.body.id} for "${dept.name}" (${dept.headCount} people, ${periodStart} + 4 weeks)`);
      break;
    }
  }

  // 2. Progress bars until every run has ended.
  const terminal = new Set(['succeeded', 'failed', 'cancelled']);
  let drawn = 0;
  let lastPrint = 0;
  while (runs.some((r) => !terminal.has(r.status))) {
    await new Promise((res) => setTimeout(res, 500));
    for (const run of runs.filter((r) => !terminal.has(r.status))) {
      const s = must(await call('GET', `/v1/schedule-generations/${run.id}`), 'run status');
      Object.assign(run, { status: s.status, progress: s.progress, result: s.result, error: s.error });
      if (terminal.has(s.status)) run.endedAt = performance.now();
    }
    const lines = runs.map((r) => bar(r.dept.name, r.status === 'succeeded' ? 100 : r.progress, r.status));
    if (tty) {
      if (drawn) process.stdout.write(`\x1b[${drawn}A`);
      process.stdout.write(`${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawn = lines.length;
    } else if (performance.now() - lastPrint > 3000) {
      lines.forEach((l) => console.log(l));
      lastPrint = performance.now();
    }
  }
  if (!tty) runs.forEach((r) => console.log(bar(r.dept.name, r.status === 'succeeded' ? 100 : r.progress, r.status)));

  // 3. Read the schedules back through the API.
  for (const run of runs.filter((r) => r.status === 'succeeded')) {
    const schedule = must(await call('GET', `/v1/schedules/${run.result.scheduleId}`), 'schedule');
    const shifts = must(await call<{ data: unknown[] }>('GET', `/v1/schedules/${run.result.scheduleId}/shifts?limit=500`), 'shifts');
    console.log(`demo: schedule ${schedule.id} of "${run.dept.name}": ${schedule.status}, ${shifts.data.length}${shifts.data.length === 500 ? '+' : ''} shifts on the first page`);
  }

  // 4. A change and its invalidation: read (MISS), read (HIT), write, read again (MISS, new data).
  const dept = picked[0]!;
  const listPath = `/v1/employees?departmentId=${dept.id}&limit=5&sort=lastName`;
  const first = await call<{ data: { id: string; lastName: string }[] }>('GET', listPath);
  const second = await call<{ data: { id: string; lastName: string }[] }>('GET', listPath);
  const target = must(first, 'employee list').data[0]!;
  const renamed = `${target.lastName.replace(/ \(demo\)$/, '')} (demo)`;
  const write = await call('PATCH', `/v1/employees/${target.id}`, { lastName: renamed });
  must(write, 'rename employee');
  const t0 = performance.now();
  let after = await call<{ data: { id: string; lastName: string }[] }>('GET', listPath);
  while (!after.body.data.some((e) => e.lastName === renamed) && performance.now() - t0 < 5000) {
    await new Promise((res) => setTimeout(res, 50));
    after = await call('GET', listPath);
  }
  const seen = after.body.data.some((e) => e.lastName === renamed);
  console.log(`demo: employee list of "${dept.name}": X-Cache ${first.headers.get('x-cache')} (${first.ms.toFixed(1)} ms) → ${second.headers.get('x-cache')} (${second.ms.toFixed(1)} ms)`);
  console.log(`demo: renamed employee ${target.id} to "${renamed}"; next read X-Cache ${after.headers.get('x-cache')}, new name ${seen ? 'visible' : 'NOT visible'} ${(performance.now() - t0).toFixed(0)} ms after the commit`);
  await call('PATCH', `/v1/employees/${target.id}`, { lastName: target.lastName.replace(/ \(demo\)$/, '') });

  // 5. Where things are, and the summary.
  console.log('\nRota is running:');
  console.log(`  API            ${API}  (docs ${API}/docs, OpenAPI ${API}/openapi.json, metrics ${API}/metrics)`);
  console.log(`  worker metrics http://127.0.0.1:${process.env['WORKER_METRICS_PORT'] ?? 9465}/metrics`);
  console.log(`  invalidator    http://127.0.0.1:${process.env['INVALIDATOR_METRICS_PORT'] ?? 9466}/metrics`);
  console.log(`  Prometheus     http://127.0.0.1:${process.env['PROMETHEUS_PORT'] ?? 9090}`);
  console.log(`  stop with      pnpm demo:down\n`);
  console.log('department'.padEnd(28), 'status'.padEnd(10), 'coverage', 'hard', 'shifts', 'solve s', 'total s', 'minimums lifted');
  let bad = 0;
  for (const r of runs) {
    const res = r.result ?? {};
    const hard = res.hardViolations ?? (r.status === 'succeeded' ? 0 : NaN);
    if (r.status !== 'succeeded' || hard !== 0) bad++;
    console.log(r.dept.name.padEnd(28).slice(0, 28), r.status.padEnd(10), `${(res.coveragePct ?? 0).toFixed(1)}%`.padStart(8),
      String(hard).padStart(4), String(res.shifts?.total ?? '-').padStart(6), ((res.solveTimeMs ?? 0) / 1000).toFixed(1).padStart(7),
      (((r.endedAt ?? performance.now()) - r.submittedAt) / 1000).toFixed(1).padStart(7),
      String(res.relaxedMinimumsEmployeeIds?.length ?? 0).padStart(15), r.error ? `  ${r.error}` : '');
  }
  const totalHard = runs.reduce((s, r) => s + (r.result?.hardViolations ?? 0), 0);
  console.log(`\nsummary: ${runs.length} run(s), ${runs.length - bad} succeeded with 0 hard-rule violations; hard-rule violations = ${totalHard}; invalidation ${seen ? 'observed' : 'NOT observed'}`);
  if (bad > 0 || !seen || runs.length === 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
