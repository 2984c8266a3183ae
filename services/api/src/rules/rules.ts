/**
 * Hard rules (SPEC §2) for manual shift edits, as plain functions over rows already loaded.
 *
 * A manual edit is judged by what it changes: `introducedViolations(before, after)` reports only
 * violations that the edit creates or makes worse, so a roster that already breaks a rule (rules
 * tightened after generation, an older manual override) can still be edited elsewhere.
 *
 * Minimum-type rules (min minutes per period/week, min consecutive working days, min consecutive
 * days off) are deliberately not checked: they constrain a whole roster, and a single edit is
 * usually one step of several (removing a shift before adding another) that would be refused
 * half-way. They stay the solver's job, and publishing checks them on the whole roster
 * (checkScheduleRules in @rota/generation: 409 unless the violations are accepted). That holds for the
 * minimum per week of a week split between two periods too, which the generator judges in the
 * period holding its Sunday with the earlier roster's shifts: a manual edit in either roster
 * (deleting a shift of 30 January in January's) may leave that week short without being refused,
 * as an edit may leave any minimum short; generating the later period again makes it up.
 */

export const RULES = [
  'skills', 'time-off', 'availability', 'one-shift-per-day', 'min-rest', 'forbidden-succession',
  'max-shifts-per-type', 'max-minutes-per-period', 'max-minutes-per-week', 'max-consecutive-days', 'max-weekends',
] as const;
export type RuleName = (typeof RULES)[number];

/** One non-cancelled shift of the employee. A shift counts on the date it starts. */
export type RuleShift = {
  /** Shift id; identifies the shift across the before/after sets. */
  id: string;
  date: string;
  templateId: string;
  startsAt: Date;
  endsAt: Date;
};

export type RuleTemplate = { id: string; code: string; requiredSkills: readonly string[]; startTime: string; durationMinutes: number };

/** The employee's effective work rules (contract default, overridden per employee). */
export type EmployeeRules = {
  maxMinutesPerPeriod: number;
  maxMinutesPerWeek: number | null;
  maxConsecutiveDays: number;
  maxWeekends: number;
  minRestMinutes: number;
};

export type RuleContext = {
  employeeId: string;
  skills: readonly string[];
  rules: EmployeeRules;
  /** The schedule period (inclusive ISO dates); period rules count shifts dated inside it. */
  period: { start: string; end: string };
  /** Approved time off only. */
  timeOff: readonly { start: string; end: string }[];
  /** Weekly windows (ISO weekday 1 = Monday; end ≤ start runs past midnight); none = always available. */
  availability: readonly { weekday: number; start: string; end: string }[];
  /** Max shifts per template over the period (0 = never). */
  shiftLimits: ReadonlyMap<string, number>;
  /** Forbidden successions as `from>to` template ids. */
  successions: ReadonlySet<string>;
  templates: ReadonlyMap<string, RuleTemplate>;
};

export type Violation = {
  rule: RuleName;
  message: string;
  /** Identifies the violation across before/after; `amount` measures how badly it is broken. */
  key: string;
  amount: number;
  date?: string;
  shiftIds?: string[];
};

