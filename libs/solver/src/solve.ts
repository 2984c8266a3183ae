/**
 * Rostering search. Hard rules only constrain one employee at a time, so every employee's row is
 * kept feasible at all times (checked by rowFeasible after each cheap move, or guaranteed by the
 * exact per-employee DP in dp.ts), and cover is the only coupling between employees. When demand
 * cannot be met it stays uncovered (open slots); a roster breaking a hard rule is never produced.
 * If some employee has no feasible row at all, solve() throws InfeasibleInstanceError.
 *
 * 1. Start: every employee in random order takes their DP-optimal row against the marginal cover
 *    costs left by those before them (or the `initial` roster, rows breaking a rule rebuilt).
 * 2. Lagrangian phase (half of the time by default): cover constraints relaxed with prices,
 *    subgradient steps; each step is one DP per employee. Gives a lower bound (used to stop early
 *    as 'optimal') and, every few steps, a price-coordinated roster that is repaired by two passes
 *    of best responses; the best one seeds phase 3.
 * 2b. Exact search (exact.ts), only where best − bound is small (Curtois 2): lists the rows a
 *    roster of total ⌈bound⌉, ⌈bound⌉ + 1, … can use and searches their combinations (proof of
 *    optimality, or a better roster); when that search is too large, anneals over just those rows.
 * 3. Simulated annealing over: best response of one employee (exact DP against marginal cover
 *    costs, half of the time with noise on the costs), ruin & recreate of 2–4 whole rows, re-plan
 *    of a window of days for all employees (DP with the other days fixed), change of one cell,
 *    hand-over/swap of a day's shifts between two employees, swap of a block of days between two
 *    employees; after `kickAfter` compound moves without a new best it restarts from the best
 *    roster with a noisy perturbation.
 *
 * Measured on the Curtois & Qu instances (bench/solver-standalone.ts): instances 1–4 reach or come
 * within ~0.5% of the best known values in 10–30 s; 5–7 are tight (demand equals capacity, the
 * weekends limit binds) and runs vary by seed by several units of under-cover (100 each).
 *
 * Determinism: all randomness comes from the seeded PRNG. With `maxIterations` the phase lengths
 * and the temperature follow the iteration count and a run is fully reproducible. With only a
 * time limit they follow elapsed time, so the same seed can end differently when the machine is
 * faster or slower (more time may give a different, usually better, roster).
 */
import { type HardViolation, checkAssignment } from './check.ts';
import { DpWorkspace } from './dp.ts';
import { type PricedRows, bestCombination, rowsWithin } from './exact.ts';
import { type Assignment, type Instance, validateInstance } from './model.ts';
import { OFF, type Prep, coverCell, prepare, rowFeasible, rowPenalty, terminalPenalty } from './prep.ts';
import { createRng } from './rng.ts';
import { type OpenSlot, type ScoreBreakdown, openSlots, scoreAssignment } from './score.ts';

export interface SolveProgress {
  elapsedMs: number;
  bestScore: number;
  /** Fraction of the time limit (or of maxIterations) used, 0..1. */
  progress: number;
}

export interface SolveOptions {
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Wall-clock limit. Default 10 000 ms. */
  timeLimitMs?: number;
  /** Deterministic stop after this many moves (the temperature then follows iterations). */
  maxIterations?: number;
  /** Polled at least every ~50 ms; returning true stops the search with the best roster so far. */
  shouldStop?: () => boolean;
  onProgress?: (p: SolveProgress) => void;
  /** Minimum interval between onProgress calls. Default 250 ms. */
  progressIntervalMs?: number;
  /** Start roster (e.g. the previous version); rows breaking a hard rule are rebuilt. */
  initial?: Assignment;
  /** Independent searches sharing the time limit; the best roster wins. Default: one per ~5 s (longer for big instances), 1–6. */
  restarts?: number;
  /** Search parameters, for experiments; the defaults are tuned on the Curtois instances. */
  tuning?: Partial<Tuning>;
}

export interface Tuning {
  /** Share of moves that are (noisy) best responses of one employee. */
  pBestResponse: number;
  /** Share of moves that ruin and recreate a few employees. */
  pRuin: number;
  /** Employees per ruin & recreate: min and max. */
  ruinMin: number;
  ruinMax: number;
  /** Start and end temperature, in units of the smallest positive soft weight. */
  tStart: number;
  tEnd: number;
  /** Share of moves that re-plan a window of days for a share of all employees. */
  pWindow: number;
  windowMin: number;
  windowMax: number;
  windowShare: number;
  /** Best-response passes inside one compound move. */
  rounds: number;
  /** Noise amplitude on DP costs, in units of the temperature. */
  noise: number;
  /** Share of the time (or of maxIterations) for the Lagrangian phase; 0 disables it. */
  lagrangeShare: number;
  lagrangeIters: number;
  /** Initial multipliers as a share of weightUnder. */
  lagrangeStart: number;
  lagrangeLambda: number;
  lagrangePatience: number;
  lagrangePrimalEvery: number;
  /** Step size after convergence, as a share of lagrangeLambda (0: stop the phase instead). */
  lagrangeRestartLambda: number;
  /** Share of moves (inside pBestResponse) that are ejection chains, depth, candidates per step. */
  pChain: number;
  chainDepth: number;
  chainCandidates: number;
  /** Share of ruin and window moves aimed at a random under-covered cell. */
  targeted: number;
  /** Compound moves without a new best before a kick; kick size and noise. */
  kickAfter: number;
  kickShare: number;
  kickNoise: number;
  /** Row pool per employee (from the Lagrangian phase) and the annealing over it. */
  poolMax: number;
  poolIters: number;
  poolShare: number;
  poolTStart: number;
  /** Share of the time limit for each pool search that replaces every other kick. */
  poolKickShare: number;
  /** Annealing temperature restarts at tStart when the annealing phase begins (else it follows the whole budget). */
  annealOwnSchedule: boolean;
  /** Exact search over near-optimal rows (exact.ts) when best − bound ≤ this many smallest weights (0: off; integral scores only). */
  exactMaxSlack: number;
  /** Give up the exact search beyond this many rows for one employee, or this many search nodes. */
  exactMaxRows: number;
  exactMaxNodes: number;
  /** Otherwise anneal over the rows with reduced cost ≤ this many smallest weights, for this share of the time. */
  exactPoolSlack: number;
  exactPoolShare: number;
  /** Log best score changes to stderr. */
  trace: boolean;
}

