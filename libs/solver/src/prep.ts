/**
 * Flat, typed-array view of an instance used by the search (dp.ts, solve.ts). Rows are
 * Int16Array of length D with -1 for a day off.
 */
import { type EmployeeSpec, type Instance, firstWeekKnown, realMinutes, targetMinutesOf, weekdayOf, weekendOf } from './model.ts';

export const OFF = -1;

/** The run of working days or days off that ends on the day before day 0 (from the fixed shifts). */
export interface RunBefore {
  /** Nothing is known before day 0: a run starting on day 0 touches the edge (exempt from minimums). */
  edge: boolean;
  worked: boolean;
  /** Length of that run inside the known days (0 when edge). */
  run: number;
  /** The run reaches the first known day (exempt from the minimum-length rules). */
  init: boolean;
}

/** The run of working days or days off that starts on the day after the last day. */
export interface RunAfter {
  /** Nothing is known after the last day: the final run is exempt from the minimum-length rules. */
  edge: boolean;
  worked: boolean;
  run: number;
  /** The run ends inside the known days (so the minimum-length rules apply to it). */
  closed: boolean;
}

export interface EmpPrep {
  /** allowed[d*T + t] */
  allowed: Uint8Array;
  /**
   * forbidNext[(d*T + a)*T + b]: b may not be worked on day d+1 after a on day d (succession, or
   * real rest: it depends on the day when a clock change falls between them). Read-only: shared
   * by the employees with the same minimum rest.
   */
  forbidNext: Uint8Array;
  maxCons: number;
  minCons: number;
  minOff: number;
  maxWeekends: number;
  maxMinutes: number;
  minMinutes: number;
  /** -1 when absent */
  maxWeekMinutes: number;
  minWeekMinutes: number;
  /**
   * First day whose week's minimum is judged (on its Sunday): 0, or the first Monday when the
   * horizon starts mid-week and the days of that week before it are not known (no roster of the
   * department covers them: a first roster, or a later period planned first). Their minutes
   * cannot be counted then, and demanding the whole minimum of the few days left would lift all
   * of the employee's minimums (relax.ts) for nothing.
   */
  minWeekFrom: number;
  typeCap: Int32Array;
  /** cell[d*(T+1) + c] request + labour-cost penalty of choice c on day d (c = T for off). */
  cell: Float64Array;
  /**
   * Minutes target of the generated shifts. maxMinutes, minMinutes, target and typeCap above
   * already have the fixed in-horizon shifts taken off, so the search counts generated shifts only.
   */
  target: number;
  /** 1 on days worked by a fixed shift: no shift may be generated, the day counts as worked. */
  fixedDay: Uint8Array;
  /**
   * Minutes of fixed shifts on the days of the Monday–Sunday week a day belongs to, inside the
   * horizon or outside it: the maximum per week binds every week overlapping the horizon, the
   * minimum every week ending inside it (the bookings on its days before day 0 count).
   */
  fixedWeek: Int32Array;
  before: RunBefore;
  after: RunAfter;
  /** The fixed shifts alone exceed a maximum (minutes, minutes of a week, a type's cap): no row is feasible. */
  infeasible: boolean;
}

export interface Prep {
  D: number;
  T: number;
  E: number;
  dur: Int32Array;
  /** Weekend number for Saturday/Sunday days, -1 otherwise. */
  weekend: Int32Array;
  isSunday: Uint8Array;
  isMonday: Uint8Array;
  /**
   * 1 when the day's Monday–Sunday week ends inside the horizon (its Sunday is a horizon day): the
   * weeks whose minimum this horizon judges, on their Sunday, a week that started before day 0
   * included (its fixed minutes before the horizon are in fixedWeek). A week ending after the
   * horizon is judged by the next period (model.ts, EmployeeSpec.minWeekMinutes). The maximum
   * binds every week.
   */
  weekEndsInside: Uint8Array;
  req: Int32Array;
  wUnder: Float64Array;
  wOver: Float64Array;
  emps: EmpPrep[];
  fairHours: number;
  fairWeekends: number;
}

