/**
 * End-to-end schedule generation for a 200-employee department over 4 weeks: submit through the
 * real API → BullMQ → scheduler worker → one-transaction write, timed from submit to succeeded.
 * Then the result write on its own, against a bare COPY of the same rows (the baseline), in the
 * same run and database:
 *   - write: writeResult as the worker runs it (staging COPY, UPDATE/INSERT … ON CONFLICT/DELETE on
 *     shifts, schedule row, daily stats refresh, run record, outbox event) into an emptied schedule;
 *   - copy:  COPY of the identical rows into an unindexed table shaped like shifts.
 *
 *   pnpm bench:generation [--employees 200] [--days 28] [--time-limit 30] [--repeats 3]
 *
 * The last line is one JSON object with the figures, the baseline's figures and the ratios.
 */
import { parseArgs } from 'node:util';
import { copyInto } from '../libs/db/src/index.ts';
import { checkStoredRoster, createScenario, insertRun, loadInstance, readRun, shiftRowsOf, writeResult } from '../libs/generation/src/index.ts';
import { createTestApi } from '../services/api/src/testing.ts';
import { realQueue, startWorker, waitFor } from '../services/api/src/routes/generation/testing.ts';

const { values } = parseArgs({
  options: {
    employees: { type: 'string', default: '200' },
    days: { type: 'string', default: '28' },
    'time-limit': { type: 'string', default: '30' },
    repeats: { type: 'string', default: '3' },
  },
});
const employees = Number(values.employees);
const days = Number(values.days);
const timeLimitSeconds = Number(values['time-limit']);
const repeats = Number(values.repeats);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const api = await createTestApi({ generation: realQueue, cache: 'none' });
const worker = startWorker(api, { lockDurationMs: 30_000, stalledIntervalMs: 30_000, progressIntervalMs: 500, defaultTimeLimitSeconds: timeLimitSeconds });
try {
  const { token } = await api.login('admin');
  // About 5 shifts per employee-week: 45 per shift type on weekdays, 30 at weekends.
  const perType = (weekend: boolean): number => Math.round((employees / 200) * (weekend ? 30 : 45));
  const s = await createScenario(api.tdb.db, {
    employees, days, periodStart: '2030-01-07', successions: [['N', 'E'], ['L', 'E']], requestsPerEmployee: 2,
    demand: (_t, d) => perType(d % 7 >= 5),
  });
  console.log(`department ${s.departmentId}: ${employees} employees, ${days} days, 3 shift types`);

  const t0 = performance.now();
  const post = await api.request('POST', '/v1/schedule-generations', {
    token, body: { departmentId: s.departmentId, periodStart: s.periodStart, periodEnd: s.periodEnd, options: { timeLimitSeconds } },
  });
  if (post.status !== 202) throw new Error(`submit answered ${post.status}: ${post.text}`);
  const run = await waitFor('generation', async () => {
    const r = await api.request('GET', `/v1/schedule-generations/${post.body.id}`, { token });
    return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
  }, (timeLimitSeconds + 300) * 1000, 50);
  const endToEndMs = performance.now() - t0;
  if (run.status !== 'succeeded') throw new Error(`run ${run.status}: ${run.error}`);
  const r = run.result;
  console.log(`submit → succeeded ${(endToEndMs / 1000).toFixed(2)} s (solve ${(r.solveTimeMs / 1000).toFixed(2)} s, write ${r.writeTimeMs} ms, ` +
    `${r.shifts.total} shifts, coverage ${r.coveragePct}%, hard violations ${r.hardViolations})`);
  const stored = await checkStoredRoster(api.tdb.db, run.id, run.scheduleId);
  if (stored.violations.length || stored.doubleBooked || stored.duplicateKeys) throw new Error('stored roster is inconsistent');

  // Write throughput on its own: the same roster into an emptied schedule, vs a bare COPY.
  const runRow = (await readRun(api.tdb.db, run.id))!;
  const loaded = await loadInstance(api.tdb.db, runRow);
  const rows = shiftRowsOf(loaded, stored.assignment);
  const writeMs: number[] = [];
  const shiftsPhaseMs: number[] = [];
  const rewriteMs: number[] = [];
  for (let k = 0; k < repeats; k++) {
    await api.tdb.db.query('DELETE FROM shifts WHERE schedule_id = $1', [run.scheduleId]);
    const id = await insertRun(api.tdb.db, s);
    await api.tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [id]);
    const a = performance.now();
    const out = await writeResult(api.tdb.db, { ...loaded, runId: id }, stored.assignment, { elapsedMs: 0, iterations: 0, stoppedBy: 'time', score: { coverUnder: 0, coverOver: 0, onRequests: 0, offRequests: 0, fairness: 0, cost: 0, total: 0 } });
    writeMs.push(performance.now() - a);
    if (out.kind !== 'written' || out.result.shifts.inserted !== rows.length) throw new Error('write did not insert every row');
    shiftsPhaseMs.push(out.result.writePhasesMs.shifts);
    // Regeneration with an unchanged roster: 0 inserted, 0 updated, 0 deleted.
    const id2 = await insertRun(api.tdb.db, s);
    await api.tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [id2]);
    const b = performance.now();
    const again = await writeResult(api.tdb.db, { ...loaded, runId: id2 }, stored.assignment, { elapsedMs: 0, iterations: 0, stoppedBy: 'time', score: { coverUnder: 0, coverOver: 0, onRequests: 0, offRequests: 0, fairness: 0, cost: 0, total: 0 } });
    rewriteMs.push(performance.now() - b);
    if (again.kind !== 'written' || again.result.shifts.inserted + again.result.shifts.updated + again.result.shifts.deleted !== 0) throw new Error('re-write changed rows');
  }
  await api.tdb.db.query('CREATE TABLE bench_copy_shifts (LIKE shifts INCLUDING DEFAULTS INCLUDING IDENTITY)');
  const copyMs: number[] = [];
  for (let k = 0; k < repeats; k++) {
    const client = await api.tdb.db.connect();
    try {
      await client.query('BEGIN');
      const a = performance.now();
      await copyInto(client, 'bench_copy_shifts', ['schedule_id', 'department_id', 'employee_id', 'template_id', 'date', 'open_slot', 'starts_at', 'ends_at', 'source'], rows,
        (x) => [run.scheduleId, s.departmentId, x.employeeId, x.templateId, x.date, x.openSlot, x.startsAt, x.endsAt, 'generated']);
      await client.query('COMMIT');
      copyMs.push(performance.now() - a);
      await client.query('TRUNCATE bench_copy_shifts');
    } finally {
      client.release();
    }
  }
  // Reference of SPEC §5: COPY into a staging table, then INSERT … ON CONFLICT into shifts (same rows, an archived schedule).
  const dummy = await api.tdb.db.query<{ id: string }>(
    `INSERT INTO schedules (department_id, period_start, period_end, status) VALUES ($1, $2, $3, 'archived') RETURNING id`, [s.departmentId, s.periodStart, s.periodEnd]);
  const refMs: number[] = [];
  for (let k = 0; k < repeats; k++) {
    const client = await api.tdb.db.connect();
    try {
      await client.query('BEGIN');
      const a = performance.now();
      await client.query(`CREATE TEMP TABLE ref_staging (employee_id bigint, template_id bigint, date date, open_slot smallint, starts_at timestamptz, ends_at timestamptz) ON COMMIT DROP`);
      await copyInto(client, 'ref_staging', ['employee_id', 'template_id', 'date', 'open_slot', 'starts_at', 'ends_at'], rows,
        (x) => [x.employeeId, x.templateId, x.date, x.openSlot, x.startsAt, x.endsAt]);
      await client.query(
        `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at, source)
         SELECT $1, $2, employee_id, template_id, date, open_slot, starts_at, ends_at, 'generated' FROM ref_staging
         ON CONFLICT ON CONSTRAINT shifts_natural_key DO UPDATE SET starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at`,
        [dummy.rows[0]!.id, s.departmentId]);
      await client.query('COMMIT');
      refMs.push(performance.now() - a);
      await client.query('DELETE FROM shifts WHERE schedule_id = $1', [dummy.rows[0]!.id]);
    } finally {
      client.release();
    }
  }
  const n = rows.length;
  const shiftsPhase = { ms: Math.round(median(shiftsPhaseMs)), rowsPerSec: Math.round(n / (median(shiftsPhaseMs) / 1000)) };
  const reference = { ms: Math.round(median(refMs)), rowsPerSec: Math.round(n / (median(refMs) / 1000)) };
  const write = { ms: Math.round(median(writeMs)), rowsPerSec: Math.round(n / (median(writeMs) / 1000)) };
  const rewrite = { ms: Math.round(median(rewriteMs)), rowsPerSec: Math.round(n / (median(rewriteMs) / 1000)) };
  const copy = { ms: Math.round(median(copyMs)), rowsPerSec: Math.round(n / (median(copyMs) / 1000)) };
  console.log(`write (full transaction, ${n} rows): ${write.ms} ms = ${write.rowsPerSec} rows/s (shift upsert part ${shiftsPhase.ms} ms = ${shiftsPhase.rowsPerSec} rows/s); ` +
    `unchanged re-write ${rewrite.ms} ms; reference COPY→staging→INSERT ON CONFLICT ${reference.ms} ms = ${reference.rowsPerSec} rows/s; bare COPY ${copy.ms} ms = ${copy.rowsPerSec} rows/s`);
  console.log(JSON.stringify({
    bench: 'generation',
    employees, days, shiftTypes: 3, timeLimitS: timeLimitSeconds,
    endToEnd: { submitToSucceededMs: Math.round(endToEndMs), solveMs: r.solveTimeMs, pipelineWriteMs: r.writeTimeMs, overheadMs: Math.round(endToEndMs - r.solveTimeMs - r.writeTimeMs) },
    result: { shifts: r.shifts.total, openShifts: r.openShifts, coveragePct: r.coveragePct, hardViolations: r.hardViolations, score: r.softPenalties.total },
    write: { rows: n, ...write, shiftUpsertPart: shiftsPhase, unchangedRewrite: rewrite },
    baseline: { name: 'bare COPY of the same rows into an unindexed table', rows: n, ...copy },
    reference: { name: 'COPY → staging → INSERT … ON CONFLICT into shifts (SPEC §5)', rows: n, ...reference },
    ratios: {
      writeVsCopyThroughput: Math.round((write.rowsPerSec / copy.rowsPerSec) * 1000) / 1000,
      shiftUpsertVsReferenceThroughput: Math.round((shiftsPhase.rowsPerSec / reference.rowsPerSec) * 1000) / 1000,
    },
  }));
} finally {
  await worker.close(0);
  await api.close();
}
