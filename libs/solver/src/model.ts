/**
 * The solver's view of a rostering problem. Plain arrays and numbers only, so an instance and its
 * result cross a worker_thread boundary by structured clone. Everything is addressed by index
 * (employee i, day d, shift type t); the string ids are carried for reporting.
 *
 * Independent of Postgres and of the Curtois format: `curtois.ts` and the scheduler worker each
 * build one of these.
 */

export interface ShiftType {
  id: string;
  /** Minute of the day the shift starts, 0..1439. */
  startMinute: number;
  /** Length in minutes; start + length may pass midnight (the shift counts on its start day). */
  durationMinutes: number;
  /** Indices of the shift types that may not be worked on the day after this one. */
  cannotFollow: number[];
  /** Multiplier on the employee's hourly cost for this shift. Default 1. */
  payMultiplier?: number;
}

/**
 * A shift the employee already has that this instance does not decide: one in another live
 * schedule, or a manual one. Inside the horizon it makes its day a worked day on which no shift
 * may be generated, and it counts toward the period's totals (minutes, weekends, its type's cap).
 * Outside the horizon it does not count toward those totals (they belong to the period it lies
 * in), but it counts toward the minutes of its Monday–Sunday week when that week also holds a
 * horizon day (the weekly maximum binds a week straddling the horizon's edge, the weekly minimum
 * one ending inside it), toward runs of working days / days off (within the known days, see
 * EmployeeSpec.knownDaysBefore), and is a neighbour for rest and forbidden successions.
 */
export interface FixedShift {
  /** Day it starts on, counted from day 0 (negative: before the horizon; ≥ days: after it). */
  day: number;
  /** Wall-clock start on that day, 0..1439, and length in minutes (it may pass midnight). */
  startMinute: number;
  durationMinutes: number;
  /** Index into Instance.shiftTypes when it is one of the instance's types (successions, caps), else null. */
  type: number | null;
}

export interface EmployeeSpec {
  id: string;
  /**
   * allowed[day][type]: false for unavailability, approved time off, missing skills, or a type the
   * employee may never work.
   */
  allowed: boolean[][];
  /** Max number of shifts of each type over the horizon (0 = never). */
  maxShiftsPerType: number[];
  maxTotalMinutes: number;
  minTotalMinutes: number;
  /**
   * Per ISO week (Monday–Sunday), for every week holding a horizon day: generated minutes plus the
   * fixed shifts on all seven days of the week, inside the horizon or not (`fixed` should list the
   * whole edge weeks: up to 6 days either side).
   */
  maxWeekMinutes?: number;
  /**
   * Per ISO week, for every week whose Sunday is a horizon day: generated minutes plus the fixed
   * shifts on all seven days of the week, so a week that started before day 0 counts the bookings
   * on its days before the horizon (`fixed` should list them: up to 6 days back). A week whose
   * Sunday lies after the horizon is not judged here: its days after the horizon may still be
   * rostered, and the next period, whose horizon holds that Sunday, judges it with this roster
   * among its bookings. A week split between two periods is thus judged exactly once. A week that
   * started before day 0 is judged only when its days there were rostered (firstWeekKnown).
   */
  minWeekMinutes?: number;
  maxConsecutiveWorkDays: number;
  /** Working runs shorter than this are forbidden, except runs touching the first/last known day. */
  minConsecutiveWorkDays: number;
  /** Day-off runs shorter than this are forbidden, except runs touching the first/last known day. */
  minConsecutiveDaysOff: number;
  /** A weekend counts as worked when its Saturday or its Sunday is worked. */
  maxWeekends: number;
  /** Minimum minutes between the end of one shift and the start of the next one. */
  minRestMinutes: number;
  /** Cost per hour worked (times the shift type's pay multiplier). */
  hourlyCost: number;
  /** Minutes the fairness term measures deviation from. Default: midpoint of min and max total. */
  targetMinutes?: number;
  /** Shifts already booked, before, inside and after the horizon. Default none. */
  fixed?: FixedShift[];
  /**
   * Days just before day 0 whose bookings `fixed` lists completely: there a day without a fixed
   * shift is a day off, and runs of working days and of days off continue across the horizon's
   * first day into them. Default 0: nothing is known, runs touching day 0 are exempt from the
   * minimum-length rules (as in Curtois & Qu). The minimum-length rules exempt only runs that
   * touch the first known day.
   */
  knownDaysBefore?: number;
  /** The same after the horizon's last day. Default 0. */
  knownDaysAfter?: number;
}

/**
 * A wish to work (`on`) or not to work (`!on`) on a day. `type: null` means any shift: an
 * on-request is granted by any shift that day, an off-request is broken by any shift that day.
 */
export interface ShiftRequest {
  employee: number;
  day: number;
  type: number | null;
  on: boolean;
  weight: number;
}

export interface Cover {
  requirement: number;
  /** Penalty per missing person. */
  weightUnder: number;
  /** Penalty per extra person. */
  weightOver: number;
}