const DEFAULT_TUNING: Tuning = {
  pBestResponse: 0.02,
  pRuin: 0.005,
  ruinMin: 2,
  ruinMax: 4,
  pWindow: 0.005,
  windowMin: 3,
  windowMax: 10,
  windowShare: 1,
  rounds: 2,
  noise: 2,
  pChain: 0,
  chainDepth: 4,
  chainCandidates: 4,
  targeted: 0.7,
  kickAfter: 400,
  kickShare: 0.3,
  kickNoise: 20,
  poolMax: 400,
  poolIters: Number.MAX_SAFE_INTEGER,
  poolShare: 0.35,
  poolTStart: 30,
  poolKickShare: 0.03,
  lagrangeShare: 0.35,
  lagrangeIters: 2000,
  lagrangeStart: 0.5,
  lagrangeLambda: 1,
  lagrangePatience: 8,
  lagrangePrimalEvery: 10,
  lagrangeRestartLambda: 0,
  tStart: 2,
  tEnd: 0.05,
  annealOwnSchedule: false,
  exactMaxSlack: 20,
  exactMaxRows: 20_000,
  exactMaxNodes: 200_000,
  exactPoolSlack: 4,
  exactPoolShare: 0.04,
  trace: false,
};

export type StopReason = 'time' | 'cancel' | 'iterations' | 'optimal';

export interface SolveResult {
  assignment: Assignment;
  score: ScoreBreakdown;
  /** Checked by the independent checker; always empty unless the solver has a bug. */
  hardViolations: HardViolation[];
  /** Demand left uncovered. */
  openSlots: OpenSlot[];
  iterations: number;
  elapsedMs: number;
  stoppedBy: StopReason;
  /** Lagrangian lower bound on score.total (best over restarts), or null when none was computed. */
  lowerBound: number | null;
}

/** No roster satisfies an employee's hard rules on its own (e.g. min minutes above what availability allows). */
export class InfeasibleInstanceError extends Error {
  override readonly name = 'InfeasibleInstanceError';
  readonly employeeIds: string[];
  constructor(employeeIds: string[]) {
    super(`no roster satisfies the hard rules of employee(s) ${employeeIds.join(', ')}`);
    this.employeeIds = employeeIds;
  }
}

class State {
  readonly p: Prep;
  readonly rows: Int16Array;
  readonly counts: Int32Array;
  readonly empPen: Float64Array;
  coverPen = 0;
  constructor(p: Prep) {
    this.p = p;
    this.rows = new Int16Array(p.E * p.D).fill(OFF);
    this.counts = new Int32Array(p.D * p.T);
    this.empPen = new Float64Array(p.E);
  }
  total(): number {
    let s = this.coverPen;
    for (let e = 0; e < this.p.E; e++) s += this.empPen[e] as number;
    return s;
  }
  recompute(): void {
    const { p, rows, counts } = this;
    counts.fill(0);
    for (let e = 0; e < p.E; e++)
      for (let d = 0; d < p.D; d++) {
        const t = rows[e * p.D + d] as number;
        if (t >= 0) counts[d * p.T + t]! += 1;
      }
    let c = 0;
    for (let i = 0; i < p.D * p.T; i++) c += coverCell(p, i, counts[i] as number);
    this.coverPen = c;
    for (let e = 0; e < p.E; e++) this.empPen[e] = rowPenalty(p, e, rows, e * p.D);
  }
  /** Sets one cell, maintaining counts and coverPen; returns the cover delta. */
  setCell(e: number, d: number, t: number): number {
    const { p, rows, counts } = this;
    const k = e * p.D + d;
    const old = rows[k] as number;
    if (old === t) return 0;
    let delta = 0;
    if (old >= 0) {
      const i = d * p.T + old;
      const n = counts[i] as number;
      delta += coverCell(p, i, n - 1) - coverCell(p, i, n);
      counts[i] = n - 1;
    }
    if (t >= 0) {
      const i = d * p.T + t;
      const n = counts[i] as number;
      delta += coverCell(p, i, n + 1) - coverCell(p, i, n);
      counts[i] = n + 1;
    }
    rows[k] = t;
    this.coverPen += delta;
    return delta;
  }
}

/**
 * Solves `instance`: `restarts` independent searches (seeds derived from `seed`) share the time
 * limit (and maxIterations), and the best roster wins. Runs vary a lot by seed on tight
 * instances, so the best of a few shorter runs beats one long run on average.
 */
export function solve(instance: Instance, options: SolveOptions = {}): SolveResult {
  validateInstance(instance);
  const t0 = performance.now();
  const limit = options.timeLimitMs ?? 10_000;
  // About 5 s per search up to the size of Curtois 7 (20 staff × 28 days × 3 types), longer for
  // bigger instances: on Curtois 2 a 5 s search hits the optimum about one run in three, a 3 s one
  // rarely; longer single runs gain little on 5–7, while 8–12 need the longer runs.
  const size = instance.employees.length * instance.days * instance.shiftTypes.length;
  const perRunMs = 5000 * Math.max(1, size / 1700);
  const restarts = Math.max(1, Math.floor(options.restarts ?? Math.min(6, Math.max(1, Math.round(limit / perRunMs)))));
  const seed = options.seed ?? 1;
  let best: SolveResult | undefined;
  let iterations = 0;
  let stoppedBy: StopReason = 'time';
  let lowerBound: number | null = null;
  for (let k = 0; k < restarts; k++) {
    const elapsed = performance.now() - t0;
    const remaining = limit - elapsed;
    if (k > 0 && remaining <= 0) break;
    const onProgress = options.onProgress;
    const bestSoFar = best?.score.total ?? Number.POSITIVE_INFINITY;
    const r = solveOnce(instance, {
      ...options,
      seed: (seed + k * 1_000_003) >>> 0,
      timeLimitMs: Math.max(1, remaining / (restarts - k)),
      ...(options.maxIterations !== undefined ? { maxIterations: Math.ceil(options.maxIterations / restarts) } : {}),
      ...(onProgress
        ? {
            onProgress: (pr: SolveProgress) =>
              onProgress({
                elapsedMs: elapsed + pr.elapsedMs,
                bestScore: Math.min(bestSoFar, pr.bestScore),
                progress: Math.min(1, (k + pr.progress) / restarts),
              }),
          }
        : {}),
    });
    iterations += r.iterations;
    stoppedBy = r.stoppedBy;
    if (r.lowerBound !== null) lowerBound = Math.max(lowerBound ?? Number.NEGATIVE_INFINITY, r.lowerBound);
    if (!best || r.score.total < best.score.total - 1e-9) best = r;
    if (r.stoppedBy === 'cancel' || r.stoppedBy === 'optimal') break;
  }
  const res = best as SolveResult;
  return { ...res, iterations, elapsedMs: performance.now() - t0, stoppedBy, lowerBound };
}