const DAY_MS = 86_400_000;
const dayNumber = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
const isoOf = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);
/** ISO weekday, 1 = Monday … 7 = Sunday. */
export const isoWeekday = (iso: string): number => ((new Date(`${iso}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;
const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const shiftMinutes = (s: RuleShift): number => Math.round((s.endsAt.getTime() - s.startsAt.getTime()) / 60_000);
const shiftKey = (s: RuleShift): string => `${s.id}@${s.date}/${s.templateId}`;
const inPeriod = (ctx: RuleContext, s: RuleShift): boolean => s.date >= ctx.period.start && s.date <= ctx.period.end;
const code = (ctx: RuleContext, templateId: string): string => ctx.templates.get(templateId)?.code ?? templateId;

type Check = (ctx: RuleContext, shifts: readonly RuleShift[]) => Violation[];

export const checkSkills: Check = (ctx, shifts) => shifts.flatMap((s) => {
  const missing = (ctx.templates.get(s.templateId)?.requiredSkills ?? []).filter((k) => !ctx.skills.includes(k));
  return missing.length
    ? [{ rule: 'skills' as const, key: `skills:${shiftKey(s)}`, amount: missing.length, date: s.date, shiftIds: [s.id], message: `${code(ctx, s.templateId)} on ${s.date} needs skills the employee lacks: ${missing.join(', ')}` }]
    : [];
});

export const checkTimeOff: Check = (ctx, shifts) => shifts.flatMap((s) =>
  ctx.timeOff.some((t) => t.start <= s.date && s.date <= t.end)
    ? [{ rule: 'time-off' as const, key: `time-off:${shiftKey(s)}`, amount: 1, date: s.date, shiftIds: [s.id], message: `the employee has approved time off on ${s.date}` }]
    : []);

/** A shift must lie inside one availability window of its weekday (or a window of the day before that runs past midnight). */
export const checkAvailability: Check = (ctx, shifts) => {
  if (ctx.availability.length === 0) return [];
  return shifts.flatMap((s) => {
    const t = ctx.templates.get(s.templateId);
    if (!t) return [];
    const start = minutesOf(t.startTime);
    const end = start + t.durationMinutes;
    const wd = isoWeekday(s.date);
    const prev = wd === 1 ? 7 : wd - 1;
    const covered = ctx.availability.some((w) => {
      const ws = minutesOf(w.start);
      const we = minutesOf(w.end);
      const len = we > ws ? we - ws : we - ws + 1440;
      const offset = w.weekday === wd ? 0 : w.weekday === prev ? -1440 : null;
      return offset !== null && ws + offset <= start && end <= ws + offset + len;
    });
    return covered ? [] : [{ rule: 'availability' as const, key: `availability:${shiftKey(s)}`, amount: 1, date: s.date, shiftIds: [s.id], message: `${t.code} on ${s.date} is outside the employee's availability` }];
  });
};

export const checkOneShiftPerDay: Check = (_ctx, shifts) => {
  const byDate = new Map<string, RuleShift[]>();
  for (const s of shifts) byDate.set(s.date, [...(byDate.get(s.date) ?? []), s]);
  return [...byDate].flatMap(([date, list]) => list.length > 1
    ? [{ rule: 'one-shift-per-day' as const, key: `one-shift-per-day:${date}`, amount: list.length, date, shiftIds: list.map((s) => s.id), message: `${list.length} shifts on ${date}, at most one per day` }]
    : []);
};

/** Rest between each shift and the next one (by start time); overlapping shifts have negative rest. */
export const checkMinRest: Check = (ctx, shifts) => {
  const sorted = [...shifts].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime() || a.id.localeCompare(b.id));
  const out: Violation[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const a = sorted[i]!;
    const b = sorted[i + 1]!;
    const rest = Math.round((b.startsAt.getTime() - a.endsAt.getTime()) / 60_000);
    if (rest < ctx.rules.minRestMinutes) {
      out.push({
        rule: 'min-rest', key: `min-rest:${shiftKey(a)}:${shiftKey(b)}`, amount: ctx.rules.minRestMinutes - rest, date: b.date, shiftIds: [a.id, b.id],
        message: `only ${rest} minutes of rest between ${code(ctx, a.templateId)} on ${a.date} and ${code(ctx, b.templateId)} on ${b.date}, at least ${ctx.rules.minRestMinutes} required`,
      });
    }
  }
  return out;
};

export const checkSuccessions: Check = (ctx, shifts) => {
  const out: Violation[] = [];
  for (const a of shifts) {
    for (const b of shifts) {
      if (dayNumber(b.date) - dayNumber(a.date) !== 1 || !ctx.successions.has(`${a.templateId}>${b.templateId}`)) continue;
      out.push({
        rule: 'forbidden-succession', key: `forbidden-succession:${shiftKey(a)}:${shiftKey(b)}`, amount: 1, date: b.date, shiftIds: [a.id, b.id],
        message: `${code(ctx, b.templateId)} on ${b.date} may not follow ${code(ctx, a.templateId)} on ${a.date}`,
      });
    }
  }
  return out;
};

export const checkShiftTypeCaps: Check = (ctx, shifts) => {
  const counts = new Map<string, RuleShift[]>();
  for (const s of shifts) if (inPeriod(ctx, s)) counts.set(s.templateId, [...(counts.get(s.templateId) ?? []), s]);
  return [...counts].flatMap(([templateId, list]) => {
    const cap = ctx.shiftLimits.get(templateId);
    return cap !== undefined && list.length > cap
      ? [{ rule: 'max-shifts-per-type' as const, key: `max-shifts-per-type:${templateId}`, amount: list.length, shiftIds: list.map((s) => s.id), message: `${list.length} ${code(ctx, templateId)} shifts in the period, at most ${cap}` }]
      : [];
  });
};