/**
 * Weights of the secondary soft terms. They are meant to be small next to cover and request
 * weights (which are typically 1..100 per person), so that cover and requests dominate, then
 * fairness, then labour cost; see DEFAULT_SOFT_WEIGHTS.
 */
export interface SoftWeights {
  /** Per hour of |worked − target| per employee. */
  fairnessHours: number;
  /** Per (weekends worked)² per employee: convex, so spreading weekends is cheaper. */
  fairnessWeekends: number;
  /** Per currency unit of labour cost. */
  cost: number;
}

/**
 * Defaults: 100 hours of deviation from target weigh as much as one unit of request weight; one
 * employee's 3rd weekend (9−4 = 5 × 0.02 = 0.1) is worth a tenth of a request; labour cost counts
 * 1e-4 per currency unit (an 8 h shift at 25/h = 0.02), so it only breaks ties between rosters
 * that are equally good on everything else.
 */
export const DEFAULT_SOFT_WEIGHTS: Readonly<SoftWeights> = Object.freeze({
  fairnessHours: 0.01,
  fairnessWeekends: 0.02,
  cost: 0.0001,
});

/**
 * A change of the local clock (DST): at wall-clock minute `minute` of the horizon's timeline
 * (minutes from day 0 00:00 local time; negative before it) the clock jumps by `delta` minutes
 * (+60 when it springs forward, −60 when it falls back). Shift times are wall-clock; rest is
 * measured in real minutes: the wall-clock gap minus the jumps inside it.
 */
export interface ClockChange {
  minute: number;
  delta: number;
}

export interface Instance {
  /** Number of days in the horizon. */
  days: number;
  /** Weekday of day 0: 0 = Monday … 6 = Sunday. */
  firstWeekday: number;
  shiftTypes: ShiftType[];
  employees: EmployeeSpec[];
  requests: ShiftRequest[];
  /** cover[day][type] */
  cover: Cover[][];
  weights: SoftWeights;
  /** Clock changes around the horizon (see ClockChange). Default none: wall clock = real time. */
  clockChanges?: ClockChange[];
}

/** assignment[employee][day] = index of the shift type worked, or null for a day off. */
export type Assignment = (number | null)[][];

/**
 * Whether the days of the horizon's first Monday–Sunday week before day 0 are known for `emp`:
 * none (the horizon starts on a Monday), the known days reach back to that Monday, or a booking
 * lies on one of them (the loader reads bookings of rostered days: see knownDaysBefore). Only then
 * is that week's minimum judged by this horizon — minutes of days nobody rostered are unknown.
 */
export function firstWeekKnown(instance: Pick<Instance, 'firstWeekday'>, emp: Pick<EmployeeSpec, 'knownDaysBefore' | 'fixed'>): boolean {
  const back = instance.firstWeekday;
  return back === 0 || (emp.knownDaysBefore ?? 0) >= back || (emp.fixed ?? []).some((f) => f.day < 0 && f.day >= -back);
}

export function weekdayOf(instance: Pick<Instance, 'firstWeekday'>, day: number): number {
  return (instance.firstWeekday + day) % 7;
}

/**
 * Weekend number of a day (weekends are numbered by the ISO week they end), or -1 when the day
 * is Monday–Friday.
 */
export function weekendOf(instance: Pick<Instance, 'firstWeekday'>, day: number): number {
  const wd = weekdayOf(instance, day);
  if (wd < 5) return -1;
  return Math.floor((instance.firstWeekday + day) / 7);
}

/** Real minutes between two wall-clock minutes of the horizon's timeline (from ≤ to). */
export function realMinutes(instance: Pick<Instance, 'clockChanges'>, from: number, to: number): number {
  let gap = to - from;
  for (const c of instance.clockChanges ?? []) if (c.minute > from && c.minute <= to) gap -= c.delta;
  return gap;
}

/**
 * Wall-clock minutes of rest between a shift of type `a` on some day and a shift of type `b`
 * `gapDays` days later (the real rest differs by a clock change between them).
 */
export function restMinutes(instance: Instance, a: number, b: number, gapDays: number): number {
  const sa = instance.shiftTypes[a];
  const sb = instance.shiftTypes[b];
  if (!sa || !sb) return Number.POSITIVE_INFINITY;
  return gapDays * 1440 + sb.startMinute - (sa.startMinute + sa.durationMinutes);
}

export function targetMinutesOf(e: EmployeeSpec): number {
  return e.targetMinutes ?? (e.minTotalMinutes + e.maxTotalMinutes) / 2;
}

export class InvalidInstanceError extends Error {
  override readonly name = 'InvalidInstanceError';
}

/**
 * Throws InvalidInstanceError when the instance is malformed (wrong dimensions, out-of-range
 * values). Does not decide whether rosters exist; the solver reports that separately.
 */
