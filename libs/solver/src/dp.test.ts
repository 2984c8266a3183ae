import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAssignment } from './check.ts';
import { DpWorkspace } from './dp.ts';
import type { EmployeeSpec, Instance } from './model.ts';
import { OFF, type Prep, prepare, rowFeasible, terminalPenalty } from './prep.ts';
import { makeEmployee, makeInstance, makeShiftType } from './test-factories.ts';

/** One employee, 8 days, 2 types, random rules; random choice costs. */
const arbCase = fc.record({
  firstWeekday: fc.integer({ min: 0, max: 6 }),
  allowed: fc.array(fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }), { minLength: 8, maxLength: 8 }),
  caps: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 2, maxLength: 2 }),
  dur: fc.array(fc.constantFrom(240, 480, 600), { minLength: 2, maxLength: 2 }),
  follow: fc.boolean(),
  maxShifts: fc.integer({ min: 0, max: 8 }),
  minShifts: fc.integer({ min: 0, max: 5 }),
  maxCons: fc.integer({ min: 1, max: 5 }),
  minCons: fc.integer({ min: 1, max: 3 }),
  minOff: fc.integer({ min: 1, max: 3 }),
  maxWeekends: fc.integer({ min: 0, max: 2 }),
  // A minimum alone too: the DP then tracks a week's minutes only when its Sunday is a horizon day.
  week: fc.option(fc.record({ max: fc.option(fc.integer({ min: 0, max: 2400 }), { nil: undefined }), min: fc.integer({ min: 0, max: 960 }) }), { nil: undefined }),
  costs: fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 8 * 3, maxLength: 8 * 3 }),
  window: fc.option(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 8 })), { nil: undefined }),
});

/** The case's employee over 8 days and 2 types. */
function employeeOf(c: Case, extra: Partial<EmployeeSpec> = {}): EmployeeSpec {
  return makeEmployee(8, 2, {
    allowed: c.allowed,
    maxShiftsPerType: c.caps,
    maxTotalMinutes: c.maxShifts * 480,
    minTotalMinutes: c.minShifts * 480,
    maxConsecutiveWorkDays: c.maxCons,
    minConsecutiveWorkDays: c.minCons,
    minConsecutiveDaysOff: c.minOff,
    maxWeekends: c.maxWeekends,
    ...(c.week ? { minWeekMinutes: c.week.min, ...(c.week.max === undefined ? {} : { maxWeekMinutes: c.week.max }) } : {}),
    ...extra,
  });
}

type Case = typeof arbCase extends fc.Arbitrary<infer C> ? C : never;

/** The DP's objective for a row: choice costs + terminal penalty (weekends count days worked by a fixed shift too). */
function rowCost(p: Prep, c: Case, choiceCost: Float64Array, r: number[], fixedDays: ReadonlySet<number> = new Set()): number {
  let s = 0;
  let minutes = 0;
  const weekends = new Set<number>();
  r.forEach((t, d) => {
    s += choiceCost[d * 3 + (t < 0 ? 2 : t)]!;
    if (t >= 0) minutes += c.dur[t]!;
    if ((t >= 0 || fixedDays.has(d)) && (c.firstWeekday + d) % 7 >= 5) weekends.add(Math.floor((c.firstWeekday + d) / 7));
  });
  return s + terminalPenalty(p, p.emps[0]!, minutes, weekends.size);
}

