import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { checkAssignment } from './check.ts';
import { parseCurtois } from './curtois.ts';
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
});