export function validateInstance(instance: Instance): void {
  const fail = (msg: string): never => {
    throw new InvalidInstanceError(msg);
  };
  const { days, shiftTypes, employees } = instance;
  const T = shiftTypes.length;
  for (const c of instance.clockChanges ?? [])
    if (!Number.isInteger(c.minute) || !Number.isInteger(c.delta) || Math.abs(c.delta) > 180) fail('clockChanges: integer minute and delta (|delta| ≤ 180)');
  const springForward = Math.max(0, ...(instance.clockChanges ?? []).map((c) => c.delta));
  if (!Number.isInteger(days) || days < 1) fail(`days must be a positive integer, got ${days}`);
  if (!Number.isInteger(instance.firstWeekday) || instance.firstWeekday < 0 || instance.firstWeekday > 6)
    fail(`firstWeekday must be 0..6, got ${instance.firstWeekday}`);
  shiftTypes.forEach((s, t) => {
    if (!Number.isInteger(s.startMinute) || s.startMinute < 0 || s.startMinute >= 1440)
      fail(`shiftTypes[${t}] (${s.id}): startMinute must be 0..1439`);
    if (!Number.isInteger(s.durationMinutes) || s.durationMinutes <= 0 || s.durationMinutes > 1440)
      fail(`shiftTypes[${t}] (${s.id}): durationMinutes must be 1..1440`);
    for (const b of s.cannotFollow)
      if (!Number.isInteger(b) || b < 0 || b >= T) fail(`shiftTypes[${t}] (${s.id}): cannotFollow has bad index ${b}`);
  });
  employees.forEach((e, i) => {
    const where = `employees[${i}] (${e.id})`;
    if (e.allowed.length !== days) fail(`${where}: allowed must have ${days} rows`);
    e.allowed.forEach((row, d) => {
      if (row.length !== T) fail(`${where}: allowed[${d}] must have ${T} entries`);
    });
    if (e.maxShiftsPerType.length !== T) fail(`${where}: maxShiftsPerType must have ${T} entries`);
    for (const [name, v] of [
      ['maxTotalMinutes', e.maxTotalMinutes],
      ['minTotalMinutes', e.minTotalMinutes],
      ['maxConsecutiveWorkDays', e.maxConsecutiveWorkDays],
      ['minConsecutiveWorkDays', e.minConsecutiveWorkDays],
      ['minConsecutiveDaysOff', e.minConsecutiveDaysOff],
      ['maxWeekends', e.maxWeekends],
      ['minRestMinutes', e.minRestMinutes],
      ['hourlyCost', e.hourlyCost],
    ] as const)
      if (!Number.isFinite(v) || v < 0) fail(`${where}: ${name} must be a finite number ≥ 0`);
    for (const v of e.maxShiftsPerType) if (!Number.isFinite(v) || v < 0) fail(`${where}: maxShiftsPerType must be ≥ 0`);
    for (const k of [e.knownDaysBefore ?? 0, e.knownDaysAfter ?? 0])
      if (!Number.isInteger(k) || k < 0) fail(`${where}: knownDaysBefore/knownDaysAfter must be integers ≥ 0`);
    (e.fixed ?? []).forEach((f, k) => {
      if (!Number.isInteger(f.day) || !Number.isInteger(f.startMinute) || f.startMinute < 0 || f.startMinute >= 1440)
        fail(`${where}: fixed[${k}] needs an integer day and a startMinute 0..1439`);
      if (!Number.isInteger(f.durationMinutes) || f.durationMinutes <= 0 || f.durationMinutes > 1440)
        fail(`${where}: fixed[${k}]: durationMinutes must be 1..1440`);
      if (f.type !== null && (!Number.isInteger(f.type) || f.type < 0 || f.type >= T)) fail(`${where}: fixed[${k}]: type out of range`);
    });
    // The solver only checks rest between consecutive days; a shift longer than a day plus the
    // rest would also need a two-day look-back, which no real template needs (a clock change
    // can take an hour off that rest).
    for (let a = 0; a < T; a++)
      for (let b = 0; b < T; b++)
        if (restMinutes(instance, a, b, 2) - springForward < e.minRestMinutes)
          fail(`${where}: minRestMinutes ${e.minRestMinutes} could be broken two days apart by ${shiftTypes[a]?.id}`);
  });
  if (instance.cover.length !== days) fail(`cover must have ${days} rows`);
  instance.cover.forEach((row, d) => {
    if (row.length !== T) fail(`cover[${d}] must have ${T} entries`);
    for (const c of row)
      if (c.requirement < 0 || c.weightUnder < 0 || c.weightOver < 0) fail(`cover[${d}]: negative value`);
  });
  instance.requests.forEach((r, k) => {
    if (r.employee < 0 || r.employee >= employees.length || r.day < 0 || r.day >= days)
      fail(`requests[${k}]: employee or day out of range`);
    if (r.type !== null && (r.type < 0 || r.type >= T)) fail(`requests[${k}]: type out of range`);
    if (!(r.weight >= 0)) fail(`requests[${k}]: weight must be ≥ 0`);
  });
}
