/**
 * Independent hard-rule checker. Deliberately written straight from the rule definitions, sharing
 * nothing with the search code (solve.ts, dp.ts, prep.ts), so that it can be used to check the
 * solver and manual edits alike.
 *
 * Fixed shifts (EmployeeSpec.fixed): one inside the horizon makes its day worked and counts
 * toward the period's totals (minutes, its type's cap, weekends); every fixed shift counts toward
 * the minutes of its Monday–Sunday week when that week holds a horizon day, and is a neighbour for
 * rest and forbidden successions; runs of working days and days off are followed across the
 * horizon's edges through the known days (knownDaysBefore/After).
 */
import { firstWeekKnown, realMinutes, type Assignment, type Instance } from './model.ts';

export type HardRule =
  | 'shape'
  | 'unknown-shift-type'
  | 'not-allowed'
  | 'one-shift-per-day'
  | 'forbidden-succession'
  | 'min-rest'
  | 'max-shifts-per-type'
  | 'max-total-minutes'
  | 'min-total-minutes'
  | 'max-week-minutes'
  | 'min-week-minutes'
  | 'max-consecutive-work'
  | 'min-consecutive-work'
  | 'min-consecutive-off'
  | 'max-weekends';

export interface HardViolation {
  rule: HardRule;
  /** Employee index (into instance.employees). */
  employee: number;
  employeeId: string;
  /**
   * Day the violation is anchored at, or null for rules over the whole horizon. Negative or ≥ days:
   * a day outside the horizon (a known day, or the Monday of a week starting before day 0).
   */
  day: number | null;
  message: string;
}