export const checkPeriodMinutes: Check = (ctx, shifts) => {
  const total = shifts.filter((s) => inPeriod(ctx, s)).reduce((m, s) => m + shiftMinutes(s), 0);
  return total > ctx.rules.maxMinutesPerPeriod
    ? [{ rule: 'max-minutes-per-period', key: 'max-minutes-per-period', amount: total, message: `${total} minutes in the period, at most ${ctx.rules.maxMinutesPerPeriod}` }]
    : [];
};

/**
 * Minutes per Monday–Sunday week, for every week holding a day of the period, with all the
 * employee's shifts in it: a week the period's first or last day cuts counts the shifts of the
 * adjacent rosters (and other departments') on its days outside the period, as the solver does
 * (loadRuleContext reads at least 6 days either side when there is a weekly maximum).
 */
export const checkWeekMinutes: Check = (ctx, shifts) => {
  const max = ctx.rules.maxMinutesPerWeek;
  if (max === null) return [];
  const first = dayNumber(ctx.period.start);
  const last = dayNumber(ctx.period.end);
  const out: Violation[] = [];
  for (let monday = first - (isoWeekday(ctx.period.start) - 1); monday <= last; monday += 7) {
    const total = shifts.filter((s) => { const d = dayNumber(s.date); return d >= monday && d <= monday + 6; }).reduce((m, s) => m + shiftMinutes(s), 0);
    if (total > max) {
      const week = isoOf(monday);
      out.push({ rule: 'max-minutes-per-week', key: `max-minutes-per-week:${week}`, amount: total, date: week, message: `${total} minutes in the week of ${week}, at most ${max}` });
    }
  }
  return out;
};

/**
 * Runs of working days longer than allowed, across the period's edges (the shifts loaded around
 * the period, of any live schedule, count); amount = days beyond the limit, summed.
 */
export const checkConsecutiveDays: Check = (ctx, shifts) => {
  const days = [...new Set(shifts.map((s) => dayNumber(s.date)))].sort((a, b) => a - b);
  const max = ctx.rules.maxConsecutiveDays;
  let excess = 0;
  let longest = 0;
  let longestStart = 0;
  for (let i = 0; i < days.length;) {
    let j = i;
    while (j + 1 < days.length && days[j + 1] === days[j]! + 1) j++;
    const len = j - i + 1;
    excess += Math.max(0, len - max);
    if (len > longest) { longest = len; longestStart = days[i]!; }
    i = j + 1;
  }
  return excess > 0
    ? [{ rule: 'max-consecutive-days', key: 'max-consecutive-days', amount: excess, date: isoOf(longestStart), message: `${longest} working days in a row from ${isoOf(longestStart)}, at most ${max}` }]
    : [];
};

/** A weekend counts as worked when its Saturday or Sunday (inside the period) is worked. */
export const checkWeekends: Check = (ctx, shifts) => {
  const weekends = new Set<number>();
  for (const s of shifts) {
    if (!inPeriod(ctx, s)) continue;
    const wd = isoWeekday(s.date);
    if (wd === 6) weekends.add(dayNumber(s.date));
    if (wd === 7) weekends.add(dayNumber(s.date) - 1);
  }
  return weekends.size > ctx.rules.maxWeekends
    ? [{ rule: 'max-weekends', key: 'max-weekends', amount: weekends.size, message: `${weekends.size} weekends worked in the period, at most ${ctx.rules.maxWeekends}` }]
    : [];
};

const CHECKS: readonly Check[] = [
  checkSkills, checkTimeOff, checkAvailability, checkOneShiftPerDay, checkMinRest, checkSuccessions,
  checkShiftTypeCaps, checkPeriodMinutes, checkWeekMinutes, checkConsecutiveDays, checkWeekends,
];

/** Every hard-rule violation of one employee's shifts. */
export function checkShifts(ctx: RuleContext, shifts: readonly RuleShift[]): Violation[] {
  return CHECKS.flatMap((c) => c(ctx, shifts));
}

/** Violations in `after` that `before` did not have, or had less badly. */
export function introducedViolations(ctx: RuleContext, before: readonly RuleShift[], after: readonly RuleShift[]): Violation[] {
  const old = new Map(checkShifts(ctx, before).map((v) => [v.key, v.amount]));
  return checkShifts(ctx, after).filter((v) => { const was = old.get(v.key); return was === undefined || was < v.amount; });
}
