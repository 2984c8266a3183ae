/**
 * Curtois & Qu instances through the real pipeline: import into a fresh database → POST
 * /v1/schedule-generations on the real API → BullMQ → scheduler worker (solver in a worker thread)
 * → one-transaction write to Postgres → evaluator reading the stored shifts back (official
 * objective from the file's definition + independent hard-rule check).
 *
 *   pnpm bench:solver [--instances 1-7] [--all] [--time-limit 30] [--seed 1]
 *
 * Instances 1–7 by default, 1–12 with --all. The last line is one JSON object with every figure
 * (objective, best known, gap %, violations, wall time per instance; average gap).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { evaluateCurtois, importCurtois } from '../libs/generation/src/index.ts';
import { createTestApi } from '../services/api/src/testing.ts';
import { realQueue, startWorker, waitFor } from '../services/api/src/routes/generation/testing.ts';

const BEST_KNOWN: Record<number, number> = {
  1: 607, 2: 828, 3: 1001, 4: 1716, 5: 1143, 6: 1950, 7: 1056, 8: 1300, 9: 439, 10: 4631, 11: 3443, 12: 4040,
};

function parseList(arg: string): number[] {
  const out: number[] = [];
  for (const part of arg.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad instance list "${arg}" (use e.g. 1-7 or 1,2,5)`);
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(i);
  }
  return out;
}

const { values } = parseArgs({
  options: {
    instances: { type: 'string' },
    all: { type: 'boolean' },
    'time-limit': { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' },
    data: { type: 'string' },
  },
});
const instances = values.instances ? parseList(values.instances) : values.all ? parseList('1-12') : parseList('1-7');
const timeLimitSeconds = Number(values['time-limit']);
const seed = Number(values.seed);
const dataDir = values.data ?? join(dirname(fileURLToPath(import.meta.url)), '../../shared/data/curtois');

const api = await createTestApi({ generation: realQueue, cache: 'none' });
const worker = startWorker(api, { lockDurationMs: 30_000, stalledIntervalMs: 30_000, progressIntervalMs: 1000, defaultTimeLimitSeconds: timeLimitSeconds });
console.log(`time limit ${timeLimitSeconds} s, seed ${seed}, ${worker.solverThreads} solver thread(s) per job`);
type Row = { instance: number; objective: number; bestKnown: number; gapPct: number; violations: number; strayShifts: number; solveMs: number; endToEndMs: number; writeMs: number; shifts: number };
const results: Row[] = [];
try {
  const { token } = await api.login('admin');
  for (const i of instances) {
    const text = readFileSync(join(dataDir, `Instance${i}.txt`), 'utf8');
    const imp = await importCurtois(api.tdb.db, text, { departmentName: `Curtois ${i}`, periodStart: '2030-01-07' });
    const t0 = performance.now();
    const post = await api.request('POST', '/v1/schedule-generations', {
      token,
      body: {
        departmentId: imp.departmentId, periodStart: imp.periodStart, periodEnd: imp.periodEnd,
        // The benchmark's objective has no fairness or cost terms.
        options: { timeLimitSeconds, seed, weights: { fairnessHours: 0, fairnessWeekends: 0, cost: 0 } },
      },
    });
    if (post.status !== 202) throw new Error(`submit answered ${post.status}: ${post.text}`);
    const run = await waitFor(`instance ${i}`, async () => {
      const r = await api.request('GET', `/v1/schedule-generations/${post.body.id}`, { token });
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
    }, (timeLimitSeconds + 120) * 1000, 100);
    const endToEndMs = performance.now() - t0;
    if (run.status !== 'succeeded') throw new Error(`instance ${i}: run ${run.status}: ${run.error}`);
    const ev = await evaluateCurtois(api.tdb.db, text, run.scheduleId);
    const bestKnown = BEST_KNOWN[i] ?? Number.NaN;
    const gapPct = Math.round(((ev.objective - bestKnown) / bestKnown) * 10_000) / 100;
    results.push({
      instance: i, objective: ev.objective, bestKnown, gapPct, violations: ev.violations.length, strayShifts: ev.strayShifts,
      solveMs: run.result.solveTimeMs, endToEndMs: Math.round(endToEndMs), writeMs: run.result.writeTimeMs, shifts: run.result.shifts.total,
    });
    console.log(`Instance${i}: objective ${ev.objective}  best ${bestKnown}  gap ${gapPct.toFixed(2)}%  violations ${ev.violations.length}  ` +
      `solve ${(run.result.solveTimeMs / 1000).toFixed(1)}s  submit→succeeded ${(endToEndMs / 1000).toFixed(1)}s  write ${run.result.writeTimeMs}ms`);
  }
} finally {
  await worker.close(0);
  await api.close();
}
const avgGapPct = Math.round((results.reduce((s, r) => s + r.gapPct, 0) / Math.max(1, results.length)) * 100) / 100;
console.log(JSON.stringify({
  bench: 'solver',
  pipeline: 'import → API → BullMQ → worker → Postgres → evaluator',
  timeLimitS: timeLimitSeconds,
  seed,
  solverThreads: worker.solverThreads,
  results,
  avgGapPct,
  totalViolations: results.reduce((s, r) => s + r.violations, 0),
  baseline: { name: 'best known (Curtois & Qu)', avgGapPct: 0 },
  ratioToBestKnown: Math.round((results.reduce((s, r) => s + r.objective, 0) / results.reduce((s, r) => s + r.bestKnown, 0)) * 1e4) / 1e4,
}));
