/**
 * Writes a solved roster in ONE transaction (SPEC §5): shift partitions, the schedule row (the
 * department's live draft for the exact period, version + 1 on regeneration), the bulk upsert of
 * shifts on their natural key (COPY → staging → INSERT … ON CONFLICT), deletion of this schedule's
 * generated shifts that are no longer in the solution, the daily analytics, the run record and the
 * `schedule.generated` outbox event. Rerunning it with the same roster converges to the same rows
 * (0 inserted, 0 updated, 0 deleted); a failure anywhere leaves nothing written.
 *
 * A published schedule for the same period is never touched: the run fails with a clear reason
 * (archive the published schedule first to generate a new draft).
 */
import { copyInto, type Db, type Queryable } from '@rota/db';
import type { PoolClient } from 'pg';
import { recordEvent, type ChangeEvent } from '@rota/events';
import { checkAssignment, coverCounts, openSlots, type Assignment, type ScoreBreakdown } from '@rota/solver';
import type { RunResult, RunStatus } from './job.ts';
import { InvalidGenerationInputError, loadBookings, type LoadedInstance } from './load.ts';
import { addDays, zonedInstant } from './time.ts';

export type SolveSummary = {
  elapsedMs: number; iterations: number; stoppedBy: string; score: ScoreBreakdown;
  /** Employees whose minimum-type rules were lifted because no roster could meet them. */
  relaxedEmployeeIds?: readonly string[];
};

export type WriteOptions = {
  /**
   * Test-only fault injection: throw after the shifts were upserted and deleted, inside the
   * transaction, to prove that nothing is half-written. Never set outside tests.
   */
  failAfterShiftsWritten?: boolean;
};

export type WriteOutcome =
  | { kind: 'written'; result: RunResult; event: ChangeEvent }
  /** The run was cancelled (or already finished by another attempt): nothing written. */
  | { kind: 'skipped'; status: RunStatus };

export type ShiftRow = {
  employeeId: string | null;
  templateId: string;
  date: string;
  openSlot: number;
  startsAt: Date;
  endsAt: Date;
};

/** The rows a roster maps to: one per worked day, plus open shifts (slot 1..n) for uncovered demand. */
export function shiftRowsOf(loaded: LoadedInstance, assignment: Assignment): ShiftRow[] {
  const { instance, templates, employeeIds, periodStart, timezone } = loaded;
  const times = new Map<string, { s: Date; e: Date }>();
  const timeOf = (d: number, t: number): { s: Date; e: Date } => {
    const k = `${d}:${t}`;
    let v = times.get(k);
    if (!v) {
      const tp = templates[t]!;
      const date = addDays(periodStart, d);
      v = { s: zonedInstant(date, tp.startMinute, timezone), e: zonedInstant(date, tp.startMinute + tp.durationMinutes, timezone) };
      times.set(k, v);
    }
    return v;
  };
  const rows: ShiftRow[] = [];
  assignment.forEach((row, e) => row.forEach((t, d) => {
    if (t === null || t === undefined) return;
    const tm = timeOf(d, t);
    rows.push({ employeeId: employeeIds[e]!, templateId: templates[t]!.id, date: addDays(periodStart, d), openSlot: 0, startsAt: tm.s, endsAt: tm.e });
  }));
  for (const o of openSlots(instance, assignment)) {
    const tm = timeOf(o.day, o.type);
    for (let k = 1; k <= o.missing; k++) {
      rows.push({ employeeId: null, templateId: templates[o.type]!.id, date: addDays(periodStart, o.day), openSlot: k, startsAt: tm.s, endsAt: tm.e });
    }
  }
  return rows;
}

function coverage(loaded: LoadedInstance, assignment: Assignment): { demandSlots: number; coveredSlots: number } {
  const counts = coverCounts(loaded.instance, assignment);
  let demandSlots = 0;
  let coveredSlots = 0;
  loaded.instance.cover.forEach((row, d) => row.forEach((c, t) => {
    demandSlots += c.requirement;
    coveredSlots += Math.min(c.requirement, counts[d]?.[t] ?? 0);
  }));
  return { demandSlots, coveredSlots };
}

let stagingSeq = 0;

/**
 * COPY → staging → UPDATE changed rows + INSERT … ON CONFLICT (shifts_natural_key) DO NOTHING →
 * DELETE generated rows missing from the staging table. The same shape as @rota/db's bulkUpsert
 * (which counts inserts through xmax, a system column Postgres refuses on a partitioned table such
 * as shifts), plus the deletion, all against the one staging table.
 */
