import { describe, expect, it } from 'vitest';
import { DpWorkspace } from './dp.ts';
import { bestCombination, rowsWithin } from './exact.ts';
import { createRng } from './rng.ts';
import { OFF, coverCell, prepare, rowFeasible, rowPenalty } from './prep.ts';
import { makeEmployee, makeInstance, makeShiftType } from './test-factories.ts';

/** Small random instances (3 staff, 5 days, 2 types) whose every roster can be enumerated. */
function randomCase(seed: number) {
  const rng = createRng(seed);
  const days = 5;
  const T = 2;
  const inst = makeInstance({
    days,
    shiftTypes: [makeShiftType({ id: 'E', startMinute: 6 * 60 }), makeShiftType({ id: 'L', startMinute: 14 * 60, cannotFollow: [] })],
    employees: Array.from({ length: 3 }, (_x, i) =>
      makeEmployee(days, T, { id: `E${i}`, maxConsecutiveWorkDays: 2 + rng.int(3), minConsecutiveDaysOff: 1 + rng.int(2), maxShiftsPerType: [2 + rng.int(3), 2 + rng.int(3)] })),
    cover: Array.from({ length: days }, () => Array.from({ length: T }, () => ({ requirement: rng.int(3), weightUnder: 100, weightOver: 1 }))),
    requests: Array.from({ length: 6 }, () => ({ employee: rng.int(3), day: rng.int(days), type: rng.next() < 0.5 ? null : rng.int(T), on: rng.next() < 0.5, weight: 1 + rng.int(3) })),
  });
  const p = prepare(inst);
  // Every feasible row of every employee.
  const rows: Int16Array[][] = [];
  for (let e = 0; e < p.E; e++) {
    rows.push([]);
    for (let code = 0; code < (T + 1) ** days; code++) {
      const row = new Int16Array(days);
      for (let d = 0, c = code; d < days; d++, c = Math.floor(c / (T + 1))) row[d] = (c % (T + 1)) - 1;
      if (row.every((t, d) => t === OFF || p.emps[e]!.allowed[d * T + t]) && rowFeasible(p, e, row, 0)) rows[e]!.push(row);
    }
  }
  // Prices inside [-wOver, wUnder], as the Lagrangian phase keeps them.
  const pi = Float64Array.from({ length: days * T }, () => -1 + rng.next() * 101);
  const priced = (e: number, row: Int16Array) => rowPenalty(p, e, row, 0) - row.reduce((s, t, d) => s + (t >= 0 ? (pi[d * T + t] as number) : 0), 0);
  const total = (choice: Int16Array[]) => {
    const counts = new Int32Array(days * T);
    for (const row of choice) row.forEach((t, d) => { if (t >= 0) counts[d * T + t]! += 1; });
    let s = choice.reduce((a, row, e) => a + rowPenalty(p, e, row, 0), 0);
    for (let i = 0; i < days * T; i++) s += coverCell(p, i, counts[i] as number);
    return s;
  };
  let optimum = Number.POSITIVE_INFINITY;
  for (const a of rows[0]!) for (const b of rows[1]!) for (const c of rows[2]!) optimum = Math.min(optimum, total([a, b, c]));
  return { p, rows, pi, priced, total, optimum };
}

describe('exact search over near-optimal rows', () => {
  it('lists exactly the rows within the slack, and finds the optimum or proves there is none below a target', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const { p, rows, pi, priced, total, optimum } = randomCase(seed);
      const never = () => false;
      const slack = 250;
      const cands = Array.from({ length: p.E }, (_x, e) => rowsWithin(p, e, new DpWorkspace(p, p.emps[e]!), pi, slack, 10_000, never)!);
      for (let e = 0; e < p.E; e++) {
        const min = Math.min(...rows[e]!.map((r) => priced(e, r)));
        const want = rows[e]!.filter((r) => priced(e, r) <= min + slack + 1e-7).map((r) => r.join(',')).sort();
        expect(cands[e]!.rows.map((r) => r.join(',')).sort()).toEqual(want);
        expect(cands[e]!.base).toBeCloseTo(min, 9);
      }
      let L = cands.reduce((s, c) => s + c.base, 0);
      for (let i = 0; i < p.D * p.T; i++) L += (pi[i] as number) * (p.req[i] as number);
      expect(L).toBeLessThanOrEqual(optimum + 1e-7);
      // Rows within optimum − L hold every optimal roster: the search finds one, and refutes below.
      const all = Array.from({ length: p.E }, (_x, e) => rowsWithin(p, e, new DpWorkspace(p, p.emps[e]!), pi, optimum - L + 1e-6, 10_000, never)!);
      const found = bestCombination(p, pi, L, all, optimum, 1e8, never);
      expect(found.kind).toBe('found');
      if (found.kind === 'found') expect(total(all.map((c, e) => c.rows[found.choice[e] as number]!))).toBe(optimum);
      expect(bestCombination(p, pi, L, all, optimum - 1, 1e8, never).kind).toBe('none');
    }
  });
});
