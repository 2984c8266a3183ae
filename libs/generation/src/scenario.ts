/**
 * A department ready to schedule, for tests and benchmarks: employees on one contract, templates
 * (optionally with skills and forbidden successions), demand for every day and template, and a
 * sprinkle of approved time off, availability windows and shift requests drawn from a seeded PRNG.
 */
import type { Db } from '@rota/db';
import { addDays, isoWeekday } from './time.ts';

export type ScenarioTemplate = { code: string; start: string; end: string; skills?: string[] };

export type ScenarioOptions = {
  employees: number;
  periodStart: string;
  days: number;
  templates?: ScenarioTemplate[];
  /** [from code, to code]: `to` may not follow `from` on the next day. */
  successions?: [string, string][];
  /** Required head count per template and day; default 1 on weekdays and weekends alike. */
  demand?: (template: number, day: number) => number;
  seed?: number;
  /** Share of employees with an approved week of time off. Default 0.1. */
  timeOffShare?: number;
  /** Share of employees with availability windows (weekdays only). Default 0.1. */
  availabilityShare?: number;
  /** Shift requests per employee. Default 1. */
  requestsPerEmployee?: number;
  /** Skills given to every other employee (templates may require them). */
  skills?: string[];
  contract?: Partial<{ maxMinutes: number; minMinutes: number; maxConsecutive: number; maxWeekends: number; minRest: number }>;
  departmentName?: string;
  timezone?: string;
};

export type Scenario = { departmentId: string; employeeIds: string[]; templateIds: string[]; periodStart: string; periodEnd: string };

export const DEFAULT_TEMPLATES: ScenarioTemplate[] = [
  { code: 'E', start: '06:00', end: '14:00' },
  { code: 'L', start: '14:00', end: '22:00' },
  { code: 'N', start: '22:00', end: '06:00' },
];

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

let seq = 0;

export async function createScenario(db: Db, o: ScenarioOptions): Promise<Scenario> {
  const rand = rng(o.seed ?? 1);
  const templates = o.templates ?? DEFAULT_TEMPLATES;
  const periodEnd = addDays(o.periodStart, o.days - 1);
  const c = o.contract ?? {};
  return db.tx(async (q) => {
    const tag = `${process.pid}-${Date.now().toString(36)}-${++seq}`;
    const dept = await q.query<{ id: string }>('INSERT INTO departments (name, timezone) VALUES ($1, $2) RETURNING id',
      [o.departmentName ?? `Scenario ${tag}`, o.timezone ?? 'UTC']);
    const departmentId = dept.rows[0]!.id;
    const contract = await q.query<{ id: string }>(
      `INSERT INTO contracts (name, max_minutes_per_period, min_minutes_per_period, max_consecutive_days, max_weekends_per_period, min_rest_minutes)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [`Scenario ${tag}`, c.maxMinutes ?? Math.round((o.days / 7) * 40 * 60), c.minMinutes ?? 0, c.maxConsecutive ?? 6,
        c.maxWeekends ?? Math.max(1, Math.ceil(o.days / 14)), c.minRest ?? 660]);
    const tpl = await q.query<{ id: string }>(
      `INSERT INTO shift_templates (department_id, code, name, start_time, end_time, required_skills)
       SELECT $1, code, 'Shift ' || code, s::time, e::time, string_to_array(sk, ',')
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS x(code, s, e, sk, n) ORDER BY n RETURNING id`,
      [departmentId, templates.map((t) => t.code), templates.map((t) => t.start), templates.map((t) => t.end),
        templates.map((t) => (t.skills ?? []).join(','))]);
    const templateIds = tpl.rows.map((r) => r.id);
    const codeIndex = new Map(templates.map((t, i) => [t.code, i]));
    for (const [a, b] of o.successions ?? []) {
      await q.query('INSERT INTO template_successions (department_id, from_template_id, to_template_id) VALUES ($1, $2, $3)',
        [departmentId, templateIds[codeIndex.get(a)!], templateIds[codeIndex.get(b)!]]);
    }
    const skills = o.skills ?? [];
    const n = o.employees;
    const emp = await q.query<{ id: string }>(
      `INSERT INTO employees (email, first_name, last_name, department_id, contract_id, hourly_rate, skills)
       SELECT 'scn.' || $1 || '.' || i || '@example.com', 'Emp', 'No' || i, $2, $3, 15 + (i % 10), CASE WHEN i % 2 = 0 THEN $4::text[] ELSE '{}' END
         FROM generate_series(1, $5) AS i ORDER BY i RETURNING id`,
      [tag, departmentId, contract.rows[0]!.id, skills, n]);
    const employeeIds = emp.rows.map((r) => r.id);
    for (const id of employeeIds) {
      if (rand() < (o.timeOffShare ?? 0.1)) {
        const from = Math.floor(rand() * o.days);
        await q.query(`INSERT INTO time_off (employee_id, start_date, end_date, status) VALUES ($1, $2, $3, 'approved')`,
          [id, addDays(o.periodStart, from), addDays(o.periodStart, Math.min(o.days - 1, from + 6))]);
      }
      if (rand() < (o.availabilityShare ?? 0.1)) {
        // Weekdays, early and late shifts only.
        for (let wd = 1; wd <= 5; wd++) {
          await q.query(`INSERT INTO availability (employee_id, weekday, start_time, end_time) VALUES ($1, $2, '06:00', '22:00')`, [id, wd]);
        }
      }
      for (let k = 0; k < (o.requestsPerEmployee ?? 1); k++) {
        const day = Math.floor(rand() * o.days);
        const t = rand() < 0.5 ? null : templateIds[Math.floor(rand() * templateIds.length)]!;
        await q.query('INSERT INTO shift_requests (employee_id, date, kind, template_id, weight) VALUES ($1, $2, $3, $4, $5)',
          [id, addDays(o.periodStart, day), rand() < 0.5 ? 'on' : 'off', t, 1 + Math.floor(rand() * 3)]);
      }
    }
    const dates: string[] = [];
    const tids: string[] = [];
    const req: number[] = [];
    for (let d = 0; d < o.days; d++) {
      const date = addDays(o.periodStart, d);
      for (let t = 0; t < templateIds.length; t++) {
        const weekend = isoWeekday(date) >= 6;
        dates.push(date);
        tids.push(templateIds[t]!);
        req.push(o.demand ? o.demand(t, d) : weekend ? 1 : 1);
      }
    }
    await q.query(
      `INSERT INTO demand (department_id, template_id, date, required, weight_under, weight_over)
       SELECT $1, t, d, r, 100, 1 FROM unnest($2::bigint[], $3::date[], $4::int[]) AS x(t, d, r)`,
      [departmentId, tids, dates, req]);
    return { departmentId, employeeIds, templateIds, periodStart: o.periodStart, periodEnd };
  });
}

/** Inserts a queued run row directly (what the API does), for tests and tools driving the worker or the lib. */
export async function insertRun(db: Db, s: Pick<Scenario, 'departmentId' | 'periodStart' | 'periodEnd'>, options: Record<string, unknown> = {}): Promise<string> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO generation_runs (department_id, period_start, period_end, options, requested_by, request_hash)
     VALUES ($1, $2, $3, $4, 'test', md5(random()::text)) RETURNING id`,
    [s.departmentId, s.periodStart, s.periodEnd, JSON.stringify(options)]);
  return r.rows[0]!.id;
}