async function upsertShifts(q: Queryable & { raw: PoolClient }, scheduleId: string, fresh: boolean, loaded: LoadedInstance, rows: ShiftRow[]):
  Promise<{ inserted: number; updated: number; deleted: number; unchanged: number }> {
  const staging = `rota_gen_shifts_${process.pid}_${++stagingSeq}`;
  await q.query(`CREATE TEMP TABLE ${staging} (employee_id bigint, template_id bigint NOT NULL, date date NOT NULL, open_slot smallint NOT NULL,
                   starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL) ON COMMIT DROP`);
  await copyInto(q.raw, staging, ['employee_id', 'template_id', 'date', 'open_slot', 'starts_at', 'ends_at'], rows,
    (r) => [r.employeeId, r.templateId, r.date, r.openSlot, r.startsAt, r.endsAt]);
  const key = `t.date = s.date AND t.template_id = s.template_id AND coalesce(t.employee_id, 0) = coalesce(s.employee_id, 0) AND t.open_slot = s.open_slot`;
  const params = [scheduleId, loaded.departmentId, loaded.periodStart, loaded.periodEnd];
  // A schedule created by this transaction has no shifts yet: nothing to update or delete.
  const updated = fresh ? { rowCount: 0 } : await q.query(
    `UPDATE shifts t SET starts_at = s.starts_at, ends_at = s.ends_at, department_id = $2, updated_at = now()
       FROM ${staging} s
      WHERE t.schedule_id = $1 AND t.date BETWEEN $3 AND $4 AND ${key}
        AND (t.starts_at, t.ends_at, t.department_id) IS DISTINCT FROM (s.starts_at, s.ends_at, $2::bigint)`, params);
  const inserted = await q.query(
    `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at, source)
     SELECT $1, $2, s.employee_id, s.template_id, s.date, s.open_slot, s.starts_at, s.ends_at, 'generated' FROM ${staging} s
      WHERE s.date BETWEEN $3 AND $4
     ON CONFLICT ON CONSTRAINT shifts_natural_key DO NOTHING`, params);
  // Generated shifts of this schedule that the new roster no longer has. Manual shifts stay.
  const deleted = fresh ? { rowCount: 0 } : await q.query(
    `DELETE FROM shifts t WHERE t.schedule_id = $1 AND t.source = 'generated' AND t.date BETWEEN $3 AND $4
        AND NOT EXISTS (SELECT 1 FROM ${staging} s WHERE ${key}) AND $2::bigint IS NOT NULL`, params);
  await q.query(`DROP TABLE ${staging}`);
  const ins = inserted.rowCount ?? 0;
  const upd = updated.rowCount ?? 0;
  return { inserted: ins, updated: upd, deleted: deleted.rowCount ?? 0, unchanged: rows.length - ins - upd };
}

const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Someone else booked one of the roster's employee-days after this run loaded its instance (a
 * generation for an overlapping period, a manual shift). Retryable: the next attempt loads the
 * new bookings and the solver leaves those days free.
 */
export class GenerationConflictError extends Error {
  override readonly name = 'GenerationConflictError';
}

/**
 * The roster was solved and checked against the bookings around and inside the period as the
 * load saw them; a concurrent write may have booked more since (a roster of an overlapping or
 * adjacent period, a manual shift). The write locks its employees' rows — the lock a manual shift
 * edit takes too (services/api rules/load.ts), so both kinds of writer are serialized per
 * employee; in id order, and after the schedule row, so neither two roster writes nor a roster
 * write and a manual edit can deadlock — then reads the bookings again with the load's own rule
 * (loadBookings) and runs the independent checker on the roster with them; any violation
 * refuses the write (retryable), so a written roster has none.
 */
