/**
 * Curtois & Qu instances straight through the solver (no database): objective from the
 * benchmark's own definition, gap to the best known value, and the independent checker's
 * violations (must be 0).
 *
 *   node bench/solver-standalone.ts [instances=1-7] [timeLimitSeconds=30] [seed=1] [threads=1]
 *   e.g. node bench/solver-standalone.ts 1,2,5 10 1 2
 *
 * threads > 1: that many parallel searches in worker threads (solveInWorker), best one wins.
 *
 * The last line is one JSON object with every figure.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAssignment, curtoisObjective, parseCurtois, solve, solveInWorker } from '../libs/solver/src/index.ts';

const BEST_KNOWN: Record<number, number> = {
  1: 607, 2: 828, 3: 1001, 4: 1716, 5: 1143, 6: 1950, 7: 1056, 8: 1300, 9: 439, 10: 4631, 11: 3443, 12: 4040,
};

function parseList(arg: string | undefined): number[] {
  if (!arg) return [1, 2, 3, 4, 5, 6, 7];
  const out: number[] = [];
  for (const part of arg.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad instance list "${arg}" (use e.g. 1-7 or 1,2,5)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

const instances = parseList(process.argv[2]);
const limitS = Number(process.argv[3] ?? 30);
const seed = Number(process.argv[4] ?? 1);
const threads = Number(process.argv[5] ?? 1);
const dataDir = process.env.CURTOIS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../shared/data/curtois');

const results: {
  instance: number;
  objective: number;
  bestKnown: number;
  gapPct: number;
  lowerBound: number | null;
  timeMs: number;
  violations: number;
}[] = [];
for (const i of instances) {
  const inst = parseCurtois(readFileSync(join(dataDir, `Instance${i}.txt`), 'utf8'));
  const res = threads > 1 ? await solveInWorker(inst, { seed, timeLimitMs: limitS * 1000, threads }) : solve(inst, { seed, timeLimitMs: limitS * 1000 });
  const objective = curtoisObjective(inst, res.assignment);
  const violations = checkAssignment(inst, res.assignment).length;
  const bestKnown = BEST_KNOWN[i] ?? Number.NaN;
  const gapPct = ((objective - bestKnown) / bestKnown) * 100;
  const lowerBound = res.lowerBound === null ? null : Math.round(res.lowerBound * 100) / 100;
  results.push({ instance: i, objective, bestKnown, gapPct: Math.round(gapPct * 100) / 100, lowerBound, timeMs: Math.round(res.elapsedMs), violations });
  console.log(
    `Instance${i}: objective ${objective}  best ${bestKnown}  gap ${gapPct.toFixed(2)}%  bound ${lowerBound ?? "-"}  time ${(res.elapsedMs / 1000).toFixed(1)}s (stopped by ${res.stoppedBy})  iterations ${res.iterations}  violations ${violations}`,
  );
}
const avgGapPct = results.reduce((s, r) => s + r.gapPct, 0) / Math.max(1, results.length);
const totalViolations = results.reduce((s, r) => s + r.violations, 0);
console.log(
  JSON.stringify({
    bench: 'solver-standalone',
    timeLimitS: limitS,
    seed,
    threads,
    results,
    avgGapPct: Math.round(avgGapPct * 100) / 100,
    totalViolations,
    baseline: { name: 'best known (Curtois & Qu)', avgGapPct: 0 },
    ratioToBestKnown: Math.round((results.reduce((s, r) => s + r.objective, 0) / results.reduce((s, r) => s + r.bestKnown, 0)) * 1e4) / 1e4,
  }),
);
