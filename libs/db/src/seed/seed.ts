// The seed generator: plans reference data from a seeded PRNG, writes everything through COPY in
// one transaction, fills past schedules with a fast greedy pass and refreshes the analytics.
import type { PoolClient } from 'pg';
import { copyInto } from '../bulk-upsert.ts';
import { createRng } from './prng.ts';
import { hashPassword } from '@rota/domain';
import { isoOf, minutesOf, toDay, weekdayOf, zonedInstant } from './calendar.ts';
import {
  deptAt, FORBIDDEN, KIND_D, KIND_N, KINDS, planAvailability, planContracts, planDepartments, planEmployees, planTimeOff,
  skillMaskOf,
} from './plan.ts';
import type { Dept, Emp, KindIdx, Template, TimeOff, Window } from './plan.ts';
import type { SeedOptions } from './options.ts';

/** Progress sink; the CLI renders it as a bar on a TTY and as lines otherwise. */
export type SeedProgress = {
  phase(name: string, expectedRows: number): void;
  tick(rows: number): void;
  done(rows: number): void;
};

export type SeedInput = SeedOptions & {
  /** Truncate every table first; without it a database that holds departments or employees is refused. */
  reset: boolean;
  adminEmail: string;
  adminPassword: string;
  demoPassword: string;
};

export type SeedResult = {
  counts: Record<string, number>;
  /** First and last day with data (history start … last demand day). */
  from: string;
  to: string;
  adminEmail: string;
  sampleManagerEmail: string | undefined;
  sampleEmployeeEmail: string | undefined;
  durationMs: number;
};

/** The database already holds data and --reset was not given. */
export class SeedRefusedError extends Error {
  override readonly name = 'SeedRefusedError';
}

/** Tables the seed writes or --reset empties (everything but schema_migrations). */
export const SEEDED_TABLES = [
  'departments', 'contracts', 'employees', 'employee_rules', 'department_assignment_history', 'api_keys',
  'shift_templates', 'template_successions', 'employee_shift_limits', 'availability', 'time_off', 'shift_requests',
  'demand', 'generation_runs', 'schedules', 'shifts', 'outbox', 'department_daily_stats',
] as const;

const noProgress: SeedProgress = { phase: () => {}, tick: () => {}, done: () => {} };
const TICK = 5000;

async function* counted<R>(rows: Iterable<R>, progress: SeedProgress): AsyncGenerator<R> {
  let n = 0;
  for (const r of rows) {
    yield r;
    if (++n % TICK === 0) progress.tick(TICK);
  }
  progress.tick(n % TICK);
}

/** Stable noise in [0, 1) from integers, independent of the order rows are generated in. */
function noise(seed: number, a: number, b: number, c: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const x of [a, b, c]) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h / 4294967296;
}

/**
 * Seeds the database behind `client` in one transaction (BEGIN … COMMIT here), then ANALYZEs.
 * Deterministic: the same input on an empty (or --reset) database writes the same rows and ids.
 */
