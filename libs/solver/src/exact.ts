/**
 * Exact search over near-optimal rows, for instances whose Lagrangian bound is tight (Curtois 2:
 * bound 827.03, optimum 828). With prices π in [-wOver, wUnder] and L(π) their Lagrangian bound,
 * every roster x satisfies the identity
 *
 *   total(x) = L(π) + Σ_e rc_e(x_e) + Σ_cells gap_i(n_i)
 *
 * where rc_e(row) = (row's own cost − π·row) − (cheapest such value over e's feasible rows) ≥ 0
 * and gap_i(n) = coverCost_i(n) − π_i·(req_i − n) ≥ 0 (convex in n, 0 at n = req_i). A roster
 * better than `target` therefore uses, for every employee, a row with rc ≤ target − L(π): when
 * that slack is small there are few such rows, they can all be listed (rowsWithin), and a
 * depth-first search over one row per employee (bestCombination) either finds a better roster or
 * proves there is none — an optimality proof the bound alone cannot give.
 */
import type { DpWorkspace } from './dp.ts';
import { type Prep, coverCell } from './prep.ts';

/** An employee's candidate rows, cheapest first, with their reduced costs. */
export interface PricedRows {
  rows: Int16Array[];
  rc: number[];
  /** The employee's cheapest priced row cost (its term of L(π)). */
  base: number;
}

/**
 * Every feasible row of employee e with reduced cost ≤ slack at prices pi (π per day×type cell),
 * by depth-first search over days: a prefix is extended only while the exact DP's cheapest
 * completion of it stays within the slack, so every node leads to at least one listed row.
 * Returns null when there are more than maxRows such rows or `stop()` turns true.
 */
export function rowsWithin(p: Prep, e: number, ws: DpWorkspace, pi: Float64Array, slack: number, maxRows: number, stop: () => boolean): PricedRows | null {
  const { D, T } = p;
  const T1 = T + 1;
  const ep = p.emps[e]!;
  const cost = new Float64Array(D * T1);
  for (let d = 0; d < D; d++) {
    for (let t = 0; t < T; t++) cost[d * T1 + t] = (ep.cell[d * T1 + t] as number) - (pi[d * T + t] as number);
    cost[d * T1 + T] = ep.cell[d * T1 + T] as number;
  }
  const out = new Int16Array(D);
  const base = ws.solve(p, ep, cost, out, 0);
  if (!Number.isFinite(base)) return null;
  const limit = base + slack + 1e-7;
  const prefix = new Int16Array(D);
  const found: { row: Int16Array; rc: number }[] = [];
  let aborted = false;
  const extend = (d: number): void => {
    for (let c = -1; c < T && !aborted; c++) {
      if (c >= 0 && !ep.allowed[d * T + c]) continue;
      prefix[d] = c;
      // Cheapest row agreeing with the prefix on days 0..d (exact), pruned at the limit.
      const v = ws.solve(p, ep, cost, out, 0, prefix, 0, d + 1, D, limit);
      if (!(v <= limit)) continue;
      if (d === D - 1) {
        found.push({ row: Int16Array.from(out), rc: Math.max(0, v - base) });
        if (found.length > maxRows) aborted = true;
      } else extend(d + 1);
      if (stop()) aborted = true;
    }
  };
  extend(0);
  if (aborted) return null;
  found.sort((a, b) => a.rc - b.rc);
  return { rows: found.map((f) => f.row), rc: found.map((f) => f.rc), base };
}

/** Outcome of bestCombination: a better roster (row index per employee), none exists, or gave up. */
export type CombinationResult = { kind: 'found'; choice: Int32Array } | { kind: 'none' } | { kind: 'limit' };

/**
 * Depth-first search for one row per employee (from `cands`) with total ≤ target, pruning with
 * L + Σ rc + Σ gap lower bounds (a cell's count can still grow by the employees not yet placed
 * that have a candidate working it). Employees with fewest candidates go first. 'none' is a
 * proof (every combination was covered by the bound); 'limit' means maxNodes or stop() hit.
 */
export function bestCombination(
  p: Prep,
  pi: Float64Array,
  L: number,
  cands: PricedRows[],
  target: number,
  maxNodes: number,
  stop: () => boolean,
): CombinationResult {
  const { D, T, E } = p;
  const C = D * T;
  const order = Array.from({ length: E }, (_x, e) => e).sort((a, b) => cands[a]!.rows.length - cands[b]!.rows.length);
  // reach[k*C + i]: employees order[k..] with some candidate working cell i.
  const reach = new Int32Array((E + 1) * C);
  for (let k = E - 1; k >= 0; k--) {
    const works = new Uint8Array(C);
    for (const row of cands[order[k]!]!.rows) for (let d = 0; d < D; d++) if ((row[d] as number) >= 0) works[d * T + (row[d] as number)] = 1;
    for (let i = 0; i < C; i++) reach[k * C + i] = (reach[(k + 1) * C + i] as number) + (works[i] as number);
  }
  const gap = (i: number, n: number): number => coverCell(p, i, n) - (pi[i] as number) * ((p.req[i] as number) - n);
  const counts = new Int32Array(C);
  const choice = new Int32Array(E);
  let nodes = 0;
  let limited = false;
  const tol = 1e-7;
  const bound = (k: number): number => {
    let b = 0;
    for (let i = 0; i < C; i++) {
      const n = counts[i] as number;
      const req = p.req[i] as number;
      b += gap(i, Math.min(Math.max(req, n), n + (reach[k * C + i] as number)));
    }
    return b;
  };
  const place = (e: number, row: Int16Array, delta: number): void => {
    for (let d = 0; d < D; d++) if ((row[d] as number) >= 0) counts[d * T + (row[d] as number)]! += delta;
  };
  const dfs = (k: number, rcSum: number): boolean => {
    if (k === E) return L + rcSum + bound(E) <= target + tol;
    const e = order[k]!;
    const { rows, rc } = cands[e]!;
    for (let j = 0; j < rows.length; j++) {
      // Candidates are sorted by rc: once rc alone exceeds the slack, so do the rest.
      if (L + rcSum + (rc[j] as number) > target + tol) break;
      if (++nodes > maxNodes || ((nodes & 1023) === 0 && stop())) {
        limited = true;
        return false;
      }
      place(e, rows[j]!, 1);
      if (L + rcSum + (rc[j] as number) + bound(k + 1) <= target + tol) {
        choice[e] = j;
        if (dfs(k + 1, rcSum + (rc[j] as number))) return true;
        if (limited) return false;
      }
      place(e, rows[j]!, -1);
    }
    return false;
  };
  if (dfs(0, 0)) return { kind: 'found', choice };
  return limited ? { kind: 'limit' } : { kind: 'none' };
}