export function prepare(instance: Instance): Prep {
  const D = instance.days;
  const T = instance.shiftTypes.length;
  const E = instance.employees.length;
  const dur = Int32Array.from(instance.shiftTypes.map((s) => s.durationMinutes));
  const weekend = new Int32Array(D);
  const isSunday = new Uint8Array(D);
  const isMonday = new Uint8Array(D);
  const weekEndsInside = new Uint8Array(D);
  for (let d = 0; d < D; d++) {
    weekend[d] = weekendOf(instance, d);
    isSunday[d] = weekdayOf(instance, d) === 6 ? 1 : 0;
    isMonday[d] = weekdayOf(instance, d) === 0 ? 1 : 0;
    weekEndsInside[d] = d + 6 - weekdayOf(instance, d) < D ? 1 : 0;
  }
  const req = new Int32Array(D * T);
  const wUnder = new Float64Array(D * T);
  const wOver = new Float64Array(D * T);
  for (let d = 0; d < D; d++)
    for (let t = 0; t < T; t++) {
      const c = instance.cover[d]?.[t];
      req[d * T + t] = c?.requirement ?? 0;
      wUnder[d * T + t] = c?.weightUnder ?? 0;
      wOver[d * T + t] = c?.weightOver ?? 0;
    }
  const w = instance.weights;
  // The table depends on the minimum rest alone (successions and clock changes are the
  // instance's): one per distinct value, shared read-only by the employees that have it — D·T²
  // bytes each (372 KB for a year of 32 types), not per employee.
  const forbidByRest = new Map<number, Uint8Array>();
  const forbidNextFor = (minRest: number): Uint8Array => {
    let table = forbidByRest.get(minRest);
    if (table !== undefined) return table;
    table = new Uint8Array(D * T * T);
    for (let d = 0; d < D; d++)
      instance.shiftTypes.forEach((s, a) => {
        const end = d * 1440 + s.startMinute + s.durationMinutes;
        for (let b = 0; b < T; b++) {
          const rest = realMinutes(instance, end, (d + 1) * 1440 + (instance.shiftTypes[b]?.startMinute ?? 0));
          if (s.cannotFollow.includes(b) || rest < minRest) table[(d * T + a) * T + b] = 1;
        }
      });
    forbidByRest.set(minRest, table);
    return table;
  };
  const emps = instance.employees.map((emp): EmpPrep => {
    const fixed = emp.fixed ?? [];
    const fixedDay = new Uint8Array(D);
    const fixedWeek = new Int32Array(D);
    const typeCap = Int32Array.from(emp.maxShiftsPerType);
    let fixedMinutes = 0;
    for (const f of fixed) {
      if (f.day < 0 || f.day >= D) continue;
      fixedDay[f.day] = 1;
      fixedMinutes += f.durationMinutes;
      if (f.type !== null) typeCap[f.type] = (typeCap[f.type] as number) - 1;
    }
    // Every week overlapping the horizon, from the Monday on or before day 0; its days outside
    // the horizon count their fixed shifts too (the load reads the whole edge weeks).
    for (let a = 0 - instance.firstWeekday; a < D; a += 7) {
      let m = 0;
      for (const f of fixed) if (f.day >= a && f.day <= a + 6) m += f.durationMinutes;
      fixedWeek.fill(m, Math.max(0, a), Math.min(D, a + 7));
    }
    const maxWeek = emp.maxWeekMinutes ?? -1;
    const allowed = new Uint8Array(D * T);
    for (let d = 0; d < D; d++)
      for (let t = 0; t < T; t++)
        allowed[d * T + t] =
          emp.allowed[d]?.[t] === true && (emp.maxShiftsPerType[t] ?? 0) > 0 && !clashesWithFixed(instance, emp, d, t) ? 1 : 0;
    const forbidNext = forbidNextFor(emp.minRestMinutes);
    const cell = new Float64Array(D * (T + 1));
    for (let d = 0; d < D; d++)
      for (let t = 0; t < T; t++) {
        const s = instance.shiftTypes[t];
        cell[d * (T + 1) + t] = (w.cost * emp.hourlyCost * (s?.payMultiplier ?? 1) * (s?.durationMinutes ?? 0)) / 60;
      }
    return {
      allowed,
      forbidNext,
      maxCons: emp.maxConsecutiveWorkDays,
      minCons: emp.minConsecutiveWorkDays,
      minOff: emp.minConsecutiveDaysOff,
      maxWeekends: emp.maxWeekends,
      maxMinutes: emp.maxTotalMinutes - fixedMinutes,
      minMinutes: Math.max(0, emp.minTotalMinutes - fixedMinutes),
      maxWeekMinutes: maxWeek,
      minWeekMinutes: emp.minWeekMinutes ?? -1,
      minWeekFrom: firstWeekKnown(instance, emp) ? 0 : 7 - instance.firstWeekday,
      typeCap,
      cell,
      target: targetMinutesOf(emp) - fixedMinutes,
      fixedDay,
      fixedWeek,
      before: runBefore(emp),
      after: runAfter(emp, D),
      infeasible: emp.maxTotalMinutes < fixedMinutes || typeCap.some((c) => c < 0) || (maxWeek >= 0 && fixedWeek.some((m) => m > maxWeek)),
    };
  });
  for (const r of instance.requests) {
    const ep = emps[r.employee];
    if (!ep) continue;
    const base = r.day * (T + 1);
    for (let c = 0; c <= T; c++) {
      const matches = c < T && (r.type === null || r.type === c);
      if (r.on !== matches) ep.cell[base + c] = (ep.cell[base + c] ?? 0) + r.weight;
    }
  }
  return {
    D,
    T,
    E,
    dur,
    weekend,
    isSunday,
    isMonday,
    weekEndsInside,
    req,
    wUnder,
    wOver,
    emps,
    fairHours: w.fairnessHours,
    fairWeekends: w.fairnessWeekends,
  };
}