export async function seedDatabase(client: PoolClient, input: SeedInput, progress: SeedProgress = noProgress): Promise<SeedResult> {
  const started = performance.now();
  const counts: Record<string, number> = {};
  const rng = createRng(input.seed);
  const anchorDay = toDay(input.anchorDate);
  const historyStart = anchorDay - 7 * input.weeksHistory;
  const lastDay = anchorDay + input.demandDays - 1;

  // Hash once; managers and the sample staff share the demo hash (scrypt costs ~50 ms a call).
  const [adminHash, demoHash] = await Promise.all([hashPassword(input.adminPassword), hashPassword(input.demoPassword)]);

  const copy = async <R>(phase: string, table: string, columns: readonly string[], rows: Iterable<R>, expected: number, values: (r: R) => readonly unknown[]): Promise<number> => {
    progress.phase(phase, expected);
    const n = await copyInto(client, table, columns, counted(rows, progress), values);
    progress.done(n);
    counts[table] = (counts[table] ?? 0) + n;
    return n;
  };
  const ids = async (sql: string, params: unknown[] = []): Promise<Array<{ id: string; k: string }>> =>
    (await client.query<{ id: string; k: string }>(sql, params)).rows;

  let sampleManagerEmail: string | undefined;
  let sampleEmployeeEmail: string | undefined;
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL statement_timeout = 0');
    // Two seeds at once would interleave ids; the second waits and then sees the first's data.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['rota_seed']);
    if (input.reset) {
      await client.query(`TRUNCATE ${SEEDED_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
    } else {
      const r = await client.query<{ seeded: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM departments) OR EXISTS (SELECT 1 FROM employees) AS seeded');
      if (r.rows[0]?.seeded) throw new SeedRefusedError('database already seeded; use --reset to replace its data');
    }

    // Departments, level by level so each parent has its id (and ltree path) before its children.
    const depts = planDepartments(rng.fork('departments'), input.departments);
    progress.phase('departments', depts.length);
    for (let level = 1; level <= 4; level++) {
      const batch = depts.filter((d) => d.level === level);
      if (batch.length === 0) continue;
      const rows = await ids(
        `INSERT INTO departments (name, parent_id, timezone, active)
         SELECT n, p, tz, a FROM unnest($1::text[], $2::bigint[], $3::text[], $4::boolean[]) WITH ORDINALITY AS u(n, p, tz, a, o)
         ORDER BY o RETURNING id, name AS k`,
        [batch.map((d) => d.name), batch.map((d) => (d.parent === null ? null : depts[d.parent]!.id)), batch.map((d) => d.tz), batch.map((d) => d.active)]);
      const byName = new Map(rows.map((r) => [r.k, r.id]));
      for (const d of batch) d.id = byName.get(d.name)!;
      progress.tick(batch.length);
    }
    progress.done(depts.length);
    counts['departments'] = depts.length;

    const contracts = planContracts();
    {
      const cols = ['name', 'max_minutes_per_period', 'min_minutes_per_period', 'max_minutes_per_week', 'min_minutes_per_week',
        'max_consecutive_days', 'min_consecutive_days', 'min_consecutive_days_off', 'max_weekends_per_period', 'min_rest_minutes'] as const;
      await copy('contracts', 'contracts', cols, contracts, contracts.length, (c) => cols.map((k) => c[k]));
      const byName = new Map((await ids('SELECT id, name AS k FROM contracts')).map((r) => [r.k, r.id]));
      for (const c of contracts) c.id = byName.get(c.name)!;
    }

    const people = planEmployees(rng.fork('employees'), input, depts, anchorDay, historyStart, { admin: adminHash, demo: demoHash });
    const emps = people.employees;
    await copy('employees', 'employees',
      ['email', 'first_name', 'last_name', 'role', 'department_id', 'contract_id', 'hire_date', 'hourly_rate', 'skills', 'active', 'password_hash', 'created_at'],
      emps, emps.length,
      (e) => [e.email, e.first, e.last, e.role, depts[e.dept]!.id, contracts[e.contract]!.id, isoOf(e.hireDay), e.rate, e.skills, e.active, e.passwordHash, e.createdAt]);
    {
      const byEmail = new Map((await ids('SELECT id, email AS k FROM employees')).map((r) => [r.k, r.id]));
      for (const e of emps) e.id = byEmail.get(e.email)!;
    }
    const firstAdmin = emps[people.admins[0]!]!;
    const managerId = (dept: number): string => emps[people.managerOf.get(dept) ?? people.admins[0]!]!.id;

    // Shift templates (and forbidden successions) for every operational department.
    const templates: Template[] = [];
    const templatesOf = new Map<number, Template[]>();
    const tRng = rng.fork('templates');
    for (const d of depts) {
      if (!d.operational) continue;
      const list: Template[] = [];
      for (let k = 0; k < KINDS.length; k++) {
        if (k === KIND_D && !tRng.chance(0.3)) continue;
        const t: Template = { dept: d.idx, kind: k as KindIdx, id: '' };
        list.push(t);
        templates.push(t);
      }
      templatesOf.set(d.idx, list);
    }
    await copy('shift templates', 'shift_templates', ['department_id', 'code', 'name', 'start_time', 'end_time', 'required_skills', 'pay_multiplier'],
      templates, templates.length, (t) => {
        const k = KINDS[t.kind];
        return [depts[t.dept]!.id, k.code, k.name, k.start, k.end, k.skills, k.pay];
      });
    {
      const byKey = new Map((await ids(`SELECT id, department_id || ':' || code AS k FROM shift_templates`)).map((r) => [r.k, r.id]));
      for (const t of templates) t.id = byKey.get(`${depts[t.dept]!.id}:${KINDS[t.kind].code}`)!;
    }
    const successions: Array<[string, string, string]> = [];
    for (const [dept, list] of templatesOf) {
      for (const [from, to] of FORBIDDEN) {
        const a = list.find((t) => t.kind === from);
        const b = list.find((t) => t.kind === to);
        if (a && b) successions.push([depts[dept]!.id, a.id, b.id]);
      }
    }
    await copy('forbidden successions', 'template_successions', ['department_id', 'from_template_id', 'to_template_id'], successions, successions.length, (s) => s);

    // Per-employee rule overrides and per-type caps for some staff.
    const staff = emps.filter((e) => e.role === 'employee');
    const rRng = rng.fork('rules');
    const ruleRows: unknown[][] = [];
    const limitRows: Array<[string, string, number]> = [];
    const limits = new Int16Array(emps.length * KINDS.length).fill(-1);
    for (const e of staff) {
      if (rRng.chance(0.1)) {
        const row: unknown[] = [e.id, null, null, null, null, null, null, null, null, null];
        switch (rRng.int(0, 3)) {
          case 0: row[3] = rRng.int(24, 40) * 60; break; // max minutes per week
          case 1: row[5] = rRng.int(4, 5); break; // max consecutive days
          case 2: row[9] = 720; row[7] = 2; break; // more rest, two days off in a row
          default: row[8] = rRng.int(1, 2); break; // max weekends per period
        }
        ruleRows.push(row);
      }
      if (rRng.chance(0.1)) {
        for (const t of templatesOf.get(e.dept) ?? []) {
          if (t.kind !== KIND_N && t.kind !== KIND_D) continue;
          const max = t.kind === KIND_N && rRng.chance(0.6) ? 0 : rRng.int(1, 6);
          limits[e.idx * KINDS.length + t.kind] = max;
          limitRows.push([e.id, t.id, max]);
        }
      }
    }
    await copy('work-rule overrides', 'employee_rules',
      ['employee_id', 'max_minutes_per_period', 'min_minutes_per_period', 'max_minutes_per_week', 'min_minutes_per_week',
        'max_consecutive_days', 'min_consecutive_days', 'min_consecutive_days_off', 'max_weekends_per_period', 'min_rest_minutes'],
      ruleRows, ruleRows.length, (r) => r);
    await copy('per-type caps', 'employee_shift_limits', ['employee_id', 'template_id', 'max_shifts'], limitRows, limitRows.length, (r) => r);

    // Department history: the hiring row and every move, ending in the current department.
    const historyRows = emps.flatMap((e) => e.history.map((m) => [
      e.id, m.from === null ? null : depts[m.from]!.id, depts[m.to]!.id,
      m.from === null ? (e.idx === 0 ? null : firstAdmin.id) : managerId(m.to),
      `${isoOf(m.day)}T08:00:00.000Z`, m.reason,
    ]));
    await copy('department history', 'department_assignment_history',
      ['employee_id', 'from_department_id', 'to_department_id', 'changed_by', 'changed_at', 'reason'], historyRows, historyRows.length, (r) => r);

    // Availability windows; each employee's allowed (weekday, kind) pairs as a bit mask for the greedy pass.
    const aRng = rng.fork('availability');
    const allowed = new Uint32Array(emps.length).fill(0xffffffff);
    const availRows: Array<[string, number, string, string]> = [];
    const span = (s: string, e: string): [number, number] => {
      const a = minutesOf(s);
      const b = minutesOf(e);
      return [a, b <= a ? b + 1440 : b];
    };
    for (const e of staff) {
      const windows: Window[] | undefined = planAvailability(aRng);
      if (!windows) continue;
      let mask = 0;
      for (const w of windows) {
        availRows.push([e.id, w.weekday, w.start, w.end]);
        const [ws, we] = span(w.start, w.end);
        KINDS.forEach((k, ki) => {
          const [ts, te] = span(k.start, k.end);
          if (ws <= ts && te <= we) mask |= 1 << ((w.weekday - 1) * KINDS.length + ki);
        });
      }
      allowed[e.idx] = mask;
    }
    await copy('availability', 'availability', ['employee_id', 'weekday', 'start_time', 'end_time'], availRows, availRows.length, (r) => r);

    // Time off: past requests were decided, future ones partly still open.
    const oRng = rng.fork('time-off');
    const approvedOff = new Map<number, TimeOff[]>();
    const offRows: unknown[][] = [];
    for (const e of staff) {
      const list = planTimeOff(oRng, historyStart, lastDay, anchorDay);
      for (const t of list) {
        const decided = t.status !== 'requested';
        offRows.push([e.id, isoOf(t.start), isoOf(t.end), t.status, t.reason,
          decided ? managerId(e.dept) : null, decided ? `${isoOf(t.start - 14)}T10:00:00.000Z` : null, `${isoOf(t.start - 21)}T09:30:00.000Z`]);
      }
      const approved = list.filter((t) => t.status === 'approved');
      if (approved.length) approvedOff.set(e.idx, approved);
    }
    await copy('time off', 'time_off', ['employee_id', 'start_date', 'end_date', 'status', 'reason', 'decided_by', 'decided_at', 'created_at'],
      offRows, offRows.length, (r) => r);

    // Shift requests (soft wishes) around the anchor date.
    const qRng = rng.fork('requests');
    const reqRows: unknown[][] = [];
    const reqTo = Math.min(lastDay, anchorDay + 90);
    for (const e of staff) {
      if (!e.active) continue;
      const n = qRng.int(0, 4);
      const list = templatesOf.get(e.dept) ?? [];
      for (let i = 0; i < n; i++) {
        const tpl = list.length && qRng.chance(0.5) ? qRng.pick(list).id : null;
        reqRows.push([e.id, isoOf(qRng.int(Math.max(historyStart, anchorDay - 14), reqTo)), qRng.chance(0.3) ? 'on' : 'off', tpl, qRng.int(1, 10)]);
      }
    }
    await copy('shift requests', 'shift_requests', ['employee_id', 'date', 'kind', 'template_id', 'weight'], reqRows, reqRows.length, (r) => r);

    // Demand for every operational department × template × day, sized so that the staff cover it
    // with about 5 shifts a week each: weekdays a little above the mean, weekends below.
    const staffCount = new Map<number, number>();
    for (const e of staff) if (e.active) staffCount.set(e.dept, (staffCount.get(e.dept) ?? 0) + 1);
    const required = (t: Template, day: number): number => {
      const list = templatesOf.get(t.dept)!;
      const shareSum = list.reduce((a, x) => a + KINDS[x.kind].share, 0);
      const base = (staffCount.get(t.dept) ?? 0) * 5.25 / 7 * KINDS[t.kind].share / shareSum;
      const factor = weekdayOf(day) <= 5 ? 1.08 : 0.8;
      return Math.max(0, Math.round(base * factor * (0.85 + 0.3 * noise(input.seed, t.dept, t.kind, day))));
    };
    const demandDays = lastDay - historyStart + 1;
    function* demandRows(): Generator<unknown[]> {
      for (const t of templates) {
        const deptId = depts[t.dept]!.id;
        const under = t.kind === KIND_N ? 150 : 100;
        for (let day = historyStart; day <= lastDay; day++) {
          yield [deptId, t.id, isoOf(day), required(t, day), under, 1 + Math.floor(noise(input.seed + 1, t.dept, t.kind, day) * 5)];
        }
      }
    }
    await copy('demand', 'demand', ['department_id', 'template_id', 'date', 'required', 'weight_under', 'weight_over'],
      demandRows(), templates.length * demandDays, (r) => r);

    // Past published schedules, four weeks each, and their shifts from a greedy pass.
    type Block = { start: number; end: number };
    const blocks: Block[] = [];
    for (let s = historyStart; s < anchorDay; s += 28) blocks.push({ start: s, end: Math.min(s + 27, anchorDay - 1) });
    const opDepts = depts.filter((d) => d.operational);
    type Sched = { dept: Dept; block: Block; blockIdx: number; id: string };
    const schedules: Sched[] = blocks.flatMap((block, blockIdx) => opDepts.map((dept) => ({ dept, block, blockIdx, id: '' })));
    await copy('schedules', 'schedules', ['department_id', 'period_start', 'period_end', 'status', 'version', 'score', 'published_at', 'published_by'],
      schedules, schedules.length, (s) => [s.dept.id, isoOf(s.block.start), isoOf(s.block.end), 'published', 1,
        { generator: 'seed', method: 'greedy' }, `${isoOf(s.block.start - 7)}T12:00:00.000Z`, managerId(s.dept.idx)]);
    {
      const byKey = new Map((await ids(`SELECT id, department_id || ':' || period_start AS k FROM schedules`)).map((r) => [r.k, r.id]));
      for (const s of schedules) s.id = byKey.get(`${s.dept.id}:${isoOf(s.block.start)}`)!;
    }
    if (blocks.length) {
      await client.query('SELECT rota_ensure_shift_partitions($1, $2)', [isoOf(historyStart), isoOf(anchorDay - 1)]);
    }

    // Who works where in each block (people move between departments over time).
    const rosterOf = new Map<string, Emp[]>();
    for (const [bi, b] of blocks.entries()) {
      for (const e of staff) {
        if (!e.active || e.hireDay > b.end) continue;
        const key = `${bi}:${deptAt(e, b.start)}`;
        const list = rosterOf.get(key);
        if (list) list.push(e);
        else rosterOf.set(key, [e]);
      }
    }
    const forbidden = new Uint8Array(KINDS.length * KINDS.length);
    for (const [a, b] of FORBIDDEN) forbidden[a * KINDS.length + b] = 1;
    const requiredMask = KINDS.map((k) => skillMaskOf(k.skills));
    const lastWorked = new Int32Array(emps.length).fill(-1e9);
    const lastKind = new Int8Array(emps.length);
    const weekCount = new Uint8Array(emps.length);
    const weekOf = new Int32Array(emps.length).fill(-1);
    const kindCount = new Uint16Array(emps.length * KINDS.length);
    const kindBlock = new Int32Array(emps.length).fill(-1);
    const offOn = (e: Emp, day: number): boolean => approvedOff.get(e.idx)?.some((t) => day >= t.start && day <= t.end) ?? false;
    const expectedShifts = blocks.reduce((a, b) => a + (b.end - b.start + 1), 0) / 7 * 5 * staff.length;

    function* shiftRows(): Generator<unknown[]> {
      for (const s of schedules) {
        const roster = rosterOf.get(`${s.blockIdx}:${s.dept.idx}`) ?? [];
        const list = templatesOf.get(s.dept.idx) ?? [];
        for (let day = s.block.start; day <= s.block.end; day++) {
          const week = Math.floor((day - historyStart) / 7);
          const wd = weekdayOf(day);
          const date = isoOf(day);
          for (const t of list) {
            const k = KINDS[t.kind];
            let need = required(t, day);
            const startsAt = zonedInstant(s.dept.tz, day, minutesOf(k.start));
            const endMin = minutesOf(k.end);
            const endsAt = zonedInstant(s.dept.tz, endMin <= minutesOf(k.start) ? day + 1 : day, endMin);
            const bit = 1 << ((wd - 1) * KINDS.length + t.kind);
            const n = roster.length;
            const offset = n ? (day * 7 + t.kind * 5) % n : 0;
            for (let i = 0; i < n && need > 0; i++) {
              const e = roster[(offset + i) % n]!;
              const x = e.idx;
              if (lastWorked[x] === day || e.hireDay > day) continue;
              if (weekOf[x] !== week) { weekOf[x] = week; weekCount[x] = 0; }
              if (weekCount[x]! >= 6) continue;
              if (!(allowed[x]! & bit)) continue;
              if ((e.skillMask & requiredMask[t.kind]!) !== requiredMask[t.kind]) continue;
              if (lastWorked[x] === day - 1 && forbidden[lastKind[x]! * KINDS.length + t.kind]) continue;
              if (kindBlock[x] !== s.blockIdx) { kindBlock[x] = s.blockIdx; kindCount.fill(0, x * KINDS.length, (x + 1) * KINDS.length); }
              const cap = limits[x * KINDS.length + t.kind]!;
              if (cap >= 0 && kindCount[x * KINDS.length + t.kind]! >= cap) continue;
              if (offOn(e, day)) continue;
              lastWorked[x] = day;
              lastKind[x] = t.kind;
              weekCount[x]!++;
              kindCount[x * KINDS.length + t.kind]!++;
              need--;
              const r = noise(input.seed + 2, x, day, 0);
              yield [s.id, s.dept.id, e.id, t.id, date, 0, startsAt, endsAt,
                r < 0.01 ? 'cancelled' : r < 0.03 ? 'scheduled' : 'confirmed', r > 0.97 ? 'manual' : 'generated'];
            }
            // What the greedy pass could not cover stays as open shifts.
            for (let slot = 1; slot <= need; slot++) {
              yield [s.id, s.dept.id, null, t.id, date, slot, startsAt, endsAt, 'scheduled', 'generated'];
            }
          }
        }
      }
    }
    await copy('shifts', 'shifts',
      ['schedule_id', 'department_id', 'employee_id', 'template_id', 'date', 'open_slot', 'starts_at', 'ends_at', 'status', 'source'],
      shiftRows(), Math.round(expectedShifts), (r) => r);

    // Analytics for the whole seeded range in one statement (same definition as rota_refresh_daily_stats).
    progress.phase('daily stats', 1);
    const statRows = await refreshAllDailyStats(client, isoOf(historyStart), isoOf(lastDay));
    progress.tick(1);
    progress.done(statRows);
    counts['department_daily_stats'] = statRows;

    const sampleManager = emps.find((e) => e.role === 'manager' && depts[e.dept]!.operational);
    sampleManagerEmail = sampleManager?.email;
    sampleEmployeeEmail = emps.find((e) => e.role === 'employee' && e.passwordHash !== null && e.dept === sampleManager?.dept)?.email;
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
  progress.phase('analyze', 1);
  await client.query(`ANALYZE ${SEEDED_TABLES.join(', ')}`);
  progress.tick(1);
  progress.done(0);

  return {
    counts,
    from: isoOf(historyStart),
    to: isoOf(lastDay),
    adminEmail: input.adminEmail,
    sampleManagerEmail,
    sampleEmployeeEmail,
    durationMs: performance.now() - started,
  };
}

/**
 * rota_refresh_daily_stats for every department at once over [from, to]: one pass over shifts and
 * demand instead of one call per department (seed.test.ts proves both give the same rows). Run it
 * inside a transaction. Returns the number of stats rows written.
 */
export async function refreshAllDailyStats(client: Pick<PoolClient, 'query'>, from: string, to: string): Promise<number> {
  await client.query('DELETE FROM department_daily_stats WHERE date BETWEEN $1::date AND $2::date', [from, to]);
  const r = await client.query(REFRESH_ALL_DAILY_STATS, [from, to]);
  return r.rowCount ?? 0;
}

const REFRESH_ALL_DAILY_STATS = `
  WITH plan AS (
    -- One schedule per department and day (migration 0008): the published one, else the newest draft.
    SELECT DISTINCT ON (sc.department_id, d.date) sc.department_id, d.date::date AS date, sc.id AS schedule_id
      FROM schedules sc
      CROSS JOIN LATERAL generate_series(greatest(sc.period_start, $1::date), least(sc.period_end, $2::date), interval '1 day') d
     WHERE sc.status <> 'archived' AND sc.period_start <= $2::date AND sc.period_end >= $1::date
     ORDER BY sc.department_id, d.date, (sc.status = 'published') DESC, sc.id DESC
  ), live AS (
    SELECT s.department_id, s.date, s.template_id, s.employee_id,
           (extract(epoch FROM s.ends_at - s.starts_at) / 60)::bigint AS minutes,
           coalesce(m.pay_multiplier, t.pay_multiplier) AS pay_multiplier, coalesce(r.hourly_rate, e.hourly_rate) AS hourly_rate
      FROM shifts s
      JOIN plan ON plan.department_id = s.department_id AND plan.date = s.date AND plan.schedule_id = s.schedule_id
      JOIN shift_templates t ON t.id = s.template_id
      LEFT JOIN employees e ON e.id = s.employee_id
      -- Priced at the rates in force on the day (migration 0012), as the refresh function does.
      LEFT JOIN employee_rate_history r ON r.employee_id = s.employee_id AND daterange(r.valid_from, r.valid_until) @> s.date
      LEFT JOIN template_pay_multiplier_history m ON m.template_id = s.template_id AND daterange(m.valid_from, m.valid_until) @> s.date
     WHERE s.date BETWEEN $1::date AND $2::date AND s.status <> 'cancelled'
  ), per_day AS (
    SELECT department_id, date,
           coalesce(sum(minutes) FILTER (WHERE employee_id IS NOT NULL), 0) AS scheduled_minutes,
           coalesce(sum(round(minutes * hourly_rate * pay_multiplier / 60.0, 2)) FILTER (WHERE employee_id IS NOT NULL), 0) AS labour_cost,
           count(DISTINCT employee_id) AS head_count,
           count(*) FILTER (WHERE employee_id IS NOT NULL) AS shift_count,
           count(*) FILTER (WHERE employee_id IS NULL) AS open_shifts,
           coalesce(sum(greatest(minutes - 480, 0)) FILTER (WHERE employee_id IS NOT NULL), 0) AS overtime_minutes
      FROM live GROUP BY department_id, date
  ), cover AS (
    SELECT d.department_id, d.date, sum(d.required) AS demand_slots,
           sum(least(d.required, coalesce(a.assigned, 0))) AS covered_slots
      FROM demand d
      LEFT JOIN (SELECT department_id, date, template_id, count(*) FILTER (WHERE employee_id IS NOT NULL) AS assigned
                   FROM live GROUP BY department_id, date, template_id) a
        ON a.department_id = d.department_id AND a.date = d.date AND a.template_id = d.template_id
     WHERE d.date BETWEEN $1::date AND $2::date
     GROUP BY d.department_id, d.date
  )
  INSERT INTO department_daily_stats (department_id, date, scheduled_minutes, labour_cost, head_count,
                                      shift_count, open_shifts, demand_slots, covered_slots, overtime_minutes)
  SELECT coalesce(p.department_id, c.department_id), coalesce(p.date, c.date),
         coalesce(p.scheduled_minutes, 0), coalesce(p.labour_cost, 0), coalesce(p.head_count, 0),
         coalesce(p.shift_count, 0), coalesce(p.open_shifts, 0), coalesce(c.demand_slots, 0),
         coalesce(c.covered_slots, 0), coalesce(p.overtime_minutes, 0)
    FROM per_day p
    FULL JOIN cover c ON c.department_id = p.department_id AND c.date = p.date`;