function solveOnce(instance: Instance, options: SolveOptions): SolveResult {
  const t0 = performance.now();
  const seed = options.seed ?? 1;
  const timeLimitMs = options.timeLimitMs ?? 10_000;
  const maxIterations = options.maxIterations;
  const progressIntervalMs = options.progressIntervalMs ?? 250;
  const rng = createRng(seed);
  const tune: Tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const p = prepare(instance);
  const { D, T, E } = p;
  const T1 = T + 1;
  const st = new State(p);
  const workspaces: (DpWorkspace | undefined)[] = new Array(E);
  const ws = (e: number): DpWorkspace => (workspaces[e] ??= new DpWorkspace(p, p.emps[e]!));
  const choiceCost = new Float64Array(D * T1);
  const dpRow = new Int16Array(D);
  const saved = new Int16Array(D * E);

  /** Marginal costs for employee e given all other rows, plus optional noise. */
  const fillChoiceCost = (e: number, noise: number): void => {
    const ep = p.emps[e]!;
    const base = e * D;
    for (let d = 0; d < D; d++) {
      const cur = st.rows[base + d] as number;
      for (let t = 0; t < T; t++) {
        const i = d * T + t;
        const n = (st.counts[i] as number) - (cur === t ? 1 : 0);
        let c = coverCell(p, i, n + 1) - coverCell(p, i, n) + (ep.cell[d * T1 + t] as number);
        if (noise > 0) c += (rng.next() - 0.5) * noise;
        choiceCost[d * T1 + t] = c;
      }
      choiceCost[d * T1 + T] = ep.cell[d * T1 + T] as number;
    }
  };
  /** Replaces employee e's row by dpRow; returns the total delta. */
  const applyRow = (e: number, row: Int16Array): number => {
    let delta = 0;
    for (let d = 0; d < D; d++) delta += st.setCell(e, d, row[d] as number);
    const np = rowPenalty(p, e, st.rows, e * D);
    delta += np - (st.empPen[e] as number);
    st.empPen[e] = np;
    return delta;
  };
  const bestResponse = (e: number, noise: number): boolean => {
    fillChoiceCost(e, noise);
    const c = ws(e).solve(p, p.emps[e]!, choiceCost, dpRow, 0);
    return Number.isFinite(c);
  };

  // ---- start roster
  const rebuild: number[] = [];
  if (options.initial) {
    for (let e = 0; e < E; e++) {
      const src = options.initial[e];
      for (let d = 0; d < D; d++) {
        const t = src?.[d];
        st.rows[e * D + d] = typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < T ? t : OFF;
      }
      if (!rowFeasible(p, e, st.rows, e * D)) {
        st.rows.fill(OFF, e * D, e * D + D);
        rebuild.push(e);
      }
    }
  } else {
    for (let e = 0; e < E; e++) rebuild.push(e);
  }
  st.recompute();
  // Random order so that no employee systematically gets the first pick.
  for (let k = rebuild.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [rebuild[k], rebuild[j]] = [rebuild[j]!, rebuild[k]!];
  }
  const infeasible: string[] = [];
  for (const e of rebuild) {
    if (bestResponse(e, 0)) applyRow(e, dpRow);
    else infeasible.push(instance.employees[e]!.id);
  }
  if (infeasible.length > 0) throw new InfeasibleInstanceError(infeasible);
  st.recompute();

  // ---- search
  let cur = st.total();
  let best = cur;
  const bestRows = Int16Array.from(st.rows);
  let minWeight = Number.POSITIVE_INFINITY;
  for (const r of instance.requests) if (r.weight > 0) minWeight = Math.min(minWeight, r.weight);
  for (let i = 0; i < D * T; i++) {
    if ((p.wOver[i] as number) > 0) minWeight = Math.min(minWeight, p.wOver[i] as number);
    if ((p.wUnder[i] as number) > 0) minWeight = Math.min(minWeight, p.wUnder[i] as number);
  }
  if (!Number.isFinite(minWeight)) minWeight = 1;
  const tStart = tune.tStart * minWeight;
  const tEnd = tune.tEnd * minWeight;

  let iterations = 0;
  let compoundSinceBest = 0;
  /** Share of the budget used when the annealing phase starts. */
  let annealFrom = 0;
  let kicks = 0;
  let lowerBound = Number.NEGATIVE_INFINITY;
  /** Prices at which lowerBound was reached (for the exact search). */
  const piBest = new Float64Array(D * T);
  /** L(piBest): the Lagrangian bound at those prices (lowerBound can rise above it, see exactSearch). */
  let piBound = Number.NEGATIVE_INFINITY;
  /** Set when the exact search proved that no roster beats `best`. */
  let provedOptimal = false;
  // With integral weights and no fairness/cost terms, every score is an integer, so a best
  // score reaching ceil(lower bound) is optimal.
  const integral =
    instance.weights.fairnessHours === 0 &&
    instance.weights.fairnessWeekends === 0 &&
    (instance.weights.cost === 0 || instance.employees.every((e) => e.hourlyCost === 0)) &&
    instance.requests.every((r) => Number.isInteger(r.weight)) &&
    p.wUnder.every(Number.isInteger) &&
    p.wOver.every(Number.isInteger);
  let stoppedBy: StopReason = 'time';
  let lastProgress = t0;
  let temp = tStart;
  let frac = 0;
  const EPS = 1e-9;

  const accept = (delta: number): boolean => delta <= EPS || rng.next() < Math.exp(-delta / temp);
  let moveTag = 'init';
  const noteBest = (): void => {
    if (cur < best - EPS) {
      best = cur;
      compoundSinceBest = 0;
      bestRows.set(st.rows);
      if (tune.trace) process.stderr.write(`${(performance.now() - t0).toFixed(0)}ms it=${iterations} best=${best.toFixed(2)} T=${temp.toFixed(3)} ${moveTag}\n`);
    }
  };

  const checkStop = (): boolean => {
    const now = performance.now();
    const elapsed = now - t0;
    if (options.shouldStop?.()) {
      stoppedBy = 'cancel';
      return true;
    }
    if (elapsed >= timeLimitMs) {
      stoppedBy = 'time';
      return true;
    }
    if (maxIterations !== undefined && iterations >= maxIterations) {
      stoppedBy = 'iterations';
      return true;
    }
    if (best <= EPS || provedOptimal || (integral && best <= Math.ceil(lowerBound - 1e-6) + EPS)) {
      stoppedBy = 'optimal';
      return true;
    }
    frac = maxIterations !== undefined ? iterations / maxIterations : elapsed / timeLimitMs;
    // The annealing schedule spans the phase that uses it (after the Lagrangian and pool phases).
    temp = tStart * (tEnd / tStart) ** Math.min(1, Math.max(0, (frac - annealFrom) / Math.max(1e-9, 1 - annealFrom)));
    reportProgress(now);
    return false;
  };
  const reportProgress = (now: number): void => {
    if (options.onProgress && now - lastProgress >= progressIntervalMs) {
      lastProgress = now;
      const f = maxIterations !== undefined ? iterations / maxIterations : (now - t0) / timeLimitMs;
      options.onProgress({ elapsedMs: now - t0, bestScore: best, progress: Math.min(1, f) });
    }
  };

  // Inside long compound steps (many DPs): only cancellation and the time limit, throttled, so
  // that a stop request is seen within ~50 ms even on large departments. Iteration-based stops
  // are left to checkStop so that maxIterations runs stay deterministic.
  let lastPoll = t0;
  const pollStop = (): boolean => {
    const now = performance.now();
    if (now - lastPoll < 40) return false;
    lastPoll = now;
    if (options.shouldStop?.()) {
      stoppedBy = 'cancel';
      return true;
    }
    if (now - t0 >= timeLimitMs) {
      stoppedBy = 'time';
      return true;
    }
    // Long compound steps (a Lagrangian step with its repair on a big department) must not
    // starve the progress reports either.
    reportProgress(now);
    return false;
  };

  const rowOff = (e: number): number => e * D;
  const pickEmployees = (k: number): number[] => {
    const all = Array.from({ length: E }, (_x, i) => i);
    for (let i = 0; i < Math.min(k, E - 1); i++) {
      const j = i + rng.int(E - i);
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return all.slice(0, k);
  };
  const oldPens = new Float64Array(E);
  /** Cost of a feasible row under the current choiceCost (the DP's objective), for pruning. */
  const rowCost = (e: number, rows: Int16Array, off: number): number => {
    let c = 0;
    let minutes = 0;
    let weekends = 0;
    let lastWeekend = -1;
    const fixedDay = p.emps[e]!.fixedDay;
    for (let d = 0; d < D; d++) {
      const t = rows[off + d] as number;
      c += choiceCost[d * T1 + (t < 0 ? T : t)] as number;
      if (t >= 0) minutes += p.dur[t] as number;
      if (t >= 0 || fixedDay[d]) {
        const we = p.weekend[d] as number;
        if (we >= 0 && we !== lastWeekend) {
          weekends++;
          lastWeekend = we;
        }
      }
    }
    return c + terminalPenalty(p, p.emps[e]!, minutes, weekends);
  };
  /** A uniformly random under-covered (day, type) cell index, or -1. */
  const randomUnderCell = (): number => {
    let n = 0;
    let pick = -1;
    for (let i = 0; i < D * T; i++)
      if ((st.counts[i] as number) < (p.req[i] as number) && (p.wUnder[i] as number) > 0 && rng.int(++n) === 0) pick = i;
    return pick;
  };
  /**
   * k employees, up to half of them (at least one) able to take the given cell and not already
   * on it; the rest random. Falls back to random employees.
   */
  const pickForCell = (cell: number, k: number): number[] => {
    if (cell < 0) return pickEmployees(k);
    const d = Math.floor(cell / T);
    const t = cell % T;
    const able: number[] = [];
    for (let e = 0; e < E; e++) if (p.emps[e]!.allowed[d * T + t] && st.rows[e * D + d] !== t) able.push(e);
    const out: number[] = [];
    const want = Math.max(1, Math.floor(k / 2));
    while (out.length < want && able.length > 0) out.push(able.splice(rng.int(able.length), 1)[0]!);
    for (const e of pickEmployees(E)) {
      if (out.length >= k) break;
      if (!out.includes(e)) out.push(e);
    }
    for (let i = out.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  const chainSaved = new Int16Array(D * 16);
  const chainEmp: number[] = [];
  const candRow = new Int16Array(D);
  const BIG = 1e7;
  /**
   * Best row of e that works type t on day d (DP with a large bonus on that cell); returns the
   * total delta it would cause, or +Infinity when e cannot work that cell. Leaves it in dpRow.
   */
  const forcedResponse = (e: number, d: number, t: number): number => {
    fillChoiceCost(e, 0);
    choiceCost[d * T1 + t] = (choiceCost[d * T1 + t] as number) - BIG;
    const c = ws(e).solve(p, p.emps[e]!, choiceCost, dpRow, 0);
    if (!Number.isFinite(c) || dpRow[d] !== t) return Number.POSITIVE_INFINITY;
    // Delta of the row change = Σ marginal costs(new) − Σ marginal costs(old) (+ terminal terms).
    let now = 0;
    const base = e * D;
    for (let k = 0; k < D; k++) {
      const o = st.rows[base + k] as number;
      now += choiceCost[k * T1 + (o < 0 ? T : o)] as number;
    }
    if ((st.rows[base + d] as number) === t) now += BIG;
    const oldTerminal = (st.empPen[e] as number) - cellSum(e, st.rows, base);
    return c + BIG - (now + oldTerminal);
  };
  const cellSum = (e: number, rows: Int16Array, off: number): number => {
    const ep = p.emps[e]!;
    let s = 0;
    for (let k = 0; k < D; k++) {
      const o = rows[off + k] as number;
      s += ep.cell[k * T1 + (o < 0 ? T : o)] as number;
    }
    return s;
  };
  /**
   * Ejection chain: an employee is made to take an under-covered shift (re-planning the rest of
   * the row), then someone else takes a shift that this left uncovered, and so on.
   */
  const ejectionChain = (): void => {
    let cells = 0;
    let pick = -1;
    for (let i = 0; i < D * T; i++)
      if ((st.counts[i] as number) < (p.req[i] as number) && (p.wUnder[i] as number) > 0 && rng.int(++cells) === 0) pick = i;
    if (pick < 0) return;
    chainEmp.length = 0;
    let delta = 0;
    const startCur = cur;
    let cell = pick;
    for (let depth = 0; depth < tune.chainDepth && cell >= 0; depth++) {
      const d = Math.floor(cell / T);
      const t = cell % T;
      let bestE = -1;
      let bestDelta = Number.POSITIVE_INFINITY;
      for (let k = 0; k < tune.chainCandidates; k++) {
        const e = rng.int(E);
        if (chainEmp.includes(e) || !p.emps[e]!.allowed[d * T + t] || st.rows[e * D + d] === t) continue;
        const dl = forcedResponse(e, d, t);
        if (dl < bestDelta) {
          bestDelta = dl;
          bestE = e;
          candRow.set(dpRow);
        }
      }
      if (bestE < 0 || chainEmp.length >= 16) break;
      chainSaved.set(st.rows.subarray(bestE * D, bestE * D + D), chainEmp.length * D);
      chainEmp.push(bestE);
      // Cells this employee leaves.
      const left: number[] = [];
      for (let k = 0; k < D; k++) {
        const o = st.rows[bestE * D + k] as number;
        if (o >= 0 && candRow[k] !== o) left.push(k * T + o);
      }
      delta += applyRow(bestE, candRow);
      cur = startCur + delta;
      if (delta < -EPS) break;
      cell = -1;
      let n = 0;
      for (const i of left) if ((st.counts[i] as number) < (p.req[i] as number) && rng.int(++n) === 0) cell = i;
    }
    if (chainEmp.length > 0 && accept(delta)) {
      cur = startCur + delta;
      noteBest();
    } else {
      for (let j = chainEmp.length - 1; j >= 0; j--) applyRow(chainEmp[j]!, chainSaved.subarray(j * D, j * D + D));
      cur = startCur;
    }
  };
  /**
   * Clears days [a, b) of the employees in S, re-inserts them one by one with the DP (other days
   * fixed), repeats up to `rounds` passes while something changes, and accepts or undoes the
   * whole compound move.
   */
  const reopt = (S: number[], a: number, b: number, rounds: number, noise: number, force = false): void => {
    let delta = 0;
    S.forEach((e, j) => {
      saved.set(st.rows.subarray(rowOff(e), rowOff(e) + D), j * D);
      oldPens[j] = st.empPen[e] as number;
    });
    for (const e of S) for (let d = a; d < b; d++) delta += st.setCell(e, d, OFF);
    let ok = true;
    for (let round = 0; round < rounds && ok; round++) {
      let changed = false;
      for (const [j, e] of S.entries()) {
        if (pollStop()) {
          ok = false;
          break;
        }
        fillChoiceCost(e, round === 0 ? noise : 0);
        // The row before the move is feasible and agrees with the fixed days: a valid bound.
        const ub = round === 0 ? rowCost(e, saved, j * D) : rowCost(e, st.rows, rowOff(e));
        const c = ws(e).solve(p, p.emps[e]!, choiceCost, dpRow, 0, st.rows, rowOff(e), a, b, ub);
        if (!Number.isFinite(c)) {
          ok = false;
          break;
        }
        for (let d = a; d < b; d++) {
          const t = dpRow[d] as number;
          if (st.rows[rowOff(e) + d] !== t) {
            changed = true;
            delta += st.setCell(e, d, t);
          }
        }
      }
      if (!changed) break;
    }
    let penDelta = 0;
    const newPens = S.map((e, j) => {
      const np = rowPenalty(p, e, st.rows, rowOff(e));
      penDelta += np - (oldPens[j] as number);
      return np;
    });
    if (ok && (force || accept(delta + penDelta))) {
      S.forEach((e, j) => {
        st.empPen[e] = newPens[j] as number;
        addToPool(e, st.rows, rowOff(e));
      });
      cur += delta + penDelta;
      noteBest();
    } else {
      S.forEach((e, j) => {
        for (let d = 0; d < D; d++) st.setCell(e, d, saved[j * D + d] as number);
      });
    }
  };

  // Distinct rows seen per employee: Lagrangian rows at varying prices, repaired rows, rows of
  // accepted compound moves.
  const pool: Int16Array[][] = Array.from({ length: E }, () => []);
  const poolKeys: Set<string>[] = Array.from({ length: E }, () => new Set<string>());
  const addToPool = (e: number, rows: Int16Array, off: number): void => {
    const row = rows.subarray(off, off + D);
    const key = row.join(',');
    const keys = poolKeys[e]!;
    if (keys.has(key)) return;
    if (keys.size >= tune.poolMax) {
      // Full: replace a random entry (keeps the pool fresh as the search moves on).
      const k = rng.int(pool[e]!.length);
      keys.delete(pool[e]![k]!.join(','));
      pool[e]![k] = Int16Array.from(row);
      keys.add(key);
      return;
    }
    keys.add(key);
    pool[e]!.push(Int16Array.from(row));
  };
  /**
   * Restricted master by annealing: starting from the best roster, every employee picks one of
   * their pooled rows. Whole-row switches are cheap (O(days)), so millions of combinations are
   * tried; this finds coordinated rosters that one-employee-at-a-time moves miss.
   */
  const poolSearch = (poolMs: number, poolIters: number): void => {
    st.rows.set(bestRows);
    st.recompute();
    cur = st.total();
    for (let e = 0; e < E; e++) addToPool(e, st.rows, e * D);
    const tempBefore = temp;
    const choice = new Int32Array(E);
    for (let e = 0; e < E; e++) {
      const key = st.rows.subarray(e * D, e * D + D).join(',');
      let k = pool[e]!.findIndex((r) => r.join(',') === key);
      if (k < 0) {
        k = pool[e]!.length;
        pool[e]!.push(Int16Array.from(st.rows.subarray(e * D, e * D + D)));
        poolKeys[e]!.add(key);
      }
      choice[e] = k;
    }
    const poolT0 = tune.poolTStart * minWeight;
    const poolT1 = tEnd;
    const poolStart = performance.now();
    for (let it = 0; it < poolIters; it++) {
      if ((it & 1023) === 0) {
        const byTime = maxIterations === undefined ? (performance.now() - poolStart) / poolMs : 0;
        const f = Math.max(it / poolIters, byTime);
        if (f >= 1) break;
        if (checkStop()) break;
        temp = poolT0 * (poolT1 / poolT0) ** f;
      }
      const pair = rng.next() < 0.5;
      const e1 = rng.int(E);
      const p1 = pool[e1]!;
      if (p1.length < 2) continue;
      const j1 = rng.int(p1.length);
      if (j1 === choice[e1]) continue;
      let delta = applyRow(e1, p1[j1]!);
      let e2 = -1;
      let j2 = -1;
      if (pair) {
        e2 = rng.int(E);
        const p2 = pool[e2]!;
        if (e2 !== e1 && p2.length >= 2) {
          j2 = rng.int(p2.length);
          if (j2 !== choice[e2]) delta += applyRow(e2, p2[j2]!);
          else j2 = -1;
        }
      }
      if (accept(delta)) {
        choice[e1] = j1;
        if (j2 >= 0) choice[e2] = j2;
        cur += delta;
        moveTag = 'pool';
        noteBest();
      } else {
        if (j2 >= 0) applyRow(e2, pool[e2]![choice[e2]!]!);
        applyRow(e1, p1[choice[e1]!]!);
      }
    }
    iterations += maxIterations !== undefined ? Math.floor(poolIters / 20) : 0;
    temp = tempBefore;
    st.rows.set(bestRows);
    st.recompute();
    cur = st.total();
  };

  /** Smallest total not yet refuted by the exact search (integral scores only). */
  let exactFloor = Number.NEGATIVE_INFINITY;
  /** Set when the exact search gave up (too many rows or nodes): not retried. */
  let exactGaveUp = false;
  /**
   * Exact search over near-optimal rows (exact.ts), for integral scores: for target = ⌈bound⌉,
   * ⌈bound⌉ + 1, … below the best roster, lists every row that a roster of that total can use
   * (few: the slack is target − bound) and searches their combinations. The first target with a
   * roster gives an optimal roster; each target without one raises the proven bound. Gives up
   * (for this run) when rows or search nodes exceed the tuning limits, as on loose instances.
   */
  const exactSearch = (): void => {
    // Only where the bound is tight (Curtois 2; not 1, 3–12, whose gaps are 50–300 units).
    if (!integral || exactGaveUp || !(best - piBound <= tune.exactMaxSlack * minWeight)) return;
    const t1 = performance.now();
    /** Rows with reduced cost ≤ slack for every employee, and L(π) from the same DPs; null: too many. */
    const candidates = (slack: number): { cands: PricedRows[]; L: number } | null => {
      const cands: PricedRows[] = [];
      for (let e = 0; e < E; e++) {
        const r = rowsWithin(p, e, ws(e), piBest, slack, tune.exactMaxRows, pollStop);
        if (!r) return null;
        cands.push(r);
      }
      let L = 0;
      for (const c of cands) L += c.base;
      for (let i = 0; i < D * T; i++) L += (piBest[i] as number) * (p.req[i] as number);
      return { cands, L };
    };
    for (let target = Math.max(exactFloor, Math.ceil(piBound - 1e-6)); target < best - 0.5; target++) {
      const slack = target - piBound + 1e-6;
      const c = slack <= tune.exactMaxSlack * minWeight ? candidates(slack) : null;
      const r = c ? bestCombination(p, piBest, c.L, c.cands, target, tune.exactMaxNodes, pollStop) : { kind: 'limit' as const };
      if (tune.trace) process.stderr.write(`exact: target ${target} rows ${c?.cands.map((x) => x.rows.length).join('/')} → ${r.kind} (${(performance.now() - t1).toFixed(0)} ms)\n`);
      if (r.kind === 'found' && c) {
        moveTag = 'exact';
        for (let e = 0; e < E; e++) applyRow(e, c.cands[e]!.rows[r.choice[e] as number]!);
        cur = st.total();
        noteBest();
        // Every smaller total was refuted: optimal (when the scoring agrees with the identity).
        if (best <= target + EPS) provedOptimal = true;
        return;
      }
      if (r.kind === 'limit') {
        exactGaveUp = true;
        break;
      }
      exactFloor = target + 1;
      lowerBound = Math.max(lowerBound, exactFloor);
    }
    if (!exactGaveUp) {
      if (best <= exactFloor + EPS) provedOptimal = true;
      return;
    }
    // Too many combinations to refute: anneal over the rows that rosters of total ≤ target use,
    // for target = ⌈L(π)⌉, ⌈L(π)⌉ + 1, … — few rows each, and they hold the optimum's rows once
    // target reaches it, which the general row pool may lack.
    for (let target = Math.ceil(piBound - 1e-6); target < best - 0.5 && target - piBound <= tune.exactPoolSlack * minWeight; target++) {
      const c = candidates(target - piBound + 1e-6);
      if (!c) return;
      const saved = pool.slice();
      const savedKeys = poolKeys.slice();
      for (let e = 0; e < E; e++) {
        pool[e] = c.cands[e]!.rows.slice();
        poolKeys[e] = new Set(pool[e]!.map((x) => x.join(',')));
      }
      moveTag = 'exact-pool';
      poolSearch(timeLimitMs * tune.exactPoolShare, maxIterations !== undefined ? 2000 : tune.poolIters);
      for (let e = 0; e < E; e++) {
        pool[e] = saved[e]!;
        poolKeys[e] = savedKeys[e]!;
      }
      if (tune.trace) process.stderr.write(`exact pool: target ${target} rows ${c.cands.map((x) => x.rows.length).join('/')} best ${best} (${(performance.now() - t1).toFixed(0)} ms)\n`);
      if (pollStop()) return;
    }
  };

  // ---- phase 1: Lagrangian relaxation of the cover constraints, solved by subgradient steps.
  // Without cover, employees are independent, so the relaxed problem is one DP per employee
  // with the multipliers as prices. This gives a lower bound (proof of optimality when it meets
  // the best roster) and, through the prices, rosters that are globally coordinated — which the
  // one-employee-at-a-time moves below find hard. Each step's rows are repaired by best
  // responses and kept when better.
  const lagEnd = maxIterations !== undefined ? maxIterations * tune.lagrangeShare : Number.POSITIVE_INFINITY;
  const lagEndMs = timeLimitMs * tune.lagrangeShare;
  if (tune.lagrangeShare > 0 && E > 0) {
    const pi = new Float64Array(D * T);
    for (let i = 0; i < D * T; i++) pi[i] = (p.wUnder[i] as number) * tune.lagrangeStart;
    const lagRows = new Int16Array(E * D);
    const x = new Int32Array(D * T);
    let lambda = tune.lagrangeLambda;
    let sinceImprove = 0;
    const order = Array.from({ length: E }, (_x, i) => i);
    for (let it = 0; it < tune.lagrangeIters; it++) {
      x.fill(0);
      let L = 0;
      let aborted = false;
      for (let e = 0; e < E; e++) {
        if (pollStop()) {
          aborted = true;
          break;
        }
        const ep = p.emps[e]!;
        for (let d = 0; d < D; d++) {
          for (let t = 0; t < T; t++) choiceCost[d * T1 + t] = (ep.cell[d * T1 + t] as number) - (pi[d * T + t] as number);
          choiceCost[d * T1 + T] = ep.cell[d * T1 + T] as number;
        }
        const c = ws(e).solve(p, ep, choiceCost, lagRows, e * D);
        addToPool(e, lagRows, e * D);
        L += c;
        for (let d = 0; d < D; d++) {
          const t = lagRows[e * D + d] as number;
          if (t >= 0) x[d * T + t]! += 1;
        }
      }
      if (aborted) break;
      for (let i = 0; i < D * T; i++) L += (pi[i] as number) * (p.req[i] as number);
      if (L > lowerBound + 1e-7) {
        lowerBound = L;
        piBound = L;
        piBest.set(pi);
        sinceImprove = 0;
      } else if (++sinceImprove >= tune.lagrangePatience) {
        lambda /= 2;
        sinceImprove = 0;
      }
      iterations += E;
      if (tune.trace && it % 10 === 0) process.stderr.write(`lag it=${it} L=${L.toFixed(1)} lb=${lowerBound.toFixed(1)} lambda=${lambda} best=${best}\n`);
      if (it % tune.lagrangePrimalEvery === 0) {
        moveTag = 'lagrange';
        st.rows.set(lagRows);
        st.recompute();
        for (let pass = 0; pass < 2; pass++) {
          for (let k = E - 1; k > 0; k--) {
            const j = rng.int(k + 1);
            [order[k], order[j]] = [order[j]!, order[k]!];
          }
          for (const e of order) {
            if (pollStop()) break;
            if (bestResponse(e, 0)) applyRow(e, dpRow);
          }
        }
        cur = st.total();
        iterations += 2 * E;
        noteBest();
        for (let e = 0; e < E; e++) addToPool(e, st.rows, e * D);
      }
      let norm = 0;
      for (let i = 0; i < D * T; i++) {
        const g = (p.req[i] as number) - (x[i] as number);
        norm += g * g;
      }
      if (norm === 0) break;
      if (lambda < 1e-4) {
        // Converged: keep generating rows around the optimal prices (they feed the pool) by
        // restarting the step size from jittered prices.
        lambda = tune.lagrangeLambda * tune.lagrangeRestartLambda;
        if (lambda < 1e-4) break;
        for (let i = 0; i < D * T; i++) {
          const w = p.wUnder[i] as number;
          pi[i] = Math.min(w, Math.max(-(p.wOver[i] as number), (pi[i] as number) + (rng.next() - 0.5) * 0.1 * w));
        }
      }
      const step = (lambda * Math.max(best - L, 0.05 * Math.abs(best) + 1e-6)) / norm;
      for (let i = 0; i < D * T; i++) {
        const g = (p.req[i] as number) - (x[i] as number);
        pi[i] = Math.min(p.wUnder[i] as number, Math.max(-(p.wOver[i] as number), (pi[i] as number) + step * g));
      }
      if (checkStop() || iterations >= lagEnd || performance.now() - t0 >= lagEndMs) break;
    }
    poolSearch(timeLimitMs * tune.poolShare, maxIterations !== undefined ? Math.ceil(maxIterations * tune.poolShare * 20) : tune.poolIters);
    exactSearch();
    st.rows.set(bestRows);
    st.recompute();
    cur = st.total();
    if (tune.trace) process.stderr.write(`lagrange done: lb=${lowerBound.toFixed(2)} best=${best} lambda=${lambda}\n`);
  }

  if (tune.annealOwnSchedule) annealFrom = Math.min(0.95, maxIterations !== undefined ? iterations / maxIterations : (performance.now() - t0) / timeLimitMs);
  if (tune.annealOwnSchedule) temp = tStart;
  for (;;) {
    if ((iterations & 63) === 0 && checkStop()) break;
    iterations++;
    const r = rng.next();
    if (r < tune.pBestResponse + tune.pRuin + tune.pWindow) {
      if (++compoundSinceBest > tune.kickAfter) {
        // Stagnation: restart from the best roster with a strong noisy perturbation.
        compoundSinceBest = 0;
        exactSearch();
        st.rows.set(bestRows);
        st.recompute();
        cur = st.total();
        if (++kicks % 2 === 1) {
          moveTag = 'pool';
          poolSearch(timeLimitMs * tune.poolKickShare, maxIterations !== undefined ? 2000 : tune.poolIters);
        } else {
          reopt(pickEmployees(Math.max(1, Math.ceil(E * tune.kickShare))), 0, D, 1, tune.kickNoise * minWeight, true);
        }
        continue;
      }
      if (r < tune.pChain) {
        moveTag = 'chain';
        ejectionChain();
      } else if (r < tune.pBestResponse) {
        // Best response of one employee, noisy half of the time.
        moveTag = 'br';
        reopt([rng.int(E)], 0, D, 1, rng.next() < 0.5 ? temp * tune.noise : 0);
      } else if (r < tune.pBestResponse + tune.pRuin) {
        // Ruin & recreate k whole rows.
        const k = Math.min(E, tune.ruinMin + rng.int(tune.ruinMax - tune.ruinMin + 1));
        moveTag = 'ruin';
        reopt(rng.next() < tune.targeted ? pickForCell(randomUnderCell(), k) : pickEmployees(k), 0, D, tune.rounds, 0);
      } else {
        // Re-plan a window of days for many employees.
        const w = Math.min(D, tune.windowMin + rng.int(tune.windowMax - tune.windowMin + 1));
        const cell = rng.next() < tune.targeted ? randomUnderCell() : -1;
        const a =
          cell < 0 ? rng.int(D - w + 1) : Math.max(0, Math.min(D - w, Math.floor(cell / T) - rng.int(w)));
        moveTag = 'window';
        reopt(pickEmployees(Math.max(2, Math.ceil(E * tune.windowShare))), a, a + w, tune.rounds, 0);
      }
      if (checkStop()) break;
      continue;
    }
    const r2 = rng.next();
    moveTag = r2 < 0.33 ? 'change' : r2 < 0.67 ? 'swap' : 'block';
    if (r2 < 0.33) {
      // Change one day of one employee.
      const e = rng.int(E);
      const d = rng.int(D);
      const k = e * D + d;
      const old = st.rows[k] as number;
      let t = rng.int(T + 1) - 1;
      if (t === old) t = t + 1 >= T ? OFF : t + 1;
      if (t >= 0 && !p.emps[e]!.allowed[d * T + t]) continue;
      const dc = st.setCell(e, d, t);
      if (!rowFeasible(p, e, st.rows, rowOff(e))) {
        st.setCell(e, d, old);
        continue;
      }
      const np = rowPenalty(p, e, st.rows, rowOff(e));
      const delta = dc + np - (st.empPen[e] as number);
      if (accept(delta)) {
        st.empPen[e] = np;
        cur += delta;
        noteBest();
      } else st.setCell(e, d, old);
    } else if (r2 < 0.67) {
      // Hand over / swap the shifts of two employees on one day (cover-neutral).
      const d = rng.int(D);
      const e1 = rng.int(E);
      let e2 = rng.int(E - 1);
      if (e2 >= e1) e2++;
      if (e2 >= E) continue;
      const a = st.rows[e1 * D + d] as number;
      const b = st.rows[e2 * D + d] as number;
      if (a === b) continue;
      st.rows[e1 * D + d] = b;
      st.rows[e2 * D + d] = a;
      if (!rowFeasible(p, e1, st.rows, rowOff(e1)) || !rowFeasible(p, e2, st.rows, rowOff(e2))) {
        st.rows[e1 * D + d] = a;
        st.rows[e2 * D + d] = b;
        continue;
      }
      const n1 = rowPenalty(p, e1, st.rows, rowOff(e1));
      const n2 = rowPenalty(p, e2, st.rows, rowOff(e2));
      const delta = n1 + n2 - (st.empPen[e1] as number) - (st.empPen[e2] as number);
      if (accept(delta)) {
        st.empPen[e1] = n1;
        st.empPen[e2] = n2;
        cur += delta;
        noteBest();
      } else {
        st.rows[e1 * D + d] = a;
        st.rows[e2 * D + d] = b;
      }
    } else {
      // Swap a block of days between two employees (cover-neutral).
      const e1 = rng.int(E);
      let e2 = rng.int(E - 1);
      if (e2 >= e1) e2++;
      if (e2 >= E) continue;
      const len = 2 + rng.int(Math.min(D - 1, 7));
      const d0 = rng.int(Math.max(1, D - len + 1));
      const d1 = Math.min(D, d0 + len);
      let same = true;
      for (let d = d0; d < d1; d++) {
        const a = st.rows[e1 * D + d] as number;
        const b = st.rows[e2 * D + d] as number;
        if (a !== b) same = false;
        st.rows[e1 * D + d] = b;
        st.rows[e2 * D + d] = a;
      }
      const undo = (): void => {
        for (let d = d0; d < d1; d++) {
          const a = st.rows[e1 * D + d] as number;
          st.rows[e1 * D + d] = st.rows[e2 * D + d] as number;
          st.rows[e2 * D + d] = a;
        }
      };
      if (same) continue;
      if (!rowFeasible(p, e1, st.rows, rowOff(e1)) || !rowFeasible(p, e2, st.rows, rowOff(e2))) {
        undo();
        continue;
      }
      const n1 = rowPenalty(p, e1, st.rows, rowOff(e1));
      const n2 = rowPenalty(p, e2, st.rows, rowOff(e2));
      const delta = n1 + n2 - (st.empPen[e1] as number) - (st.empPen[e2] as number);
      if (accept(delta)) {
        st.empPen[e1] = n1;
        st.empPen[e2] = n2;
        cur += delta;
        noteBest();
      } else undo();
    }
  }

  const assignment: Assignment = [];
  for (let e = 0; e < E; e++) {
    const row: (number | null)[] = [];
    for (let d = 0; d < D; d++) {
      const t = bestRows[e * D + d] as number;
      row.push(t >= 0 ? t : null);
    }
    assignment.push(row);
  }
  return {
    assignment,
    score: scoreAssignment(instance, assignment),
    hardViolations: checkAssignment(instance, assignment),
    openSlots: openSlots(instance, assignment),
    iterations,
    elapsedMs: performance.now() - t0,
    stoppedBy,
    lowerBound: Number.isFinite(lowerBound) ? lowerBound : null,
  };
}