/**
 * A shift of type t on day d would share its day with a fixed shift, overlap one or rest too
 * little next to one (before or after it, at any distance), or form a forbidden succession with
 * one on the neighbouring day.
 */
function clashesWithFixed(instance: Instance, emp: EmployeeSpec, d: number, t: number): boolean {
  const s = instance.shiftTypes[t];
  if (!s) return true;
  const start = d * 1440 + s.startMinute;
  const end = start + s.durationMinutes;
  for (const f of emp.fixed ?? []) {
    if (f.day === d) return true;
    const fStart = f.day * 1440 + f.startMinute;
    const rest = fStart >= start ? realMinutes(instance, end, fStart) : realMinutes(instance, fStart + f.durationMinutes, start);
    if (rest < emp.minRestMinutes) return true;
    if (f.type === null) continue;
    if (f.day === d - 1 && instance.shiftTypes[f.type]?.cannotFollow.includes(t)) return true;
    if (f.day === d + 1 && s.cannotFollow.includes(f.type)) return true;
  }
  return false;
}

function fixedDays(emp: EmployeeSpec): Set<number> {
  return new Set((emp.fixed ?? []).map((f) => f.day));
}

function runBefore(emp: EmployeeSpec): RunBefore {
  const known = emp.knownDaysBefore ?? 0;
  if (known === 0) return { edge: true, worked: false, run: 0, init: true };
  const days = fixedDays(emp);
  const worked = days.has(-1);
  let run = 0;
  while (run < known && days.has(-1 - run) === worked) run++;
  return { edge: false, worked, run, init: run === known };
}

function runAfter(emp: EmployeeSpec, D: number): RunAfter {
  const known = emp.knownDaysAfter ?? 0;
  if (known === 0) return { edge: true, worked: false, run: 0, closed: false };
  const days = fixedDays(emp);
  const worked = days.has(D);
  let run = 0;
  while (run < known && days.has(D + run) === worked) run++;
  return { edge: false, worked, run, closed: run < known };
}

/**
 * Whether a row whose last day ends a run (worked or off, `run` days long, `init`: reaching the
 * first known day) fits the known days after the horizon: a run continuing into them is judged
 * on its whole length; a run ended by them must reach its minimum, and so must their first run,
 * which the row's last day bounds.
 */