async function checkWithFreshBookings(q: Queryable, loaded: LoadedInstance, assignment: Assignment, rows: readonly ShiftRow[]): Promise<void> {
  const ids = [...new Set(rows.flatMap((r) => (r.employeeId === null ? [] : [r.employeeId])))];
  if (ids.length > 0) await q.query('SELECT id FROM employees WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [ids]);
  const { context } = await loadBookings(q, {
    departmentId: loaded.departmentId, periodStart: loaded.periodStart, periodEnd: loaded.periodEnd,
    employeeIds: loaded.employeeIds, templateIds: loaded.templates.map((t) => t.id), window: loaded.contextWindow,
  });
  const instance = { ...loaded.instance, employees: loaded.instance.employees.map((e, i) => ({ ...e, ...context[i] })) };
  const violations = checkAssignment(instance, assignment);
  if (violations.length > 0) {
    const sample = violations.slice(0, 3).map((v) => `employee ${v.employeeId}: ${v.rule} (${v.message})`).join('; ');
    throw new GenerationConflictError(
      `${violations.length} hard rule(s) of this roster broken by bookings made by another schedule or a manual shift since it was computed (${sample}); retrying with fresh data`);
  }
}

export async function writeResult(db: Db, loaded: LoadedInstance, assignment: Assignment, solve: SolveSummary, opts: WriteOptions = {}): Promise<WriteOutcome> {
  const violations = checkAssignment(loaded.instance, assignment);
  const rows = shiftRowsOf(loaded, assignment);
  const { demandSlots, coveredSlots } = coverage(loaded, assignment);
  const started = performance.now();
  return db.tx(async (q) => {
    const run = await q.query<{ status: RunStatus; cancel_requested_at: Date | null }>(
      'SELECT status, cancel_requested_at FROM generation_runs WHERE id = $1 FOR UPDATE', [loaded.runId]);
    const r0 = run.rows[0];
    if (!r0) throw new InvalidGenerationInputError(`generation run ${loaded.runId} does not exist`);
    if (r0.status !== 'running' && r0.status !== 'queued') return { kind: 'skipped', status: r0.status } as const;
    if (r0.cancel_requested_at) {
      await q.query(`UPDATE generation_runs SET status = 'cancelled', finished_at = now() WHERE id = $1`, [loaded.runId]);
      return { kind: 'skipped', status: 'cancelled' } as const;
    }
    if (violations.length > 0) {
      // The solver only returns rosters its own checker accepted; this is a bug guard, not a path.
      throw new Error(`roster breaks ${violations.length} hard rule(s): ${violations.slice(0, 3).map((v) => v.message).join('; ')}`);
    }
    await q.query('SELECT rota_ensure_shift_partitions($1::date, $2::date)', [loaded.periodStart, loaded.periodEnd]);
    const score = { ...solve.score };
    const sched = await q.query<{ id: string; version: number; inserted: boolean }>(
      `INSERT INTO schedules (department_id, period_start, period_end, status, version, score, generation_run_id)
       VALUES ($1, $2, $3, 'draft', 1, $4, $5)
       ON CONFLICT (department_id, period_start, period_end) WHERE status <> 'archived'
       DO UPDATE SET version = schedules.version + 1, score = EXCLUDED.score, generation_run_id = EXCLUDED.generation_run_id
       WHERE schedules.status = 'draft'
       RETURNING id, version, (xmax = 0) AS inserted`,
      [loaded.departmentId, loaded.periodStart, loaded.periodEnd, JSON.stringify(score), loaded.runId]);
    const schedule = sched.rows[0];
    if (!schedule) {
      throw new InvalidGenerationInputError(
        `a published schedule already covers ${loaded.periodStart}..${loaded.periodEnd}; archive it before generating a new draft`);
    }
    // After the schedule row (locked by the upsert above): a manual shift edit locks its schedule,
    // then its employee — the same order, so the two writers cannot deadlock.
    await checkWithFreshBookings(q, loaded, assignment, rows);
    const hardViolations = 0; // the checks above refuse any other roster
    const tShifts = performance.now();
    const up = await upsertShifts(q, schedule.id, schedule.inserted, loaded, rows);
    const shiftsMs = performance.now() - tShifts;
    if (opts.failAfterShiftsWritten) throw new Error('injected failure after the shifts were written (test hook)');
    const tStats = performance.now();
    await q.query('SELECT rota_refresh_daily_stats($1, $2::date, $3::date)', [loaded.departmentId, loaded.periodStart, loaded.periodEnd]);
    const statsMs = performance.now() - tStats;
    const result: RunResult = {
      scheduleId: schedule.id,
      scheduleVersion: schedule.version,
      hardViolations,
      coveragePct: demandSlots === 0 ? 100 : round((coveredSlots / demandSlots) * 100, 2),
      demandSlots,
      coveredSlots,
      openShifts: rows.filter((r) => r.employeeId === null).length,
      softPenalties: {
        coverUnder: round(score.coverUnder), coverOver: round(score.coverOver), onRequests: round(score.onRequests),
        offRequests: round(score.offRequests), fairness: round(score.fairness), cost: round(score.cost), total: round(score.total),
      },
      shifts: { inserted: up.inserted, updated: up.updated, deleted: up.deleted, unchanged: up.unchanged, total: rows.length },
      solveTimeMs: Math.round(solve.elapsedMs),
      writeTimeMs: 0,
      writePhasesMs: { shifts: Math.round(shiftsMs), dailyStats: Math.round(statsMs) },
      iterations: solve.iterations,
      stoppedBy: solve.stoppedBy,
      relaxedMinimumsEmployeeIds: [...(solve.relaxedEmployeeIds ?? [])],
      employees: loaded.employeeIds.length,
      days: loaded.instance.days,
      shiftTypes: loaded.templates.length,
    };
    result.writeTimeMs = Math.round(performance.now() - started);
    await q.query(
      `UPDATE generation_runs SET status = 'succeeded', progress = 100, best_score = $2, schedule_id = $3, result = $4, error = NULL, finished_at = now()
        WHERE id = $1`,
      [loaded.runId, round(score.total), schedule.id, JSON.stringify(result)]);
    const event = await recordEvent(q, {
      type: 'schedule.generated',
      aggregate: { type: 'schedule', id: schedule.id },
      departmentIds: [loaded.departmentId],
      scheduleIds: [schedule.id],
      payload: {
        runId: loaded.runId, version: schedule.version, periodStart: loaded.periodStart, periodEnd: loaded.periodEnd,
        inserted: up.inserted, updated: up.updated, deleted: up.deleted, coveragePct: result.coveragePct,
      },
    });
    return { kind: 'written', result, event } as const;
  });
}
