/**
 * Flat, typed-array view of an instance used by the search (dp.ts, solve.ts). Rows are
 * Int16Array of length D with -1 for a day off.
 */
import { type Instance, fullWeeks, restMinutes, targetMinutesOf, weekdayOf, weekendOf } from './model.ts';

export const OFF = -1;

export interface EmpPrep {
  /** allowed[d*T + t] */
  allowed: Uint8Array;
  /** forbidNext[a*T + b]: b may not be worked the day after a (succession or rest). */
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
  typeCap: Int32Array;
  /** cell[d*(T+1) + c] request + labour-cost penalty of choice c on day d (c = T for off). */
  cell: Float64Array;
  target: number;
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
  /** 1 when the day belongs to a Monday–Sunday week fully inside the horizon. */
  inFullWeek: Uint8Array;
  /** 1 when the day is the Sunday closing a full week. */
  closesFullWeek: Uint8Array;
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
  const inFullWeek = new Uint8Array(D);
  const closesFullWeek = new Uint8Array(D);
  for (let d = 0; d < D; d++) {
    weekend[d] = weekendOf(instance, d);
    isSunday[d] = weekdayOf(instance, d) === 6 ? 1 : 0;
    isMonday[d] = weekdayOf(instance, d) === 0 ? 1 : 0;
  }
  for (const [a, b] of fullWeeks(instance)) {
    for (let d = a; d <= b; d++) inFullWeek[d] = 1;
    closesFullWeek[b] = 1;
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
  const emps = instance.employees.map((emp): EmpPrep => {
    const allowed = new Uint8Array(D * T);
    for (let d = 0; d < D; d++)
      for (let t = 0; t < T; t++)
        allowed[d * T + t] = emp.allowed[d]?.[t] === true && (emp.maxShiftsPerType[t] ?? 0) > 0 ? 1 : 0;
    const forbidNext = new Uint8Array(T * T);
    instance.shiftTypes.forEach((s, a) => {
      for (let b = 0; b < T; b++)
        if (s.cannotFollow.includes(b) || restMinutes(instance, a, b, 1) < emp.minRestMinutes) forbidNext[a * T + b] = 1;
    });
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
      maxMinutes: emp.maxTotalMinutes,
      minMinutes: emp.minTotalMinutes,
      maxWeekMinutes: emp.maxWeekMinutes ?? -1,
      minWeekMinutes: emp.minWeekMinutes ?? -1,
      typeCap: Int32Array.from(emp.maxShiftsPerType),
      cell,
      target: targetMinutesOf(emp),
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
    inFullWeek,
    closesFullWeek,
    req,
    wUnder,
    wOver,
    emps,
    fairHours: w.fairnessHours,
    fairWeekends: w.fairnessWeekends,
  };
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
 */
export function rowFeasible(p: Prep, e: number, row: Int16Array, off: number): boolean {
  const ep = p.emps[e] as EmpPrep;
  const T = p.T;
  const D = p.D;
  let minutes = 0;
  let week = 0;
  let weekends = 0;
  let lastWeekend = -1;
  const counts = new Int32Array(T);
  let runStart = 0;
  let prev = -2;
  for (let d = 0; d < D; d++) {
    const t = row[off + d] as number;
    if (p.isMonday[d]) week = 0;
    const working = t >= 0;
    if (d > 0 && working !== prev >= 0) {
      // run [runStart, d-1] ended
      const len = d - runStart;
      if (runStart > 0) {
        if (prev >= 0 ? len < ep.minCons : len < ep.minOff) return false;
      }
      runStart = d;
    }
    if (working) {
      if (!ep.allowed[d * T + t]) return false;
      if (prev >= 0 && ep.forbidNext[prev * T + t]) return false;
      if (d - runStart + 1 > ep.maxCons) return false;
      const c = (counts[t] as number) + 1;
      if (c > (ep.typeCap[t] as number)) return false;
      counts[t] = c;
      const du = p.dur[t] as number;
      minutes += du;
      if (p.inFullWeek[d]) week += du;
      const we = p.weekend[d] as number;
      if (we >= 0 && we !== lastWeekend) {
        weekends++;
        lastWeekend = we;
      }
    }
    if (p.closesFullWeek[d]) {
      if (ep.maxWeekMinutes >= 0 && week > ep.maxWeekMinutes) return false;
      if (ep.minWeekMinutes >= 0 && week < ep.minWeekMinutes) return false;
    }
    prev = t;
  }
  return minutes <= ep.maxMinutes && minutes >= ep.minMinutes && weekends <= ep.maxWeekends;
}
