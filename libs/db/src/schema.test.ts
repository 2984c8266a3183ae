import { describe, expect, test as base } from 'vitest';
import { testDatabase, type TestDatabase } from '@rota/testkit';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

async function rejects(tdb: TestDatabase, sql: string, params: unknown[], pattern: RegExp): Promise<void> {
  await expect(tdb.db.query(sql, params)).rejects.toThrow(pattern);
}

async function baseData(tdb: TestDatabase): Promise<{ dept: string; emp: string; tpl: string; sched: string }> {
  const d = await tdb.db.query<{ id: string }>(`INSERT INTO departments (name, timezone) VALUES ('Ward', 'Europe/London') RETURNING id`);
  const dept = d.rows[0]!.id;
  const e = await tdb.db.query<{ id: string }>(
    `INSERT INTO employees (email, first_name, last_name, department_id) VALUES ('a@x.io', 'Ada', 'Lovelace', $1) RETURNING id`, [dept]);
  const t = await tdb.db.query<{ id: string }>(
    `INSERT INTO shift_templates (department_id, code, name, start_time, end_time) VALUES ($1, 'N', 'Night', '22:00', '06:00') RETURNING id`, [dept]);
  const s = await tdb.db.query<{ id: string }>(
    `INSERT INTO schedules (department_id, period_start, period_end) VALUES ($1, '2026-01-01', '2026-01-28') RETURNING id`, [dept]);
  return { dept, emp: e.rows[0]!.id, tpl: t.rows[0]!.id, sched: s.rows[0]!.id };
}

