import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { checkAssignment } from './check.ts';
import { parseCurtois } from './curtois.ts';
import { makeEmployee, makeInstance, makeShiftType } from './test-factories.ts';
import { relaxMinimums } from './relax.ts';
import { InfeasibleInstanceError, solve } from './solve.ts';

const instance1 = (): ReturnType<typeof parseCurtois> =>
  parseCurtois(readFileSync(fileURLToPath(new URL('../../../../shared/data/curtois/Instance1.txt', import.meta.url)), 'utf8'));

describe('relaxMinimums', () => {
  test('an employee on leave most of the period cannot meet the contract minimum; lifted, every other rule still holds', () => {
    const inst = instance1();
    const e = inst.employees[0]!;
    // On leave except days 0–2: three 8-hour shifts cannot reach the 3,360-minute minimum.
    e.allowed = e.allowed.map((row, day) => row.map(() => day <= 2));
    expect(() => solve(inst, { seed: 1, maxIterations: 2000 })).toThrow(InfeasibleInstanceError);

    const relaxed = relaxMinimums(inst, [e.id]);
    expect(relaxed.employees[0]).toMatchObject({ minTotalMinutes: 0, minConsecutiveWorkDays: 1, minConsecutiveDaysOff: 1 });
    expect(relaxed.employees[1]).toBe(inst.employees[1]); // others untouched
    const r = solve(relaxed, { seed: 1, maxIterations: 2000 });
    expect(checkAssignment(relaxed, r.assignment)).toEqual([]);
    // Leave is still respected for the relaxed employee.
    expect(r.assignment[0]!.slice(3).every((t) => t === null)).toBe(true);
  });

  test("a week closed by a period starting mid-week whose minimum its bookings and leave leave out of reach: lifted like any minimum", () => {
    // Wednesday..Sunday (days 0..4) after 8 h on Monday in the previous roster, on approved leave
    // on Saturday and Sunday, 40 h a week at least: 8 h + 3 × 8 h fall short.
    const E = makeShiftType({ id: 'E', startMinute: 6 * 60, durationMinutes: 8 * 60 });
    const inst = makeInstance({
      days: 5,
      firstWeekday: 2,
      shiftTypes: [E],
      employees: [makeEmployee(5, 1, {
        id: 'A', minWeekMinutes: 40 * 60, maxWeekMinutes: 48 * 60,
        fixed: [{ day: -2, startMinute: 6 * 60, durationMinutes: 8 * 60, type: 0 }],
        allowed: [[true], [true], [true], [false], [false]],
      })],
      cover: Array.from({ length: 5 }, () => [{ requirement: 1, weightUnder: 100, weightOver: 1 }]),
    });
    expect(() => solve(inst, { seed: 1, maxIterations: 500 })).toThrow(InfeasibleInstanceError);

    const relaxed = relaxMinimums(inst, ['A']);
    const r = solve(relaxed, { seed: 1, maxIterations: 500 });
    expect(r.assignment).toEqual([[0, 0, 0, null, null]]);
    expect(checkAssignment(relaxed, r.assignment)).toEqual([]);
    // The checker on the unrelaxed instance names the week that fell short (from Monday, day -2).
    expect(checkAssignment(inst, r.assignment)).toMatchObject([{ rule: 'min-week-minutes', day: -2, message: '1920 minutes in the week from day -2, at least 2400' }]);
  });
});