describe('DpWorkspace.solve', () => {
  it('finds the cheapest feasible row, as brute force does', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const days = 8;
        const inst: Instance = makeInstance({
          days,
          firstWeekday: c.firstWeekday,
          shiftTypes: [
            makeShiftType({ id: 'E', durationMinutes: c.dur[0]! }),
            makeShiftType({ id: 'L', durationMinutes: c.dur[1]!, cannotFollow: c.follow ? [0] : [] }),
          ],
          employees: [
            employeeOf(c),
          ],
          weights: { fairnessHours: 0.5, fairnessWeekends: 0.3, cost: 0 },
        });
        const p = prepare(inst);
        const ep = p.emps[0]!;
        const choiceCost = Float64Array.from(c.costs);
        // A fixed reference row for the window variant: the first feasible row found below.
        let best = Number.POSITIVE_INFINITY;
        const rows: number[][] = [];
        const row = new Array<number>(days).fill(OFF);
        const cost = (r: number[]): number => rowCost(p, c, choiceCost, r);
        const rec = (d: number): void => {
          if (d === days) {
            const asg = [row.map((t) => (t < 0 ? null : t))];
            if (checkAssignment(inst, asg).length === 0) rows.push([...row]);
            return;
          }
          for (let t = -1; t < 2; t++) {
            row[d] = t;
            rec(d + 1);
          }
        };
        rec(0);
        const ws = new DpWorkspace(p, ep);
        const out = new Int16Array(days);
        if (c.window && rows.length > 0) {
          const fixed = Int16Array.from(rows[0]!);
          const a = Math.min(c.window[0], c.window[1] - 1);
          const b = c.window[1];
          for (const r of rows) if (r.every((t, d) => (d >= a && d < b) || t === fixed[d])) best = Math.min(best, cost(r));
          const got = ws.solve(p, ep, choiceCost, out, 0, fixed, 0, a, b);
          expect(got).toBeCloseTo(best, 9);
          expect(ws.solve(p, ep, choiceCost, out, 0, fixed, 0, a, b, cost([...fixed]))).toBeCloseTo(best, 9);
          expect(cost([...out])).toBeCloseTo(best, 9);
          return;
        }
        for (const r of rows) best = Math.min(best, cost(r));
        const got = ws.solve(p, ep, choiceCost, out, 0);
        if (best === Number.POSITIVE_INFINITY) {
          expect(got).toBe(Number.POSITIVE_INFINITY);
        } else {
          expect(got).toBeCloseTo(best, 9);
          expect(cost([...out])).toBeCloseTo(best, 9);
          expect(checkAssignment(inst, [[...out].map((t) => (t < 0 ? null : t))])).toEqual([]);
          // Pruning against the cost of any feasible row keeps the optimum.
          const ub = cost(rows[c.costs[0]! % rows.length >= 0 ? Math.abs(c.costs[0]!) % rows.length : 0]!);
          expect(ws.solve(p, ep, choiceCost, out, 0, null, 0, 0, days, ub)).toBeCloseTo(best, 9);
          expect(cost([...out])).toBeCloseTo(best, 9);
        }
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

/** The same employee with bookings this instance does not decide: before, inside and after the horizon. */
const arbContext = fc.record({
  base: arbCase,
  fixed: fc.array(
    // Days -6..13: the whole Monday–Sunday weeks around the 8 days, whatever day 0 is.
    fc.record({ day: fc.integer({ min: -6, max: 13 }), late: fc.boolean(), type: fc.constantFrom(0, 1, null) }),
    { maxLength: 5 },
  ),
  knownBefore: fc.integer({ min: 0, max: 4 }),
  knownAfter: fc.integer({ min: 0, max: 4 }),
  minRest: fc.constantFrom(0, 8 * 60, 11 * 60, 14 * 60),
  // A DST change at 02:00 on some day: rest is real time, an hour shorter or longer across it.
  clock: fc.option(fc.record({ day: fc.integer({ min: -1, max: 8 }), delta: fc.constantFrom(60, -60) }), { nil: undefined }),
});

describe('DpWorkspace.solve with fixed shifts', () => {
  // 150 cases × 3^8 rows through the checker: ~10 s alone.
  it('finds the cheapest feasible row, as brute force with the independent checker does; rowFeasible agrees', { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(arbContext, ({ base: c, fixed, knownBefore, knownAfter, minRest, clock }) => {
        const days = 8;
        // E 06:00, L 22:00 (a night): rest and successions bite across the edges.
        const shiftTypes = [
          makeShiftType({ id: 'E', startMinute: 6 * 60, durationMinutes: c.dur[0]! }),
          makeShiftType({ id: 'N', startMinute: 22 * 60, durationMinutes: c.dur[1]!, cannotFollow: c.follow ? [0] : [] }),
        ];
        const inst: Instance = makeInstance({
          days,
          firstWeekday: c.firstWeekday,
          shiftTypes,
          employees: [
            employeeOf(c, {
              minRestMinutes: minRest,
              fixed: fixed.map((f) => ({ day: f.day, startMinute: f.late ? 22 * 60 : 6 * 60, durationMinutes: 480, type: f.type })),
              knownDaysBefore: knownBefore,
              knownDaysAfter: knownAfter,
            }),
          ],
          weights: { fairnessHours: 0.5, fairnessWeekends: 0.3, cost: 0 },
          ...(clock ? { clockChanges: [{ minute: clock.day * 1440 + 120, delta: clock.delta }] } : {}),
        });
        const p = prepare(inst);
        const ep = p.emps[0]!;
        const fixedIn = new Set(fixed.filter((f) => f.day >= 0 && f.day < days).map((f) => f.day));
        const choiceCost = Float64Array.from(c.costs);
        const cost = (r: number[]): number => rowCost(p, c, choiceCost, r, fixedIn);
        let best = Number.POSITIVE_INFINITY;
        const disagree: number[][] = [];
        const row = new Array<number>(days).fill(OFF);
        const rec = (d: number): void => {
          if (d === days) {
            const ok = checkAssignment(inst, [row.map((t) => (t < 0 ? null : t))]).length === 0;
            if (rowFeasible(p, 0, Int16Array.from(row), 0) !== ok) disagree.push([...row]);
            if (ok) best = Math.min(best, cost(row));
            return;
          }
          for (let t = -1; t < 2; t++) {
            row[d] = t;
            rec(d + 1);
          }
        };
        rec(0);
        expect(disagree.slice(0, 1)).toEqual([]);
        const out = new Int16Array(days);
        const got = new DpWorkspace(p, ep).solve(p, ep, choiceCost, out, 0);
        if (best === Number.POSITIVE_INFINITY) {
          expect(got).toBe(Number.POSITIVE_INFINITY);
        } else {
          expect(got).toBeCloseTo(best, 9);
          expect(cost([...out])).toBeCloseTo(best, 9);
        }
      }),
      { numRuns: 150, seed: 12 },
    );
  });
});
