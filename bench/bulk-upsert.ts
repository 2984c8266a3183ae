// pnpm bench:bulk-upsert — libs/db bulkUpsert of 100,000 shifts against hand-written raw pg
// (COPY into a staging table + one INSERT … ON CONFLICT), plus the pure COPY figure. See README.md.
// Settings: BENCH_ROWS (default 100000), BENCH_REPS (default 5), BULK_UPSERT_MODULE (path of a module
// exporting an alternative bulkUpsert to measure instead of libs/db's). Last line: one JSON object.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { bulkUpsert as libBulkUpsert } from '@rota/db';
import type { BulkUpsertResult } from '@rota/db';
import { createTestDatabase } from '@rota/testkit';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 100_000);
const REPS = Number(process.env['BENCH_REPS'] ?? 5);
const COLUMNS = ['schedule_id', 'department_id', 'employee_id', 'template_id', 'date', 'open_slot', 'starts_at', 'ends_at', 'status', 'source'] as const;
const UPDATE = ['department_id', 'starts_at', 'ends_at', 'status', 'source'] as const;
type Row = [string, string, string, string, string, number, string, string, string, string];

const alternative = process.env['BULK_UPSERT_MODULE'];
const bulkUpsert: typeof libBulkUpsert = alternative
  ? ((await import(alternative)) as { bulkUpsert: typeof libBulkUpsert }).bulkUpsert
  : libBulkUpsert;

