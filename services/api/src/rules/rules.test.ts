import { describe, expect, test } from 'vitest';
import {
  checkAvailability, checkConsecutiveDays, checkMinRest, checkOneShiftPerDay, checkPeriodMinutes, checkShiftTypeCaps,
  checkShifts, checkSkills, checkSuccessions, checkTimeOff, checkWeekMinutes, checkWeekends, introducedViolations, isoWeekday,
  type RuleContext, type RuleShift, type RuleTemplate,
} from './rules.ts';

// 2026-03-02 is a Monday; the period is four full weeks.
const E: RuleTemplate = { id: '1', code: 'E', requiredSkills: [], startTime: '06:00', durationMinutes: 480 };
const L: RuleTemplate = { id: '2', code: 'L', requiredSkills: [], startTime: '14:00', durationMinutes: 480 };
const N: RuleTemplate = { id: '3', code: 'N', requiredSkills: ['icu'], startTime: '22:00', durationMinutes: 480 };
const TEMPLATES = new Map([E, L, N].map((t) => [t.id, t]));

function ctx(o: Partial<RuleContext> = {}): RuleContext {
  return {
    employeeId: '7', skills: [], period: { start: '2026-03-02', end: '2026-03-29' },
    rules: { maxMinutesPerPeriod: 100_000, maxMinutesPerWeek: null, maxConsecutiveDays: 99, maxWeekends: 99, minRestMinutes: 0 },
    timeOff: [], availability: [], shiftLimits: new Map(), successions: new Set(), templates: TEMPLATES, ...o,
  };
}

let seq = 0;
function shift(date: string, t: RuleTemplate = E, id = String(++seq)): RuleShift {
  const [h, m] = t.startTime.split(':').map(Number) as [number, number];
  const startsAt = new Date(Date.parse(`${date}T00:00:00Z`) + (h * 60 + m) * 60_000);
  return { id, date, templateId: t.id, startsAt, endsAt: new Date(startsAt.getTime() + t.durationMinutes * 60_000) };
}
const run = (from: string, n: number, t = E): RuleShift[] =>
  Array.from({ length: n }, (_, i) => shift(new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10), t));