export function checkAssignment(instance: Instance, assignment: Assignment): HardViolation[] {
  const out: HardViolation[] = [];
  const D = instance.days;
  const types = instance.shiftTypes;

  if (assignment.length !== instance.employees.length) {
    out.push({
      rule: 'shape',
      employee: -1,
      employeeId: '',
      day: null,
      message: `assignment has ${assignment.length} rows, instance has ${instance.employees.length} employees`,
    });
  }

  // Real minutes between two wall-clock minutes of the timeline (model.ts, not search code).
  const real = (from: number, to: number): number => realMinutes(instance, from, to);

  instance.employees.forEach((emp, e) => {
    const row = assignment[e];
    const add = (rule: HardRule, day: number | null, message: string): void => {
      out.push({ rule, employee: e, employeeId: emp.id, day, message });
    };
    if (!row || row.length !== D) {
      add('shape', null, `row must have ${D} days`);
      return;
    }
    // Normalise: a day is worked iff it holds a valid type index.
    const work: (number | null)[] = [];
    for (let d = 0; d < D; d++) {
      const t = row[d];
      if (t === null || t === undefined) {
        work.push(null);
      } else if (!Number.isInteger(t) || t < 0 || t >= types.length) {
        add('unknown-shift-type', d, `shift type index ${String(t)} does not exist`);
        work.push(null);
      } else {
        work.push(t);
      }
    }

    const fixed = emp.fixed ?? [];
    const fixedIn = fixed.filter((f) => f.day >= 0 && f.day < D);
    const fixedDays = new Set(fixed.map((f) => f.day));

    // Availability, time off, skills, never-allowed types.
    for (let d = 0; d < D; d++) {
      const t = work[d];
      if (t != null && emp.allowed[d]?.[t] !== true) add('not-allowed', d, `may not work ${types[t]?.id} on day ${d}`);
    }

    // At most one shift a day: none generated on the day of a fixed one.
    for (let d = 0; d < D; d++)
      if (work[d] != null && fixedIn.some((f) => f.day === d)) add('one-shift-per-day', d, `a shift on day ${d}, which already has a booked shift`);

    // Successions and rest between consecutive days (a shift counts on the day it starts).
    for (let d = 0; d + 1 < D; d++) {
      const a = work[d];
      const b = work[d + 1];
      if (a == null || b == null) continue;
      const sa = types[a];
      const sb = types[b];
      if (!sa || !sb) continue;
      if (sa.cannotFollow.includes(b)) add('forbidden-succession', d + 1, `${sb.id} may not follow ${sa.id}`);
      const rest = real(d * 1440 + sa.startMinute + sa.durationMinutes, (d + 1) * 1440 + sb.startMinute);
      if (rest < emp.minRestMinutes)
        add('min-rest', d + 1, `only ${rest} minutes of rest, at least ${emp.minRestMinutes} required`);
    }
    // Rest two days apart (only possible with very long shifts).
    for (let d = 0; d + 2 < D; d++) {
      const a = work[d];
      const b = work[d + 2];
      if (a == null || b == null) continue;
      const sa = types[a];
      const sb = types[b];
      if (!sa || !sb) continue;
      const rest = real(d * 1440 + sa.startMinute + sa.durationMinutes, (d + 2) * 1440 + sb.startMinute);
      if (rest < emp.minRestMinutes) add('min-rest', d + 2, `only ${rest} minutes of rest`);
    }
    // Rest and successions between each shift and each fixed shift, whichever comes first.
    for (let d = 0; d < D; d++) {
      const t = work[d];
      const s = t == null ? undefined : types[t];
      if (t == null || !s) continue;
      for (const f of fixed) {
        if (f.day === d) continue; // reported as one-shift-per-day
        const fs = types[f.type ?? -1];
        const [firstEnd, secondStart, later] =
          f.day < d
            ? [f.day * 1440 + f.startMinute + f.durationMinutes, d * 1440 + s.startMinute, d]
            : [d * 1440 + s.startMinute + s.durationMinutes, f.day * 1440 + f.startMinute, f.day];
        const rest = real(firstEnd, secondStart);
        if (rest < emp.minRestMinutes)
          add('min-rest', later, `only ${rest} minutes of rest next to the booked shift on day ${f.day}, at least ${emp.minRestMinutes} required`);
        if (fs && f.day === d - 1 && fs.cannotFollow.includes(t)) add('forbidden-succession', d, `${s.id} may not follow the booked ${fs.id}`);
        if (fs && f.day === d + 1 && f.type !== null && s.cannotFollow.includes(f.type))
          add('forbidden-succession', f.day, `the booked ${fs.id} may not follow ${s.id}`);
      }
    }

    // Per-type caps (fixed shifts of the type inside the horizon count).
    for (let t = 0; t < types.length; t++) {
      let n = fixedIn.filter((f) => f.type === t).length;
      for (let d = 0; d < D; d++) if (work[d] === t) n++;
      const cap = emp.maxShiftsPerType[t] ?? 0;
      if (n > cap) add('max-shifts-per-type', null, `${n} shifts of ${types[t]?.id}, at most ${cap}`);
    }

    // Total minutes (fixed shifts inside the horizon count).
    const minutesOn = (d: number): number => {
      const t = work[d];
      let m = t != null ? (types[t]?.durationMinutes ?? 0) : 0;
      for (const f of fixedIn) if (f.day === d) m += f.durationMinutes;
      return m;
    };
    let total = 0;
    for (let d = 0; d < D; d++) total += minutesOn(d);
    if (total > emp.maxTotalMinutes) add('max-total-minutes', null, `${total} minutes, at most ${emp.maxTotalMinutes}`);
    if (total < emp.minTotalMinutes) add('min-total-minutes', null, `${total} minutes, at least ${emp.minTotalMinutes}`);

    // Minutes per Monday–Sunday week, for every week holding a horizon day (d0: its Monday, < 0
    // when the horizon starts after a Monday). A week's days outside the horizon count their fixed
    // shifts, whether or not those days are known: bookings there are worked all the same. The
    // maximum applies to every such week; the minimum to every week whose Sunday is a horizon
    // day, one that started before day 0 included: a week ending after the horizon is judged by
    // the next period, whose horizon holds its Sunday (its days after this horizon may still be
    // rostered), so a week split between two periods is judged exactly once.
    const fixedOn = (d: number): number => fixed.reduce((m, f) => (f.day === d ? m + f.durationMinutes : m), 0);
    const firstKnown = firstWeekKnown(instance, emp);
    for (let d0 = 0 - instance.firstWeekday; d0 < D; d0 += 7) {
      let week = 0;
      for (let d = d0; d <= d0 + 6; d++) week += d >= 0 && d < D ? minutesOn(d) : fixedOn(d);
      if (emp.maxWeekMinutes !== undefined && week > emp.maxWeekMinutes)
        add('max-week-minutes', d0, `${week} minutes in the week from day ${d0}, at most ${emp.maxWeekMinutes}`);
      // A week that started before day 0 only when its days there are known (firstWeekKnown).
      if (emp.minWeekMinutes !== undefined && d0 + 6 < D && (d0 >= 0 || firstKnown) && week < emp.minWeekMinutes)
        add('min-week-minutes', d0, `${week} minutes in the week from day ${d0}, at least ${emp.minWeekMinutes}`);
    }

    // Runs of working days and of days off over the known days: the horizon plus knownDaysBefore
    // and knownDaysAfter (a known day outside it is worked iff it has a fixed shift). Runs touching
    // the first or last known day are exempt from the minimum-length rules (Curtois & Qu); a run is
    // judged when the horizon decides it: it holds a horizon day (maximum and minimums) or is
    // bounded by one (minimums).
    const first = 0 - (emp.knownDaysBefore ?? 0);
    const last = D - 1 + (emp.knownDaysAfter ?? 0);
    const worksOn = (d: number): boolean => (d >= 0 && d < D && work[d] != null) || fixedDays.has(d);
    let start = first;
    while (start <= last) {
      const working = worksOn(start);
      let end = start;
      while (end + 1 <= last && worksOn(end + 1) === working) end++;
      const len = end - start + 1;
      const holdsHorizonDay = start < D && end >= 0;
      const bounded = start <= D && end >= -1;
      const interior = start > first && end < last;
      if (working) {
        if (holdsHorizonDay && len > emp.maxConsecutiveWorkDays)
          add('max-consecutive-work', start, `${len} working days in a row from day ${start}, at most ${emp.maxConsecutiveWorkDays}`);
        if (bounded && interior && len < emp.minConsecutiveWorkDays)
          add('min-consecutive-work', start, `${len} working days in a row from day ${start}, at least ${emp.minConsecutiveWorkDays}`);
      } else if (bounded && interior && len < emp.minConsecutiveDaysOff) {
        add('min-consecutive-off', start, `${len} days off in a row from day ${start}, at least ${emp.minConsecutiveDaysOff}`);
      }
      start = end + 1;
    }

    // Weekends: a weekend is worked when its Saturday or Sunday (inside the horizon) is worked.
    const worked = new Set<number>();
    for (let d = 0; d < D; d++) {
      const abs = instance.firstWeekday + d;
      const wd = abs % 7;
      if ((wd === 5 || wd === 6) && worksOn(d)) worked.add(Math.floor(abs / 7));
    }
    if (worked.size > emp.maxWeekends) add('max-weekends', null, `${worked.size} weekends worked, at most ${emp.maxWeekends}`);
  });
  return out;
}