const tdb = await createTestDatabase({ poolMax: 2 });
try {
  // One department, 1,000 employees, one night template, one schedule of 100 days: 100,000 shifts.
  const days = Math.ceil(ROWS / 1000);
  const q = tdb.db.query;
  const dept = (await q<{ id: string }>(`INSERT INTO departments (name, timezone) VALUES ('Bench', 'Europe/Berlin') RETURNING id`)).rows[0]!.id;
  await q(`INSERT INTO employees (email, first_name, last_name, department_id)
           SELECT 'e' || g || '@bench.test', 'Bench', 'Worker ' || g, $1 FROM generate_series(1, 1000) g`, [dept]);
  const emps = (await q<{ id: string }>('SELECT id FROM employees ORDER BY id')).rows.map((r) => r.id);
  const tpl = (await q<{ id: string }>(`INSERT INTO shift_templates (department_id, code, name, start_time, end_time)
           VALUES ($1, 'N', 'Night', '22:00', '06:00') RETURNING id`, [dept])).rows[0]!.id;
  const start = Date.UTC(2030, 0, 1);
  const iso = (d: number): string => new Date(start + d * 86_400_000).toISOString().slice(0, 10);
  const sched = (await q<{ id: string }>(`INSERT INTO schedules (department_id, period_start, period_end) VALUES ($1, $2, $3) RETURNING id`,
    [dept, iso(0), iso(days - 1)])).rows[0]!.id;
  await q('SELECT rota_ensure_shift_partitions($1, $2)', [iso(0), iso(days)]);

  const rows: Row[] = [];
  for (let d = 0; d < days && rows.length < ROWS; d++) {
    const date = iso(d);
    const startsAt = new Date(start + d * 86_400_000 + 21 * 3_600_000).toISOString();
    const endsAt = new Date(start + d * 86_400_000 + 29 * 3_600_000).toISOString();
    for (const e of emps) {
      if (rows.length >= ROWS) break;
      rows.push([sched, dept, e, tpl, date, 0, startsAt, endsAt, 'scheduled', 'generated']);
    }
  }

  const raw = new pg.Client({ connectionString: tdb.url });
  raw.on('error', () => {}); // the database is dropped WITH (FORCE) at the end, even after a failure
  await raw.connect();
  const timed = async <T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> => {
    const t0 = performance.now();
    const value = await fn();
    return { ms: performance.now() - t0, value };
  };
  const emptyShifts = async (): Promise<void> => {
    await raw.query('TRUNCATE shifts');
    await raw.query('VACUUM ANALYZE shifts');
  };

  // The hand-written path a developer would write with raw pg: no generic escaping (the values
  // are known to be plain), no counting of inserted/updated rows.
  const rawCopy = async (table: string): Promise<void> => {
    const stream = raw.query(copyFrom(`COPY ${table} (${COLUMNS.join(', ')}) FROM STDIN`));
    async function* chunks(): AsyncGenerator<string> {
      let buf = '';
      for (const r of rows) {
        buf += `${r.join('\t')}\n`;
        if (buf.length > 65_536) { yield buf; buf = ''; }
      }
      if (buf) yield buf;
    }
    await pipeline(Readable.from(chunks()), stream);
  };
  const baseline = async (): Promise<void> => {
    await raw.query('BEGIN');
    await raw.query(`CREATE TEMP TABLE bench_staging ON COMMIT DROP AS SELECT ${COLUMNS.join(', ')} FROM shifts WITH NO DATA`);
    await rawCopy('bench_staging');
    await raw.query(`INSERT INTO shifts AS t (${COLUMNS.join(', ')}) SELECT ${COLUMNS.join(', ')} FROM bench_staging
      ON CONFLICT ON CONSTRAINT shifts_natural_key DO UPDATE SET ${UPDATE.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
      WHERE (${UPDATE.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${UPDATE.map((c) => `EXCLUDED.${c}`).join(', ')})`);
    await raw.query('COMMIT');
  };
  const pureCopy = async (): Promise<void> => {
    await raw.query('BEGIN');
    await raw.query(`CREATE TEMP TABLE bench_copy ON COMMIT DROP AS SELECT ${COLUMNS.join(', ')} FROM shifts WITH NO DATA`);
    await rawCopy('bench_copy');
    await raw.query('COMMIT');
  };
  const upsert = (): Promise<BulkUpsertResult> => tdb.db.tx((c) => bulkUpsert(c.raw, {
    table: 'shifts',
    columns: COLUMNS,
    conflictColumns: ['schedule_id', 'date', 'template_id', 'employee_id', 'open_slot'],
    conflictConstraint: 'shifts_natural_key',
    updateColumns: UPDATE,
    onUpdateSet: 'updated_at = now()',
    rows,
    values: (r) => r,
  }));

  const upsertMs: number[] = [];
  const baselineMs: number[] = [];
  const copyMs: number[] = [];
  const rerunMs: number[] = [];
  const rerunBaselineMs: number[] = [];
  let rerunResult: BulkUpsertResult = { inserted: -1, updated: -1, unchanged: -1 };
  let firstResult: BulkUpsertResult = { inserted: -1, updated: -1, unchanged: -1 };
  await pureCopy(); // warm-up: JIT, catalog caches
  for (let i = 0; i < REPS; i++) {
    // Alternate the order so background load on a shared machine hits both sides alike.
    const order = i % 2 === 0 ? ['upsert', 'baseline'] : ['baseline', 'upsert'];
    for (const which of order) {
      await emptyShifts();
      if (which === 'upsert') {
        const r = await timed(upsert);
        upsertMs.push(r.ms);
        firstResult = r.value;
        const again = await timed(upsert);
        rerunMs.push(again.ms);
        rerunResult = again.value;
      } else {
        baselineMs.push((await timed(baseline)).ms);
        rerunBaselineMs.push((await timed(baseline)).ms);
      }
    }
    copyMs.push((await timed(pureCopy)).ms);
    process.stderr.write(`rep ${i + 1}/${REPS} done\n`);
  }
  await raw.end();

  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const perSec = (ms: number): number => Math.round(rows.length / (ms / 1000));
  const fig = (xs: number[]) => ({ medianMs: Math.round(median(xs)), rowsPerSec: perSec(median(xs)), runsMs: xs.map(Math.round) });
  const result = {
    bench: 'bulk-upsert',
    rows: rows.length,
    reps: REPS,
    implementation: alternative ?? '@rota/db',
    upsert: { ...fig(upsertMs), result: firstResult },
    baseline: { kind: 'raw pg COPY to staging + INSERT ... ON CONFLICT', ...fig(baselineMs) },
    copyOnly: { kind: 'raw pg COPY to staging only', ...fig(copyMs) },
    rerun: { ...fig(rerunMs), result: rerunResult, baseline: fig(rerunBaselineMs) },
    ratio: Number((median(baselineMs) / median(upsertMs)).toFixed(3)),
    ratioRerun: Number((median(rerunBaselineMs) / median(rerunMs)).toFixed(3)),
    ratioVsCopyOnly: Number((median(copyMs) / median(upsertMs)).toFixed(3)),
  };
  const line = (name: string, ms: number, extra = ''): string =>
    `${name.padEnd(44)} ${String(Math.round(ms)).padStart(7)} ms ${String(perSec(ms)).padStart(9)} rows/s ${extra}`;
  console.log(`bulk upsert of ${rows.length} shifts, median of ${REPS} runs`);
  console.log(line('libs/db bulkUpsert (new rows)', median(upsertMs), JSON.stringify(firstResult)));
  console.log(line('baseline: raw COPY + INSERT ON CONFLICT', median(baselineMs)));
  console.log(line('raw COPY into staging only', median(copyMs)));
  console.log(line('libs/db bulkUpsert (same rows again)', median(rerunMs), JSON.stringify(rerunResult)));
  console.log(line('baseline (same rows again)', median(rerunBaselineMs)));
  console.log(`ratio upsert/baseline ${result.ratio} (target >= 0.9), re-run ${result.ratioRerun}, vs COPY only ${result.ratioVsCopyOnly}`);
  if (rerunResult.inserted !== 0 || rerunResult.updated !== 0) console.log('WARNING: the re-run inserted or updated rows');
  console.log(JSON.stringify(result));
} catch (e) {
  console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
} finally {
  await tdb.drop();
}