describe('hard rules for manual edits', () => {
  test('isoWeekday', () => {
    expect(isoWeekday('2026-03-02')).toBe(1);
    expect(isoWeekday('2026-03-08')).toBe(7);
  });

  test('skills: the template needs skills the employee lacks', () => {
    expect(checkSkills(ctx(), [shift('2026-03-02', N)])).toMatchObject([{ rule: 'skills' }]);
    expect(checkSkills(ctx({ skills: ['icu', 'x'] }), [shift('2026-03-02', N)])).toEqual([]);
  });

  test('time off: approved time off covers the date', () => {
    const c = ctx({ timeOff: [{ start: '2026-03-03', end: '2026-03-05' }] });
    expect(checkTimeOff(c, [shift('2026-03-05')])).toMatchObject([{ rule: 'time-off', date: '2026-03-05' }]);
    expect(checkTimeOff(c, [shift('2026-03-06'), shift('2026-03-02')])).toEqual([]);
  });

  test('availability: the shift must fit a window of its weekday, or of the day before past midnight', () => {
    const c = ctx({ availability: [{ weekday: 1, start: '06:00', end: '14:00' }, { weekday: 2, start: '20:00', end: '08:00' }] });
    expect(checkAvailability(c, [shift('2026-03-02', E)])).toEqual([]); // Monday 06-14 inside
    expect(checkAvailability(c, [shift('2026-03-02', L)])).toMatchObject([{ rule: 'availability' }]);
    expect(checkAvailability(c, [shift('2026-03-03', N)])).toEqual([]); // Tuesday 22-06 inside 20-08
    expect(checkAvailability(c, [shift('2026-03-04', E)])).toMatchObject([{ rule: 'availability' }]); // Wednesday 06-14: only 00-08 from Tuesday's window
    expect(checkAvailability(ctx(), [shift('2026-03-04', E)])).toEqual([]); // no windows = always available
  });

  test('one shift per day', () => {
    expect(checkOneShiftPerDay(ctx(), [shift('2026-03-02', E), shift('2026-03-02', L)])).toMatchObject([{ rule: 'one-shift-per-day', amount: 2 }]);
    expect(checkOneShiftPerDay(ctx(), [shift('2026-03-02'), shift('2026-03-03')])).toEqual([]);
  });

  test('min rest between consecutive shifts (real timestamps)', () => {
    const c = ctx({ rules: { ...ctx().rules, minRestMinutes: 660 } });
    // Late ends 22:00, early next day starts 06:00: 8 hours.
    const v = checkMinRest(c, [shift('2026-03-02', L), shift('2026-03-03', E)]);
    expect(v).toMatchObject([{ rule: 'min-rest', amount: 180 }]);
    expect(v[0]!.message).toContain('480 minutes');
    expect(checkMinRest(c, [shift('2026-03-02', E), shift('2026-03-03', E)])).toEqual([]);
  });

  test('forbidden successions apply to the next day only', () => {
    const c = ctx({ successions: new Set(['3>1']) });
    expect(checkSuccessions(c, [shift('2026-03-02', N), shift('2026-03-03', E)])).toMatchObject([{ rule: 'forbidden-succession', date: '2026-03-03' }]);
    expect(checkSuccessions(c, [shift('2026-03-02', N), shift('2026-03-04', E)])).toEqual([]);
    expect(checkSuccessions(c, [shift('2026-03-02', E), shift('2026-03-03', N)])).toEqual([]);
  });

  test('per-type caps count shifts inside the period (0 = never)', () => {
    const c = ctx({ shiftLimits: new Map([['3', 0], ['1', 2]]) });
    expect(checkShiftTypeCaps(c, [shift('2026-03-02', N)])).toMatchObject([{ rule: 'max-shifts-per-type', amount: 1 }]);
    expect(checkShiftTypeCaps(c, run('2026-03-02', 2))).toEqual([]);
    expect(checkShiftTypeCaps(c, run('2026-03-02', 3))).toMatchObject([{ rule: 'max-shifts-per-type', amount: 3 }]);
    expect(checkShiftTypeCaps(c, [shift('2026-03-01', N)])).toEqual([]); // the day before the period
  });

  test('max minutes per period', () => {
    const c = ctx({ rules: { ...ctx().rules, maxMinutesPerPeriod: 960 } });
    expect(checkPeriodMinutes(c, run('2026-03-02', 2))).toEqual([]);
    expect(checkPeriodMinutes(c, run('2026-03-02', 3))).toMatchObject([{ rule: 'max-minutes-per-period', amount: 1440 }]);
  });

  test('max minutes per Monday–Sunday week', () => {
    const c = ctx({ rules: { ...ctx().rules, maxMinutesPerWeek: 1440 } });
    expect(checkWeekMinutes(c, run('2026-03-06', 6))).toEqual([]); // Fri–Sun (3) + Mon–Wed (3)
    expect(checkWeekMinutes(c, run('2026-03-09', 4))).toMatchObject([{ rule: 'max-minutes-per-week', date: '2026-03-09', amount: 1920 }]);
  });

  test("max minutes per week: a week the period's first or last day lies in counts its shifts outside the period too", () => {
    // A period Wednesday 4 .. Tuesday 10 March; 24 h a week at most.
    const c = ctx({ period: { start: '2026-03-04', end: '2026-03-10' }, rules: { ...ctx().rules, maxMinutesPerWeek: 1440 } });
    // Monday and Tuesday of the first week lie in the previous roster.
    expect(checkWeekMinutes(c, [...run('2026-03-02', 2), shift('2026-03-05')])).toEqual([]);
    expect(checkWeekMinutes(c, [...run('2026-03-02', 2), ...run('2026-03-05', 2)])).toMatchObject([
      { rule: 'max-minutes-per-week', date: '2026-03-02', amount: 1920, message: '1920 minutes in the week of 2026-03-02, at most 1440' },
    ]);
    // Wednesday..Sunday of the last week lie in the next one.
    expect(checkWeekMinutes(c, [shift('2026-03-10'), ...run('2026-03-13', 3)])).toMatchObject([{ rule: 'max-minutes-per-week', date: '2026-03-09', amount: 1920 }]);
    // A week holding no day of the period is not this period's.
    expect(checkWeekMinutes(c, run('2026-03-16', 4))).toEqual([]);
  });

  test('max consecutive working days', () => {
    const c = ctx({ rules: { ...ctx().rules, maxConsecutiveDays: 3 } });
    expect(checkConsecutiveDays(c, [...run('2026-03-02', 3), ...run('2026-03-06', 3)])).toEqual([]);
    expect(checkConsecutiveDays(c, run('2026-03-02', 5))).toMatchObject([{ rule: 'max-consecutive-days', amount: 2, date: '2026-03-02' }]);
    // A run continues across the period's start (shifts of the previous period's schedule).
    expect(checkConsecutiveDays(c, run('2026-02-27', 4))).toMatchObject([{ rule: 'max-consecutive-days', amount: 1, date: '2026-02-27' }]);
  });

  test('max weekends: Saturday or Sunday worked counts the weekend once', () => {
    const c = ctx({ rules: { ...ctx().rules, maxWeekends: 1 } });
    expect(checkWeekends(c, [shift('2026-03-07'), shift('2026-03-08')])).toEqual([]);
    expect(checkWeekends(c, [shift('2026-03-07'), shift('2026-03-15')])).toMatchObject([{ rule: 'max-weekends', amount: 2 }]);
  });

  test('introducedViolations reports what the edit creates or worsens, not what was already broken', () => {
    const c = ctx({ rules: { ...ctx().rules, maxConsecutiveDays: 3, minRestMinutes: 660 }, skills: [] });
    const existing = [shift('2026-03-02', N), ...run('2026-03-09', 4)]; // N without skill, and 4 days in a row: already broken
    expect(checkShifts(c, existing).map((v) => v.rule).sort()).toEqual(['max-consecutive-days', 'skills']);
    // An unrelated shift later on adds nothing new.
    expect(introducedViolations(c, existing, [...existing, shift('2026-03-20')])).toEqual([]);
    // Extending the run worsens it; a late before an early breaks rest: both are reported.
    const worse = introducedViolations(c, existing, [...existing, shift('2026-03-13'), shift('2026-03-08', L)]);
    expect(worse.map((v) => v.rule).sort()).toEqual(['max-consecutive-days', 'min-rest']);
  });
});
