import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkAssignment } from './check.ts';
import { CurtoisParseError, curtoisObjective, parseCurtois } from './curtois.ts';
import { scoreAssignment } from './score.ts';

const dataDir = process.env.CURTOIS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/curtois');
const read = (i: number): string => readFileSync(join(dataDir, `Instance${i}.txt`), 'utf8');

// Days, staff, shift types from the README table.
const SIZES: [number, number, number][] = [
  [14, 8, 1], [14, 14, 2], [14, 20, 3], [28, 10, 2], [28, 16, 2], [28, 18, 3],
  [28, 20, 3], [28, 30, 4], [28, 36, 4], [28, 40, 5], [28, 50, 6], [28, 60, 10],
];

describe('parseCurtois', () => {
  it.each(SIZES.map((s, k) => [k + 1, ...s] as const))('parses Instance%i (%i days, %i staff, %i types)', (i, days, staff, types) => {
    const inst = parseCurtois(read(i));
    expect(inst.days).toBe(days);
    expect(inst.employees).toHaveLength(staff);
    expect(inst.shiftTypes).toHaveLength(types);
    expect(inst.cover).toHaveLength(days);
    expect(inst.requests.length).toBeGreaterThan(0);
    // The empty roster breaks only minimum-minutes rules.
    const empty = inst.employees.map(() => new Array<number | null>(days).fill(null));
    const broken = new Set(checkAssignment(inst, empty).map((v) => v.rule));
    expect([...broken]).toEqual(['min-total-minutes']);
  });

  it('reads every rule value of Instance2', () => {
    const inst = parseCurtois(read(2));
    expect(inst.shiftTypes.map((s) => [s.id, s.durationMinutes, s.cannotFollow])).toEqual([
      ['E', 480, []],
      ['L', 480, [0]],
    ]);
    const d = inst.employees[3]!;
    expect(d).toMatchObject({
      id: 'D',
      maxShiftsPerType: [14, 0],
      maxTotalMinutes: 4320,
      minTotalMinutes: 3360,
      maxConsecutiveWorkDays: 5,
      minConsecutiveWorkDays: 2,
      minConsecutiveDaysOff: 2,
      maxWeekends: 1,
    });
    // D may never work L, and has day 12 off.
    expect(d.allowed[0]).toEqual([true, false]);
    expect(d.allowed[12]).toEqual([false, false]);
    expect(inst.requests).toContainEqual({ employee: 0, day: 5, type: 1, on: true, weight: 1 });
    expect(inst.requests).toContainEqual({ employee: 6, day: 3, type: 0, on: false, weight: 2 });
    expect(inst.cover[2]).toEqual([
      { requirement: 3, weightUnder: 100, weightOver: 1 },
      { requirement: 6, weightUnder: 100, weightOver: 1 },
    ]);
  });

  it('names the line of bad input', () => {
    const good = read(1);
    const bad = good.replace('A,D=14,4320,3360,5,2,2,1', 'A,D=14,43x0,3360,5,2,2,1');
    expect(() => parseCurtois(bad)).toThrow(CurtoisParseError);
    expect(() => parseCurtois(bad)).toThrow(/line 13: MaxTotalMinutes must be an integer/);
    expect(() => parseCurtois(good.replace('SECTION_COVER', 'SECTION_COVERS'))).toThrow(/unknown section SECTION_COVERS/);
    expect(() => parseCurtois(good.replace('\nA,2,D,2', '\nZZ,2,D,2'))).toThrow(/line \d+: unknown employee "ZZ"/);
    expect(() => parseCurtois('SECTION_HORIZON\n14\n')).toThrow(/missing section SECTION_SHIFTS/);
  });
});

describe('curtoisObjective', () => {
  it('equals cover + request penalties of scoreAssignment, as an integer', () => {
    for (const i of [2, 7]) {
      const inst = parseCurtois(read(i));
      // An arbitrary roster: everyone works their first allowed type on even days.
      const asg = inst.employees.map((e) =>
        e.allowed.map((row, d) => (d % 2 === 0 && row.indexOf(true) >= 0 ? row.indexOf(true) : null)),
      );
      const s = scoreAssignment(inst, asg);
      const obj = curtoisObjective(inst, asg);
      expect(Number.isInteger(obj)).toBe(true);
      expect(obj).toBe(s.coverUnder + s.coverOver + s.onRequests + s.offRequests);
      expect(s.total).toBe(obj);
    }
  });
});
