// The bench:api dataset: its own database seeded once by the seed CLI with fixed options (kept
// and reused while its marker comment and employee count match), and the URLs each endpoint is
// driven with, chosen from it deterministically.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '@rota/db';

export type DatasetOptions = { url: string; employees: number; seed: number; anchorDate: string };

const SEED_CLI = fileURLToPath(new URL('../../libs/db/src/cli/seed.ts', import.meta.url));

const marker = (o: DatasetOptions): string => `rota bench:api dataset seed=${o.seed} employees=${o.employees} anchor=${o.anchorDate}`;

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Seeds the database unless it already holds this dataset; returns whether it seeded. */
export async function ensureDataset(o: DatasetOptions, log: (s: string) => void): Promise<boolean> {
  const name = decodeURIComponent(new URL(o.url).pathname.slice(1));
  const admin = new URL(o.url);
  admin.pathname = '/postgres';
  const comment = await withClient(admin.toString(), async (c) => (await c.query<{ c: string | null }>(
    'SELECT shobj_description(oid, \'pg_database\') AS c FROM pg_database WHERE datname = $1', [name])).rows[0]?.c ?? null);
  if (comment === marker(o)) {
    const n = await withClient(o.url, async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM employees')).rows[0]!.n));
    if (n >= o.employees) {
      // A dataset seeded before a newer migration: apply it (and refresh what the planner and
      // index-only scans rely on) rather than seeding again.
      const applied = await migrate(o.url);
      if (applied.length > 0) {
        log(`applied migration(s) ${applied.join(', ')} to ${name}`);
        await withClient(o.url, (c) => c.query('VACUUM ANALYZE'));
      }
      return false;
    }
  }
  log(`seeding ${name} (${o.employees} employees, seed ${o.seed}, anchor ${o.anchorDate}); takes a minute or two, once`);
  const args = [SEED_CLI, '--seed', String(o.seed), '--employees', String(o.employees), '--anchor-date', o.anchorDate, '--reset', '--quiet'];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, DATABASE_URL: o.url }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`seed CLI exited with ${code}`);
  await withClient(o.url, async (c) => {
    await c.query('VACUUM ANALYZE');
    await c.query(`COMMENT ON DATABASE ${name} IS '${marker(o).replace(/'/g, "''")}'`);
  });
  return true;
}

export type Endpoint = { name: string; label: string; paths: string[] };

const addDays = (iso: string, days: number): string => new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** Interleaves variants so that any prefix of the list spreads over many departments/employees. */
function interleave<T, V>(items: readonly T[], variants: readonly V[], f: (t: T, v: V) => string): string[] {
  const out: string[] = [];
  for (const v of variants) for (const t of items) out.push(f(t, v));
  return out;
}

/** Up to `max` distinct URLs per endpoint; the first `hits` of each are the cache-hit set. */
export async function chooseEndpoints(url: string, anchorDate: string, max: number): Promise<{ endpoints: Endpoint[]; counts: Record<string, number> }> {
  return withClient(url, async (c) => {
    const ids = async (sql: string): Promise<string[]> => (await c.query<{ id: string }>(sql)).rows.map((r) => r.id);
    // Mid-level departments: regions (depth 2, ~1,800 employees each below them) and sites (depth 3, ~160).
    const mid = await ids('SELECT id FROM departments WHERE active AND nlevel(path) IN (2, 3) ORDER BY nlevel(path), id');
    const inner = await ids('SELECT d.id FROM departments d WHERE d.active AND EXISTS (SELECT 1 FROM departments c WHERE c.parent_id = d.id) ORDER BY nlevel(d.path), d.id');
    const movers = await ids(`SELECT employee_id AS id FROM department_assignment_history GROUP BY employee_id HAVING count(*) >= 2 ORDER BY employee_id LIMIT ${max}`);
    const withSchedules = await ids('SELECT DISTINCT department_id AS id FROM schedules ORDER BY department_id');
    const counts: Record<string, number> = {};
    for (const t of ['employees', 'departments', 'department_assignment_history', 'schedules', 'shifts', 'department_daily_stats']) {
      counts[t] = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n);
    }

    const limits = [100, 99, 101, 98, 102, 97, 103, 96, 104, 95, 105];
    const firstHistoryDay = addDays(anchorDate, -56);
    const windows = [0, 7, 14, 21, 28, 3, 10, 17, 24].map((d) => [addDays(firstHistoryDay, d), addDays(firstHistoryDay, d + 27)] as const);
    const endpoints: Endpoint[] = [
      {
        name: 'employeeList', label: 'employee list (100/page, subtree)',
        paths: interleave(mid, limits, (d, l) => `/v1/employees?departmentId=${d}&includeSubdepartments=true&limit=${l}`),
      },
      {
        name: 'departmentTree', label: 'department tree (rootId)',
        paths: interleave(inner, ['', '&includeInactive=true'], (d, v) => `/v1/departments/tree?rootId=${d}${v}`),
      },
      {
        name: 'departmentHistory', label: 'employee department history',
        paths: interleave(movers, [''], (e) => `/v1/employees/${e}/department-history`),
      },
      {
        name: 'scheduleList', label: 'schedule list (department)',
        paths: interleave(withSchedules, ['', '&status=published'], (d, v) => `/v1/schedules?departmentId=${d}${v}`),
      },
      {
        name: 'analyticsOverview', label: 'analytics overview (4 weeks, subtree)',
        paths: interleave(mid, windows, (d, [from, to]) => `/v1/analytics/overview?from=${from}&to=${to}&departmentId=${d}`),
      },
    ];
    for (const e of endpoints) e.paths = e.paths.slice(0, max);
    return { endpoints, counts };
  });
}