export function endFeasible(ep: EmpPrep, lastWorked: boolean, run: number, init: boolean): boolean {
  const a = ep.after;
  if (a.edge) return true;
  if (lastWorked === a.worked) {
    const len = run + a.run;
    if (lastWorked && len > ep.maxCons) return false;
    return !a.closed || init || len >= (lastWorked ? ep.minCons : ep.minOff);
  }
  if (!init && run < (lastWorked ? ep.minCons : ep.minOff)) return false;
  return !a.closed || a.run >= (a.worked ? ep.minCons : ep.minOff);
}

/** Penalty of one cover cell holding n people. */
export function coverCell(p: Prep, i: number, n: number): number {
  const r = p.req[i] ?? 0;
  return n < r ? (p.wUnder[i] ?? 0) * (r - n) : (p.wOver[i] ?? 0) * (n - r);
}

/** Requests + fairness + labour cost of one employee's row (the part independent of others). */
export function rowPenalty(p: Prep, e: number, row: Int16Array, off: number): number {
  const ep = p.emps[e] as EmpPrep;
  const T = p.T;
  let pen = 0;
  let minutes = 0;
  let weekends = 0;
  let lastWeekend = -1;
  for (let d = 0; d < p.D; d++) {
    const t = row[off + d] as number;
    if (t < 0) {
      pen += ep.cell[d * (T + 1) + T] as number;
    } else {
      pen += ep.cell[d * (T + 1) + t] as number;
      minutes += p.dur[t] as number;
    }
    if (t >= 0 || ep.fixedDay[d]) {
      const we = p.weekend[d] as number;
      if (we >= 0 && we !== lastWeekend) {
        weekends++;
        lastWeekend = we;
      }
    }
  }
  return pen + terminalPenalty(p, ep, minutes, weekends);
}

export function terminalPenalty(p: Prep, ep: EmpPrep, minutes: number, weekends: number): number {
  return (p.fairHours * Math.abs(minutes - ep.target)) / 60 + p.fairWeekends * weekends * weekends;
}

/**
 * Fast hard-rule test of one employee's row (the search's own; check.ts is the independent one).
 * Mirrors the DP (dp.ts): fixed days count as worked, runs start from `before` and end against
 * `after`.
 */
export function rowFeasible(p: Prep, e: number, row: Int16Array, off: number): boolean {
  const ep = p.emps[e] as EmpPrep;
  if (ep.infeasible) return false;
  const T = p.T;
  const D = p.D;
  let minutes = 0;
  let week = 0;
  let weekends = 0;
  let lastWeekend = -1;
  const counts = new Int32Array(T);
  let lastWorked = ep.before.worked;
  let run = ep.before.run;
  let init = ep.before.init;
  let prev = -1;
  for (let d = 0; d < D; d++) {
    const t = row[off + d] as number;
    if (p.isMonday[d]) week = 0;
    const working = t >= 0 || ep.fixedDay[d] === 1;
    if (working !== lastWorked) {
      if (!init && run < (lastWorked ? ep.minCons : ep.minOff)) return false;
      run = 1;
      init = d === 0 && ep.before.edge;
    } else run++;
    if (working && run > ep.maxCons) return false;
    if (t >= 0) {
      if (!ep.allowed[d * T + t]) return false;
      if (prev >= 0 && ep.forbidNext[((d - 1) * T + prev) * T + t]) return false;
      const c = (counts[t] as number) + 1;
      if (c > (ep.typeCap[t] as number)) return false;
      counts[t] = c;
      const du = p.dur[t] as number;
      minutes += du;
      week += du;
      if (ep.maxWeekMinutes >= 0 && week + (ep.fixedWeek[d] as number) > ep.maxWeekMinutes) return false;
    }
    if (working) {
      const we = p.weekend[d] as number;
      if (we >= 0 && we !== lastWeekend) {
        weekends++;
        lastWeekend = we;
      }
    }
    // The minimum of the week this Sunday closes, with its fixed minutes (before day 0 too).
    if (p.isSunday[d] && d >= ep.minWeekFrom && ep.minWeekMinutes >= 0 && week + (ep.fixedWeek[d] as number) < ep.minWeekMinutes) return false;
    lastWorked = working;
    prev = t;
  }
  if (!endFeasible(ep, lastWorked, run, init)) return false;
  return minutes <= ep.maxMinutes && minutes >= ep.minMinutes && weekends <= ep.maxWeekends;
}
