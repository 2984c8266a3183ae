import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test as base } from 'vitest';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import type { Queryable } from '../pool.ts';
import { seedDatabase, SeedRefusedError, SEEDED_TABLES, type SeedInput } from './seed.ts';
import { verifyPassword } from '@rota/domain';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

const small = (overrides: Partial<SeedInput> = {}): SeedInput => ({
  seed: 42, employees: 160, departments: 9, weeksHistory: 5, demandDays: 30, anchorDate: '2026-03-02',
  reset: false, adminEmail: 'boss@rota.test', adminPassword: 'correct horse battery', demoPassword: 'demo-password-1',
  ...overrides,
});

async function seed(tdb: TestDatabase, input: SeedInput) {
  const client = await tdb.db.connect();
  try {
    return await seedDatabase(client, input);
  } finally {
    client.release();
  }
}

async function one<T>(db: Queryable, sql: string, params: unknown[] = []): Promise<T> {
  const r = await db.query(sql, params);
  return Object.values(r.rows[0] ?? {})[0] as T;
}

/** md5 over every seeded table's rows, without the columns that are clock or salt dependent. */
async function checksum(db: Queryable): Promise<string> {
  const parts: string[] = [];
  for (const t of SEEDED_TABLES) {
    parts.push(await one<string>(db, `SELECT coalesce(md5(string_agg(j, '|' ORDER BY j)), '') FROM
      (SELECT (to_jsonb(x) - 'created_at' - 'updated_at' - 'password_hash' - 'api_json')::text AS j FROM ${t} x) s`));
  }
  return parts.join(':');
}

