import { describe, expect, it } from 'vitest';
import { type HardRule, checkAssignment } from './check.ts';
import type { Assignment, EmployeeSpec, FixedShift, Instance } from './model.ts';
import { makeEmployee, makeInstance, makeShiftType } from './test-factories.ts';

const _ = null;

/** One employee, `days` days, one 8-hour day shift unless types are given. */
function oneEmployee(days: number, rules: Partial<EmployeeSpec>, extra: Partial<Instance> = {}): Instance {
  const T = extra.shiftTypes?.length ?? 1;
  return makeInstance({ days, ...extra, employees: [makeEmployee(days, T, rules)] });
}

function rules(instance: Instance, assignment: Assignment): HardRule[] {
  return checkAssignment(instance, assignment).map((v) => v.rule);
}

describe('checkAssignment', () => {
  it('accepts an empty roster when nothing requires work', () => {
    expect(checkAssignment(oneEmployee(7, {}), [[_, _, _, _, _, _, _]])).toEqual([]);
  });

  it('reports a wrong shape', () => {
    expect(rules(oneEmployee(7, {}), [[_, _, _]])).toEqual(['shape']);
    expect(rules(oneEmployee(7, {}), [])).toContain('shape');
  });

  it('reports an unknown shift type', () => {
    expect(rules(oneEmployee(3, {}), [[0, 5, 0]])).toEqual(['unknown-shift-type']);
  });

  it('reports work on a day that is not allowed (time off, availability, skills)', () => {
    const allowed = [[true], [true], [false], [true]];
    const inst = oneEmployee(4, { allowed });
    const v = checkAssignment(inst, [[0, 0, 0, 0]]);
    expect(v).toMatchObject([{ rule: 'not-allowed', employee: 0, employeeId: 'A', day: 2 }]);
    expect(rules(inst, [[0, 0, _, 0]])).toEqual([]);
  });

  it('reports a forbidden succession on the next day only', () => {
    const shiftTypes = [makeShiftType({ id: 'E' }), makeShiftType({ id: 'L', cannotFollow: [0] })];
    const inst = oneEmployee(4, {}, { shiftTypes });
    expect(checkAssignment(inst, [[1, 0, _, _]])).toMatchObject([{ rule: 'forbidden-succession', day: 1 }]);
    expect(rules(inst, [[0, 1, _, 0]])).toEqual([]);
    expect(rules(inst, [[1, _, 0, _]])).toEqual([]);
  });

  it('reports too little rest between a night and an early shift', () => {
    const shiftTypes = [
      makeShiftType({ id: 'N', startMinute: 22 * 60, durationMinutes: 8 * 60 }),
      makeShiftType({ id: 'E', startMinute: 6 * 60, durationMinutes: 8 * 60 }),
    ];
    const inst = oneEmployee(3, { minRestMinutes: 11 * 60 }, { shiftTypes });
    // N ends 06:00 on day 1; E starts 06:00 on day 1: no rest.
    expect(checkAssignment(inst, [[0, 1, _]])).toMatchObject([{ rule: 'min-rest', day: 1 }]);
    expect(rules(inst, [[_, 0, 1]])).toEqual(['min-rest']);
    expect(rules(inst, [[0, 0, 0]])).toEqual([]);
  });

  it('reports more shifts of a type than its cap', () => {
    const inst = oneEmployee(5, { maxShiftsPerType: [2] });
    expect(rules(inst, [[0, 0, 0, _, _]])).toEqual(['max-shifts-per-type']);
    expect(rules(inst, [[0, 0, _, _, _]])).toEqual([]);
  });

  it('reports total minutes above the maximum and below the minimum', () => {
    const inst = oneEmployee(5, { maxTotalMinutes: 16 * 60, minTotalMinutes: 8 * 60 });
    expect(rules(inst, [[0, 0, 0, _, _]])).toEqual(['max-total-minutes']);
    expect(rules(inst, [[_, _, _, _, _]])).toEqual(['min-total-minutes']);
    expect(rules(inst, [[0, _, _, _, 0]])).toEqual([]);
  });

  it('reports the maximum per week for every Monday–Sunday week holding a horizon day, the minimum for every week ending inside', () => {
    // Day 0 is a Thursday: days 0..3 end the week from day -3, days 4..10 are a full week, days
    // 11..13 start the week from day 11.
    // The days before day 0 are known (rostered, nothing booked on them).
    const inst = oneEmployee(14, { maxWeekMinutes: 16 * 60, minWeekMinutes: 8 * 60, knownDaysBefore: 3 }, { firstWeekday: 3 });
    const row = (days: number[]): (number | null)[] => Array.from({ length: 14 }, (_x, d) => (days.includes(d) ? 0 : null));
    expect(checkAssignment(inst, [row([3, 4, 5, 6])])).toMatchObject([{ rule: 'max-week-minutes', day: 4 }]);
    expect(checkAssignment(inst, [row([0, 1, 2, 11, 12, 13])])).toMatchObject([
      { rule: 'max-week-minutes', day: -3 },
      { rule: 'min-week-minutes', day: 4 },
      { rule: 'max-week-minutes', day: 11, message: expect.stringContaining('1440 minutes in the week from day 11') },
    ]);
    // Two shifts in each edge week, one in the full one.
    expect(rules(inst, [row([0, 3, 6, 12, 13])])).toEqual([]);
    // The first week ends on day 3 (its Sunday): its minimum is this horizon's; the last week
    // ends after the horizon: the next period judges it.
    expect(checkAssignment(inst, [row([6])])).toMatchObject([{ rule: 'min-week-minutes', day: -3, message: '0 minutes in the week from day -3, at least 480' }]);
    expect(rules(inst, [row([3, 6])])).toEqual([]);
    // Days before day 0 nobody rostered (fewer known days than the week has there): not judged.
    const unknown = oneEmployee(14, { maxWeekMinutes: 16 * 60, minWeekMinutes: 8 * 60, knownDaysBefore: 2 }, { firstWeekday: 3 });
    expect(rules(unknown, [row([6])])).toEqual([]);
  });

  it('reports too many consecutive working days, edge runs included', () => {
    const inst = oneEmployee(6, { maxConsecutiveWorkDays: 3 });
    expect(checkAssignment(inst, [[0, 0, 0, 0, _, _]])).toMatchObject([{ rule: 'max-consecutive-work', day: 0 }]);
    expect(rules(inst, [[0, 0, 0, _, 0, 0]])).toEqual([]);
  });

  it('reports a short working run inside the horizon but not at its edges', () => {
    const inst = oneEmployee(7, { minConsecutiveWorkDays: 2 });
    expect(checkAssignment(inst, [[_, _, 0, _, _, _, _]])).toMatchObject([{ rule: 'min-consecutive-work', day: 2 }]);
    expect(rules(inst, [[0, _, _, 0, 0, _, 0]])).toEqual([]);
  });

  it('reports a short day-off run inside the horizon but not at its edges', () => {
    const inst = oneEmployee(7, { minConsecutiveDaysOff: 2 });
    expect(checkAssignment(inst, [[0, 0, _, 0, 0, 0, 0]])).toMatchObject([{ rule: 'min-consecutive-off', day: 2 }]);
    expect(rules(inst, [[_, 0, 0, _, _, 0, _]])).toEqual([]);
  });

  it('reports too many weekends, counting Saturday or Sunday once per weekend', () => {
    const inst = oneEmployee(14, { maxWeekends: 1 });
    const row = (days: number[]): (number | null)[] => Array.from({ length: 14 }, (_x, d) => (days.includes(d) ? 0 : null));
    expect(rules(inst, [row([5, 13])])).toEqual(['max-weekends']);
    expect(rules(inst, [row([5, 6])])).toEqual([]);
    // Day 0 a Sunday: days 0 and 6 (Saturday) are different weekends.
    const sunday = oneEmployee(7, { maxWeekends: 1 }, { firstWeekday: 6 });
    expect(rules(sunday, [[0, _, _, _, _, _, 0]])).toEqual(['max-weekends']);
  });
});