describe('schema constraints', () => {
  test('department hierarchy: paths follow moves and cycles are rejected', async ({ tdb }) => {
    const ids: string[] = [];
    for (const [name, parent] of [['root', null], ['a', 0], ['b', 1], ['c', 2]] as const) {
      const r = await tdb.db.query<{ id: string }>('INSERT INTO departments (name, parent_id) VALUES ($1, $2) RETURNING id',
        [name, parent === null ? null : ids[parent]]);
      ids.push(r.rows[0]!.id);
    }
    const path = async (id: string): Promise<string> =>
      (await tdb.db.query<{ path: string }>('SELECT path::text FROM departments WHERE id = $1', [id])).rows[0]!.path;
    expect(await path(ids[3]!)).toBe(ids.join('.'));
    await rejects(tdb, 'UPDATE departments SET parent_id = $1 WHERE id = $2', [ids[3], ids[1]], /below its own subtree/);
    await rejects(tdb, 'UPDATE departments SET parent_id = id WHERE id = $1', [ids[0]], /check constraint|subtree/);
    await tdb.db.query('UPDATE departments SET parent_id = $1 WHERE id = $2', [ids[0], ids[2]]);
    expect(await path(ids[3]!)).toBe(`${ids[0]}.${ids[2]}.${ids[3]}`);
    const sub = await tdb.db.query('SELECT id FROM departments WHERE path <@ (SELECT path FROM departments WHERE id = $1)', [ids[1]]);
    expect(sub.rowCount).toBe(1);
  });

  test('concurrent moves keep paths true and cannot make a cycle (migration 0007)', async ({ tdb }) => {
    const add = async (name: string, parent: string | null): Promise<string> =>
      (await tdb.db.query<{ id: string }>('INSERT INTO departments (name, parent_id) VALUES ($1, $2) RETURNING id', [name, parent])).rows[0]!.id;
    const path = async (id: string): Promise<string> =>
      (await tdb.db.query<{ path: string }>('SELECT path::text FROM departments WHERE id = $1', [id])).rows[0]!.path;
    const root = await add('root', null);
    const p = await add('p', root);
    const b = await add('b', p);
    const q = await add('q', root);
    const x = await add('x', root);
    const first = await tdb.db.connect();
    const second = await tdb.db.connect();
    try {
      // P (with B below it) moves below Q while, concurrently, X moves below B.
      await first.query('BEGIN');
      await first.query('UPDATE departments SET parent_id = $1 WHERE id = $2', [q, p]);
      const moveX = second.query('UPDATE departments SET parent_id = $1 WHERE id = $2', [b, x]);
      await new Promise((r) => setTimeout(r, 200)); // moveX is waiting for the first move
      await first.query('COMMIT');
      await moveX;
      expect(await path(b)).toBe(`${root}.${q}.${p}.${b}`);
      expect(await path(x)).toBe(`${root}.${q}.${p}.${b}.${x}`); // not B's old path
      const under = await tdb.db.query<{ id: string }>(`SELECT id FROM departments WHERE path <@ $1::ltree ORDER BY id`, [await path(q)]);
      expect(under.rows.map((r) => r.id)).toEqual([p, b, q, x].sort((m, n) => Number(m) - Number(n)));

      // A moves below C while, concurrently, C moves below A: the second must see the first and refuse.
      const a = await add('a', root);
      const c = await add('c', root);
      await first.query('BEGIN');
      await first.query('UPDATE departments SET parent_id = $1 WHERE id = $2', [c, a]);
      const cycle = second.query('UPDATE departments SET parent_id = $1 WHERE id = $2', [a, c]).then(() => 'moved', (e: Error) => e.message);
      await new Promise((r) => setTimeout(r, 200));
      await first.query('COMMIT');
      expect(await cycle).toMatch(/cannot move below its own subtree/);
      expect(await path(a)).toBe(`${root}.${c}.${a}`);
      expect(await path(c)).toBe(`${root}.${c}`);
    } finally {
      first.release();
      second.release();
    }
  });

  test('departments reject empty names, unknown parents and unknown time zones', async ({ tdb }) => {
    await rejects(tdb, `INSERT INTO departments (name) VALUES ('  ')`, [], /departments_name_check/);
    await rejects(tdb, `INSERT INTO departments (name, parent_id) VALUES ('x', 999)`, [], /does not exist/);
    await rejects(tdb, `INSERT INTO departments (name, timezone) VALUES ('x', 'Mars/Olympus')`, [], /unknown time zone/);
  });

  test('employees: email unique case-insensitively, no empty names, no negative rate, valid role', async ({ tdb }) => {
    const { dept } = await baseData(tdb);
    const ins = `INSERT INTO employees (email, first_name, last_name, department_id, hourly_rate, role) VALUES ($1, $2, $3, $4, $5, $6)`;
    await rejects(tdb, ins, ['A@X.IO', 'B', 'C', dept, 10, 'employee'], /employees_email_lower/);
    await rejects(tdb, ins, ['b@x.io', '', 'C', dept, 10, 'employee'], /employees_first_name_check/);
    await rejects(tdb, ins, ['b@x.io', 'B', 'C', dept, -1, 'employee'], /employees_hourly_rate_check/);
    await rejects(tdb, ins, ['b@x.io', 'B', 'C', dept, 1, 'boss'], /employees_role_check/);
    await rejects(tdb, ins, ['not-an-email', 'B', 'C', dept, 1, 'employee'], /employees_email_check/);
  });

  test('periods and rules: end before start and inverted min/max are rejected', async ({ tdb }) => {
    const { dept, emp } = await baseData(tdb);
    await rejects(tdb, `INSERT INTO schedules (department_id, period_start, period_end) VALUES ($1, '2026-02-10', '2026-02-01')`, [dept], /schedules_check/);
    await rejects(tdb, `INSERT INTO time_off (employee_id, start_date, end_date) VALUES ($1, '2026-02-10', '2026-02-01')`, [emp], /time_off_check/);
    await rejects(tdb, `INSERT INTO generation_runs (department_id, period_start, period_end, requested_by, request_hash) VALUES ($1, '2026-02-10', '2026-02-01', 'x', 'h')`, [dept], /generation_runs_check/);
    await rejects(tdb, `INSERT INTO contracts (name, min_minutes_per_period, max_minutes_per_period) VALUES ('c', 100, 50)`, [], /contracts_check/);
    await rejects(tdb, `INSERT INTO demand (department_id, template_id, date, required) VALUES ($1, 1, '2026-01-01', -1)`, [dept], /demand_required_check/);
  });

  test('overnight templates are allowed and their duration crosses midnight', async ({ tdb }) => {
    const { tpl } = await baseData(tdb);
    const r = await tdb.db.query<{ duration_minutes: number }>('SELECT duration_minutes FROM shift_templates WHERE id = $1', [tpl]);
    expect(r.rows[0]!.duration_minutes).toBe(480);
  });

  test('shifts: partitions are created for any date written, the natural key is unique and open shifts are consistent', async ({ tdb }) => {
    const { dept, emp, tpl, sched } = await baseData(tdb);
    const ins = `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
    await rejects(tdb, ins, [sched, dept, emp, tpl, '2031-05-02', 0, '2031-05-02T22:00Z', '2031-05-03T06:00Z'], /no partition/);
    const created = await tdb.db.query<{ n: number }>('SELECT rota_ensure_shift_partitions($1, $2) AS n', ['2031-05-02', '2031-07-01']);
    expect(created.rows[0]!.n).toBe(3);
    await tdb.db.query(ins, [sched, dept, emp, tpl, '2031-05-02', 0, '2031-05-02T22:00Z', '2031-05-03T06:00Z']);
    await rejects(tdb, ins, [sched, dept, emp, tpl, '2031-05-02', 0, '2031-05-02T22:00Z', '2031-05-03T06:00Z'], /shifts_natural_key|shifts_2031_05/);
    await rejects(tdb, ins, [sched, dept, null, tpl, '2031-05-02', 0, '2031-05-02T22:00Z', '2031-05-03T06:00Z'], /shifts_check/);
    await rejects(tdb, ins, [sched, dept, emp, tpl, '2031-05-03', 0, '2031-05-03T22:00Z', '2031-05-03T21:00Z'], /shifts_check/);
    await tdb.db.query(ins, [sched, dept, null, tpl, '2031-05-02', 1, '2031-05-02T22:00Z', '2031-05-03T06:00Z']);
    await rejects(tdb, ins, [sched, dept, null, tpl, '2031-05-02', 1, '2031-05-02T22:00Z', '2031-05-03T06:00Z'], /shifts_natural_key|shifts_2031_05/);
  });

  test('department history rows need a real change and known departments', async ({ tdb }) => {
    const { dept, emp } = await baseData(tdb);
    await rejects(tdb, `INSERT INTO department_assignment_history (employee_id, from_department_id, to_department_id) VALUES ($1, $2, $2)`, [emp, dept], /department_assignment_history_check/);
    await rejects(tdb, `INSERT INTO department_assignment_history (employee_id, to_department_id) VALUES ($1, 12345)`, [emp], /foreign key/);
  });
});