describe('seedDatabase', () => {
  test('produces a consistent dataset of the expected shape', async ({ tdb }) => {
    const r = await seed(tdb, small());
    const db = tdb.db;
    expect(r.from).toBe('2026-01-26');
    expect(r.to).toBe('2026-03-31');
    expect(r.counts['employees']).toBe(161);

    expect(await one<number>(db, 'SELECT max(nlevel(path)) FROM departments')).toBeGreaterThanOrEqual(3);
    expect(await one<string>(db, `SELECT count(*) FROM departments WHERE timezone NOT LIKE '%/%'`)).toBe('0');
    // One manager per active department, a few admins, the login admin with a working hash.
    expect(await one<string>(db, `SELECT count(*) FROM departments d WHERE active AND
      (SELECT count(*) FROM employees e WHERE e.department_id = d.id AND e.role = 'manager') <> 1`)).toBe('0');
    expect(Number(await one<string>(db, `SELECT count(*) FROM employees WHERE role = 'admin'`))).toBeGreaterThanOrEqual(3);
    const hash = await one<string>(db, `SELECT password_hash FROM employees WHERE lower(email) = 'boss@rota.test' AND role = 'admin'`);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);

    // Department history ends where the employee is, and some people did move.
    expect(await one<string>(db, `SELECT count(*) FROM employees e WHERE e.department_id IS DISTINCT FROM
      (SELECT to_department_id FROM department_assignment_history h WHERE h.employee_id = e.id
        ORDER BY changed_at DESC, id DESC LIMIT 1)`)).toBe('0');
    expect(Number(await one<string>(db, `SELECT count(*) FROM department_assignment_history WHERE from_department_id IS NOT NULL`))).toBeGreaterThan(0);

    // Shifts: one a day per employee, in the right monthly partition, inside the schedule's period.
    expect(await one<string>(db, `SELECT count(*) FROM (SELECT 1 FROM shifts WHERE employee_id IS NOT NULL
      GROUP BY employee_id, date HAVING count(*) > 1) x`)).toBe('0');
    expect(await one<string>(db, `SELECT count(*) FROM shifts WHERE tableoid::regclass::text <> 'shifts_' || to_char(date, 'YYYY_MM')`)).toBe('0');
    expect(await one<string>(db, `SELECT count(*) FROM shifts s JOIN schedules sc ON sc.id = s.schedule_id
      WHERE s.date NOT BETWEEN sc.period_start AND sc.period_end OR s.department_id <> sc.department_id OR sc.status <> 'published'`)).toBe('0');
    expect(await one<string>(db, `SELECT count(*) FROM shifts WHERE date >= '2026-03-02'`)).toBe('0');
    // History, roughly: no shift on approved time off, no forbidden succession, ~5 shifts a week.
    expect(await one<string>(db, `SELECT count(*) FROM shifts s JOIN time_off o ON o.employee_id = s.employee_id
      AND o.status = 'approved' AND s.date BETWEEN o.start_date AND o.end_date`)).toBe('0');
    expect(await one<string>(db, `SELECT count(*) FROM shifts a JOIN shifts b ON b.employee_id = a.employee_id AND b.date = a.date + 1
      JOIN template_successions ts ON ts.from_template_id = a.template_id AND ts.to_template_id = b.template_id`)).toBe('0');
    const perWeek = Number(await one<string>(db, `SELECT count(*)::numeric / 5 / (SELECT count(*) FROM employees WHERE role = 'employee' AND active)
      FROM shifts WHERE employee_id IS NOT NULL`));
    expect(perWeek).toBeGreaterThan(3.5);
    expect(perWeek).toBeLessThanOrEqual(6);
    // Overnight templates produce shifts that end the next day.
    expect(Number(await one<string>(db, `SELECT count(*) FROM shifts s JOIN shift_templates t ON t.id = s.template_id
      WHERE t.end_time <= t.start_time AND s.ends_at > s.starts_at + interval '7 hours'`))).toBeGreaterThan(0);

    // Demand for every template and every day of the range.
    expect(await one<string>(db, `SELECT count(*) FROM shift_templates t
      CROSS JOIN generate_series('2026-01-26'::date, '2026-03-31'::date, interval '1 day') g(day)
      LEFT JOIN demand d ON d.template_id = t.id AND d.date = g.day::date WHERE d.date IS NULL`)).toBe('0');
    // Analytics rows for every day with demand, and the past ones with coverage.
    expect(await one<string>(db, `SELECT count(*) FROM (SELECT DISTINCT department_id, date FROM demand) d
      LEFT JOIN department_daily_stats s USING (department_id, date) WHERE s.date IS NULL`)).toBe('0');
    expect(Number(await one<string>(db, `SELECT sum(covered_slots)::numeric / sum(demand_slots) FROM department_daily_stats WHERE date < '2026-03-02'`)))
      .toBeGreaterThan(0.7);
    // Every seeded input table has rows.
    for (const t of ['contracts', 'employee_rules', 'employee_shift_limits', 'availability', 'time_off', 'shift_requests', 'template_successions']) {
      expect(Number(await one<string>(db, `SELECT count(*) FROM ${t}`)), t).toBeGreaterThan(0);
    }
  });

  test('the bulk stats statement gives the same rows as rota_refresh_daily_stats per department', async ({ tdb }) => {
    await seed(tdb, small());
    const snapshot = `SELECT department_id, date, scheduled_minutes, labour_cost, head_count, shift_count, open_shifts,
      demand_slots, covered_slots, overtime_minutes FROM department_daily_stats ORDER BY department_id, date`;
    const bulk = (await tdb.db.query(snapshot)).rows;
    await tdb.db.query(`SELECT rota_refresh_daily_stats(id, '2026-01-26', '2026-03-31') FROM departments`);
    expect((await tdb.db.query(snapshot)).rows).toEqual(bulk);
    expect(bulk.length).toBeGreaterThan(0);
  });

  test('the same input gives the same data; another seed gives other data', async ({ tdb }) => {
    await seed(tdb, small());
    const first = await checksum(tdb.db);
    await seed(tdb, small({ reset: true }));
    expect(await checksum(tdb.db)).toBe(first);
    await seed(tdb, small({ reset: true, seed: 43 }));
    expect(await checksum(tdb.db)).not.toBe(first);
  });

  test('a seeded database is refused without reset and left untouched', async ({ tdb }) => {
    await seed(tdb, small());
    const before = await checksum(tdb.db);
    await expect(seed(tdb, small())).rejects.toThrow(SeedRefusedError);
    await expect(seed(tdb, small())).rejects.toThrow(/already seeded; use --reset/);
    expect(await checksum(tdb.db)).toBe(before);
  });
});

describe('seed CLI', () => {
  const cli = fileURLToPath(new URL('../cli/seed.ts', import.meta.url));
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [cli, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      });
    });

  test.each([
    [['--employes', '10'], /Unknown option '--employes'/],
    [['--employees', 'many'], /--employees must be a whole number/],
    [['--employees', '5'], /--employees must be between 10 and 1000000/],
    [['--employees', '100', '--departments', '50'], /too many for --employees/],
    [['--anchor-date', '2026-02-31'], /not a real date/],
    [['--anchor-date', '2026-03-03'], /must be a Monday/],
    [['--seed'], /argument missing/],
    [['extra'], /positional argument/],
  ])('%j exits 2 with a clear message', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('bad environment exits 2 naming the variable', async () => {
    const r = await run([], { ROTA_ADMIN_PASSWORD: 'short', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/rota_unused' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ROTA_ADMIN_PASSWORD must have at least 8 characters/);
  });

  test('--help prints the usage', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--weeks-history/);
  });
});