describe('checkAssignment with fixed shifts (bookings the instance does not decide)', () => {
  // A week Monday..Sunday; N = night 22:00–06:00 (no early the day after), E = early 06:00–14:00.
  const N = makeShiftType({ id: 'N', startMinute: 22 * 60, durationMinutes: 8 * 60, cannotFollow: [1] });
  const E = makeShiftType({ id: 'E', startMinute: 6 * 60, durationMinutes: 8 * 60 });
  const week = (rules: Partial<EmployeeSpec>): Instance => oneEmployee(7, { minRestMinutes: 11 * 60, ...rules }, { shiftTypes: [N, E] });
  const night = (day: number) => ({ day, startMinute: 22 * 60, durationMinutes: 8 * 60, type: 0 });
  const early = (day: number) => ({ day, startMinute: 6 * 60, durationMinutes: 8 * 60, type: 1 });

  it("reports last week's Sunday night followed by Monday's early shift: no rest, forbidden succession", () => {
    const inst = week({ fixed: [night(-1)] });
    expect(checkAssignment(inst, [[1, _, _, _, _, _, _]])).toMatchObject([
      { rule: 'min-rest', day: 0, message: expect.stringContaining('only 0 minutes') },
      { rule: 'forbidden-succession', day: 0 },
    ]);
    expect(rules(inst, [[_, 1, _, _, _, _, _]])).toEqual([]);
  });

  it("reports the last day's night followed by next week's booked early shift", () => {
    const inst = week({ fixed: [early(7)] });
    expect(rules(inst, [[_, _, _, _, _, _, 0]])).toEqual(['min-rest', 'forbidden-succession']);
    expect(rules(inst, [[_, _, _, _, _, 0, _]])).toEqual([]);
  });

  it('counts working days in a row across the edges through the known days', () => {
    const lastWeek = [-6, -5, -4, -3, -2, -1].map(early);
    const inst = week({ maxConsecutiveWorkDays: 6, fixed: lastWeek, knownDaysBefore: 7 });
    expect(checkAssignment(inst, [[1, 1, 1, 1, 1, _, _]])).toMatchObject([
      { rule: 'max-consecutive-work', day: -6, message: expect.stringContaining('11 working days') },
    ]);
    expect(rules(inst, [[_, 1, 1, 1, 1, 1, _]])).toEqual([]);
    // Nothing known before day 0: the bookings still matter for rest, not for runs.
    expect(rules(week({ maxConsecutiveWorkDays: 6, fixed: lastWeek }), [[1, 1, 1, 1, 1, _, _]])).toEqual([]);
  });

  it('applies the minimum runs to runs the horizon closes, not to those touching the last known day', () => {
    // Worked on day -1, off on day 0 only: a one-day break.
    const inst = week({ minConsecutiveDaysOff: 2, fixed: [early(-2), early(-1)], knownDaysBefore: 3 });
    expect(checkAssignment(inst, [[_, 1, _, _, _, _, _]])).toMatchObject([{ rule: 'min-consecutive-off', day: 0 }]);
    expect(rules(inst, [[_, _, 1, _, _, _, _]])).toEqual([]);
    // A one-day working run on day -1 ended by day 0.
    const short = week({ minConsecutiveWorkDays: 2, fixed: [early(-1)], knownDaysBefore: 3 });
    expect(checkAssignment(short, [[_, _, _, _, _, _, _]])).toMatchObject([{ rule: 'min-consecutive-work', day: -1 }]);
    expect(rules(short, [[1, _, _, _, _, _, _]])).toEqual([]);
    // After the horizon: a booking on day 8 leaves day 7 as a one-day break after day 6.
    const after = week({ minConsecutiveDaysOff: 2, fixed: [early(8)], knownDaysAfter: 3 });
    expect(checkAssignment(after, [[_, _, _, _, _, _, 1]])).toMatchObject([{ rule: 'min-consecutive-off', day: 7 }]);
    expect(rules(after, [[_, _, _, _, _, 1, _]])).toEqual([]);
  });

  it('counts a booked shift inside the horizon as a worked day toward the period totals', () => {
    const inst = week({ fixed: [early(5)], maxTotalMinutes: 16 * 60, maxShiftsPerType: [7, 1], maxWeekends: 0, maxConsecutiveWorkDays: 2 });
    expect(rules(inst, [[_, _, _, _, _, _, _]])).toEqual(['max-weekends']);
    expect(rules(inst, [[_, 1, _, 1, 1, _, _]])).toEqual([
      'max-shifts-per-type', 'max-total-minutes', 'max-consecutive-work', 'max-weekends',
    ]);
    // A second shift on the booked day.
    expect(rules(week({ fixed: [early(2)] }), [[_, _, 1, _, _, _, _]])).toEqual(['one-shift-per-day']);
  });

  it("counts bookings outside the horizon toward the maximum of a week straddling its start or end", () => {
    // A period Wednesday..Sunday (days 0..4) after a roster with 16 h on Monday and Tuesday, 40 h a week at most.
    const wedToSun = (fixed: FixedShift[], knownDaysBefore = 0): Instance =>
      oneEmployee(5, { maxWeekMinutes: 40 * 60, minWeekMinutes: 40 * 60, fixed, knownDaysBefore }, { firstWeekday: 2, shiftTypes: [N, E] });
    const earlier = wedToSun([early(-2), early(-1)]);
    expect(checkAssignment(earlier, [[1, 1, 1, 1, 1]])).toMatchObject([
      { rule: 'max-week-minutes', day: -2, message: '3360 minutes in the week from day -2, at most 2400' },
    ]);
    expect(rules(earlier, [[1, 1, 1, _, _]])).toEqual([]);
    // Unknown days (knownDaysBefore 0) count all the same: a booking is worked wherever it lies.
    expect(rules(wedToSun([early(-3)]), [[1, 1, 1, 1, 1]])).toEqual([]); // day -3: last week's Sunday
    // The week ends inside (day 4 is its Sunday): its minimum is judged too, when Monday and
    // Tuesday were rostered (known days, here without bookings).
    expect(rules(wedToSun([], 2), [[_, _, _, _, _]])).toEqual(['min-week-minutes']);

    // A period Monday..Wednesday (days 0..2) before a roster with 32 h on Thursday..Sunday.
    const monToWed = oneEmployee(3, { maxWeekMinutes: 40 * 60, minWeekMinutes: 40 * 60, fixed: [3, 4, 5, 6].map(early) }, { shiftTypes: [N, E] });
    expect(checkAssignment(monToWed, [[1, 1, _]])).toMatchObject([{ rule: 'max-week-minutes', day: 0, message: expect.stringContaining('2880 minutes') }]);
    expect(rules(monToWed, [[1, _, _]])).toEqual([]);
    // Next week's bookings (day 7) are another week.
    expect(rules(oneEmployee(3, { maxWeekMinutes: 8 * 60, fixed: [early(7)] }, { shiftTypes: [N, E] }), [[1, _, _]])).toEqual([]);
  });

  it('judges the minimum of a week ending inside the horizon with the bookings on its days before it, and leaves a week ending after it to the next period', () => {
    // A period Wednesday..Sunday (days 0..4), 40 h a week at least: Monday and Tuesday lie in the
    // previous roster.
    const wedToSun = (fixed: FixedShift[], knownDaysBefore = 2): Instance =>
      oneEmployee(5, { minWeekMinutes: 40 * 60, fixed, knownDaysBefore }, { firstWeekday: 2, shiftTypes: [N, E] });
    const earlier = wedToSun([early(-2), early(-1)]);
    expect(rules(earlier, [[1, 1, 1, _, _]])).toEqual([]); // 16 h booked + 24 h
    expect(checkAssignment(earlier, [[1, 1, _, _, _]])).toMatchObject([
      { rule: 'min-week-minutes', day: -2, message: '1920 minutes in the week from day -2, at least 2400' },
    ]);
    expect(rules(wedToSun([]), [[1, 1, 1, _, _]])).toEqual(['min-week-minutes']);
    // Monday and Tuesday rostered by nobody (a first roster): their minutes are unknown, the week's
    // minimum is not this horizon's to judge. A booking on one of them says they were rostered.
    expect(rules(wedToSun([], 0), [[1, 1, 1, _, _]])).toEqual([]);
    expect(rules(wedToSun([early(-1)], 0), [[1, 1, _, _, _]])).toEqual(['min-week-minutes']);
    // Last week's Sunday (day -3) is another week.
    expect(rules(wedToSun([early(-3), early(-2)]), [[1, 1, 1, _, _]])).toEqual(['min-week-minutes']);
    // Bookings inside the horizon count as well.
    expect(rules(wedToSun([early(-2), early(-1), early(4)]), [[1, 1, _, _, _]])).toEqual([]);

    // A period Monday..Wednesday (days 0..2): its week ends after it, on the next period's Sunday.
    const monToWed = oneEmployee(3, { minWeekMinutes: 40 * 60 }, { shiftTypes: [N, E] });
    expect(rules(monToWed, [[_, _, _]])).toEqual([]);
    // Monthly periods: February 2030 (day 0 a Friday, 28 days) judges the week from Monday 28
    // January (day -4) with January's bookings, not the week from Monday 25 February (day 24).
    const feb = oneEmployee(28, { minWeekMinutes: 16 * 60, maxConsecutiveWorkDays: 28, fixed: [early(-4)] }, { firstWeekday: 4, shiftTypes: [N, E] });
    const days = (worked: number[]): (number | null)[] => Array.from({ length: 28 }, (_x, d) => (worked.includes(d) ? 1 : null));
    expect(rules(feb, [days([0, 3, 4, 10, 11, 17, 18])])).toEqual([]);
    expect(checkAssignment(feb, [days([3, 4, 10, 11, 17, 18])])).toMatchObject([{ rule: 'min-week-minutes', day: -4 }]);
  });

  it('measures rest in real minutes across a clock change', () => {
    // L ends 22:00 on day 0, M starts 09:00 on day 1: 11 hours on the wall clock.
    const L = makeShiftType({ id: 'L', startMinute: 14 * 60, durationMinutes: 8 * 60 });
    const M = makeShiftType({ id: 'M', startMinute: 9 * 60, durationMinutes: 8 * 60 });
    const inst = oneEmployee(3, { minRestMinutes: 11 * 60 }, { shiftTypes: [L, M] });
    expect(rules(inst, [[0, 1, _]])).toEqual([]);
    // Spring forward at 02:00 on day 1: only 10 real hours.
    const spring = { ...inst, clockChanges: [{ minute: 1440 + 120, delta: 60 }] };
    expect(checkAssignment(spring, [[0, 1, _]])).toMatchObject([{ rule: 'min-rest', day: 1, message: expect.stringContaining('only 600 minutes') }]);
    expect(rules(spring, [[_, 0, 1]])).toEqual([]);
    // Against a booked shift too.
    const booked = { ...spring, employees: [{ ...spring.employees[0]!, fixed: [{ day: 0, startMinute: 14 * 60, durationMinutes: 480, type: null }] }] };
    expect(rules(booked, [[_, 1, _]])).toEqual(['min-rest']);
  });
});
