/**
 * Exact best roster for one employee against given per-day choice costs: a resource-constrained
 * shortest path over days. Labels carry every resource a hard rule needs (last type, current run
 * length, whether the run started on day 0 (edge rule), minutes, weekends, counts of the types
 * whose cap can bind, minutes this week); labels with equal resources are merged keeping the
 * cheapest, which is exact because all constraints and the terminal cost depend on the resources
 * only. The state space is dense-indexed (it is small: ~30k states for a 28-day, 3-type case).
 */
import { type EmpPrep, OFF, type Prep, endFeasible, terminalPenalty } from './prep.ts';

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

interface Layout {
  unit: number;
  /** Values of `last`: types 0..T-1, T = off, T+1 = a fixed shift (only when the employee has fixed days). */
  LAST: number;
  /** Per day: bounds on the week's generated minutes (units), the week's fixed minutes (inside and outside the horizon) taken off. */
  weekMaxU: Int32Array;
  weekMinU: Int32Array;
  R: number;
  workCap: number;
  offCap: number;
  W1: number;
  binding: number[];
  bindingCap: number[];
  tcRadix: number[];
  TC: number;
  WM: number;
  M: number;
  S: number;
  weekTracked: boolean;
  maxWeekU: number;
  minWeekU: number;
  minU: number;
  maxU: number;
  durU: Int32Array;
  maxDurU: number;
}

export class DpWorkspace {
  readonly layout: Layout;
  /** stamp[key] === gen ⇒ slot[key] is valid for the layer being built */
  private readonly stamp: Int32Array;
  private readonly slot: Int32Array;
  private readonly suffix: Float64Array;
  private gen = 0;
  // Labels of all layers, flat.
  private last: number[] = [];
  private run: number[] = [];
  private init: number[] = [];
  private wk: number[] = [];
  private tc: number[] = [];
  private wm: number[] = [];
  private min: number[] = [];
  private cost: number[] = [];
  private parent: number[] = [];
  private choice: number[] = [];

  constructor(p: Prep, ep: EmpPrep) {
    const T = p.T;
    let unit = 0;
    const allowedDays = new Int32Array(T);
    for (let d = 0; d < p.D; d++) for (let t = 0; t < T; t++) if (ep.allowed[d * T + t]) allowedDays[t]! += 1;
    let maxDur = 0;
    for (let t = 0; t < T; t++)
      if ((allowedDays[t] as number) > 0) {
        unit = gcd(unit, p.dur[t] as number);
        maxDur = Math.max(maxDur, p.dur[t] as number);
      }
    if (unit === 0) unit = 1;
    const durU = new Int32Array(T);
    for (let t = 0; t < T; t++) durU[t] = Math.floor((p.dur[t] as number) / unit);
    const binding: number[] = [];
    const bindingCap: number[] = [];
    for (let t = 0; t < T; t++)
      if ((allowedDays[t] as number) > 0 && (ep.typeCap[t] as number) < (allowedDays[t] as number)) {
        binding.push(t);
        bindingCap.push(Math.max(0, ep.typeCap[t] as number));
      }
    const tcRadix = bindingCap.map((c) => c + 1);
    const TC = tcRadix.reduce((a, b) => a * b, 1);
    const workCap = Math.max(ep.maxCons, ep.minCons, 1);
    const offCap = Math.max(ep.minOff, 1);
    const R = Math.max(workCap, offCap) + 1;
    const W1 = ep.maxWeekends + 1;
    const weekTracked = ep.maxWeekMinutes >= 0 || ep.minWeekMinutes >= 0;
    const maxWeekU = ep.maxWeekMinutes >= 0 ? Math.floor(ep.maxWeekMinutes / unit) : Math.floor((7 * maxDur) / unit);
    const minWeekU = ep.minWeekMinutes >= 0 ? Math.ceil(ep.minWeekMinutes / unit) : 0;
    const WM = weekTracked ? maxWeekU + 1 : 1;
    const maxU = Math.min(Math.floor(ep.maxMinutes / unit), Math.floor((p.D * maxDur) / unit));
    const M = Math.max(1, maxU + 1);
    const LAST = ep.fixedDay.includes(1) ? T + 2 : T + 1;
    const S = LAST * R * 2 * W1 * TC * WM * M;
    const weekMaxU = new Int32Array(p.D);
    const weekMinU = new Int32Array(p.D);
    for (let d = 0; d < p.D; d++) {
      const fw = ep.fixedWeek[d] as number;
      weekMaxU[d] = ep.maxWeekMinutes >= 0 ? Math.floor((ep.maxWeekMinutes - fw) / unit) : maxWeekU;
      weekMinU[d] = ep.minWeekMinutes >= 0 ? Math.ceil((ep.minWeekMinutes - fw) / unit) : 0;
    }
    if (!(S < 2 ** 26)) throw new Error(`DP state space too large (${S}) for one employee`);
    this.layout = {
      unit,
      LAST,
      weekMaxU,
      weekMinU,
      R,
      workCap,
      offCap,
      W1,
      binding,
      bindingCap,
      tcRadix,
      TC,
      WM,
      M,
      S,
      weekTracked,
      maxWeekU,
      minWeekU,
      minU: Math.ceil(ep.minMinutes / unit),
      maxU,
      durU,
      maxDurU: Math.floor(maxDur / unit),
    };
    this.stamp = new Int32Array(S);
    this.slot = new Int32Array(S);
    this.suffix = new Float64Array(p.D);
  }

  /**
   * Writes the cheapest feasible row into out[off..off+D) and returns its cost (choice costs +
   * terminal penalty), or returns +Infinity (out untouched) when the employee has no feasible row.
   * choiceCost[d*(T+1)+c]: cost of choice c on day d, c = T meaning a day off.
   * With `fixed`, days outside [winStart, winEnd) keep the choice fixed[fixedOff + d].
   * `ub`: cost of a known feasible row; labels that cannot finish at or below it are pruned
   * (bound: cheapest allowed choice on every remaining day, terminal penalty ≥ 0).
   */
  solve(
    p: Prep,
    ep: EmpPrep,
    choiceCost: Float64Array,
    out: Int16Array,
    off: number,
    fixed: Int16Array | null = null,
    fixedOff = 0,
    winStart = 0,
    winEnd = p.D,
    ub = Number.POSITIVE_INFINITY,
  ): number {
    if (ep.infeasible) return Number.POSITIVE_INFINITY;
    const L = this.layout;
    const { D, T } = p;
    const { R, W1, TC, WM, M, workCap, offCap, durU, binding, tcRadix } = L;
    const nb = binding.length;
    // Which binding slot (if any) each type occupies, and its place value in the tc code.
    const bindIdx = new Int32Array(T).fill(-1);
    const place = new Int32Array(Math.max(nb, 1));
    {
      let pv = 1;
      for (let k = 0; k < nb; k++) {
        bindIdx[binding[k] as number] = k;
        place[k] = pv;
        pv *= tcRadix[k] as number;
      }
    }
    const lastA = this.last;
    const runA = this.run;
    const initA = this.init;
    const wkA = this.wk;
    const tcA = this.tc;
    const wmA = this.wm;
    const minA = this.min;
    const costA = this.cost;
    const parA = this.parent;
    const chA = this.choice;
    let n = 0;
    const stamp = this.stamp;
    const slot = this.slot;

    // suffix[d] = Σ_{k>d} cheapest choice allowed on day k (respecting fixed days).
    let limit = Number.POSITIVE_INFINITY;
    const suffix = this.suffix;
    if (ub < Number.POSITIVE_INFINITY) {
      let acc = 0;
      for (let d = D - 1; d >= 0; d--) {
        suffix[d] = acc;
        const forcedD = fixed !== null && (d < winStart || d >= winEnd) ? (fixed[fixedOff + d] as number) : -2;
        let m = forcedD === -2 || forcedD === OFF ? (choiceCost[d * (T + 1) + T] as number) : Number.POSITIVE_INFINITY;
        for (let t = 0; t < T; t++)
          if (ep.allowed[d * T + t] && (forcedD === -2 || forcedD === t)) m = Math.min(m, choiceCost[d * (T + 1) + t] as number);
        acc += m;
      }
    }
    const push = (
      last: number,
      run: number,
      init: number,
      wk: number,
      tc: number,
      wm: number,
      mins: number,
      cost: number,
      parent: number,
      ch: number,
    ): void => {
      if (cost > limit) return;
      const key = ((((((last * R + run) * 2 + init) * W1 + wk) * TC + tc) * WM + wm) * M) + mins;
      if (stamp[key] === this.gen) {
        const s = slot[key] as number;
        if (cost < (costA[s] as number)) {
          costA[s] = cost;
          parA[s] = parent;
          chA[s] = ch;
        }
        return;
      }
      stamp[key] = this.gen;
      slot[key] = n;
      lastA[n] = last;
      runA[n] = run;
      initA[n] = init;
      wkA[n] = wk;
      tcA[n] = tc;
      wmA[n] = wm;
      minA[n] = mins;
      costA[n] = cost;
      parA[n] = parent;
      chA[n] = ch;
      n++;
    };

    const allowed = ep.allowed;
    const forbid = ep.forbidNext;
    const minU = L.minU;
    const maxU = L.maxU;
    const maxDurU = L.maxDurU;
    const weekTracked = L.weekTracked;
    const maxW = ep.maxWeekends;
    const T1 = T + 1;

    // The start label: the run ending on the day before day 0 (from the known days before the
    // horizon), or, when nothing is known, an off run long enough for anything and touching the edge.
    const before = ep.before;
    const FIXED = T + 1;
    this.gen++;
    if (before.edge) {
      lastA[0] = T;
      runA[0] = offCap;
    } else {
      lastA[0] = before.worked ? FIXED : T;
      runA[0] = Math.min(before.run, before.worked ? workCap : offCap);
    }
    initA[0] = before.init ? 1 : 0;
    wkA[0] = 0;
    tcA[0] = 0;
    wmA[0] = 0;
    minA[0] = 0;
    costA[0] = 0;
    parA[0] = -1;
    chA[0] = T;
    n = 1;
    let layerStart = 0;
    let layerEnd = n;
    const weekMaxU = L.weekMaxU;
    const weekMinU = L.weekMinU;

    for (let d = 0; d < D; d++) {
      this.gen++;
      if (ub < Number.POSITIVE_INFINITY) limit = ub - (suffix[d] as number) + 1e-7;
      const remain = (D - 1 - d) * maxDurU;
      const isWe = (p.weekend[d] as number) >= 0;
      const sunday = p.isSunday[d] === 1;
      const monday = p.isMonday[d] === 1;
      // A maximum per week binds every week overlapping the horizon, a minimum every week ending
      // inside it, judged on its Sunday (a week that started before day 0 included); the week's
      // fixed minutes, outside the horizon too, are already off wMax and wMin.
      const inWeek = weekTracked && (ep.maxWeekMinutes >= 0 || p.weekEndsInside[d] === 1);
      const closes = weekTracked && sunday && d >= ep.minWeekFrom;
      const wMax = weekMaxU[d] as number;
      const wMin = weekMinU[d] as number;
      const offCost = choiceCost[d * T1 + T] as number;
      const base = d * T1;
      const fixedDay = ep.fixedDay[d] === 1;
      const forbidBase = (d - 1) * T * T;
      const forced = fixed !== null && (d < winStart || d >= winEnd) ? (fixed[fixedOff + d] as number) : -2;
      const offOk = !fixedDay && (forced === -2 || forced === OFF);
      const workOk = fixedDay || forced !== OFF;
      // A run of working days starting today touches the horizon's edge when nothing is known before it.
      const startInit = d === 0 && before.edge ? 1 : 0;
      for (let i = layerStart; i < layerEnd; i++) {
        const last = lastA[i] as number;
        const run = runA[i] as number;
        const init = initA[i] as number;
        const wk = wkA[i] as number;
        const tc = tcA[i] as number;
        const wmPrev = monday ? 0 : (wmA[i] as number);
        const mins = minA[i] as number;
        const cost = costA[i] as number;
        const lastWorked = last !== T;
        // Day off.
        if (offOk && mins + remain >= minU && !(closes && (wmPrev < wMin || wmPrev > wMax))) {
          if (lastWorked) {
            if (init || run >= ep.minCons) push(T, 1, 0, wk, tc, wmPrev, mins, cost + offCost, i, T);
          } else {
            push(T, run + 1 > offCap ? offCap : run + 1, init, wk, tc, wmPrev, mins, cost + offCost, i, T);
          }
        }
        // Work (a generated shift, or the fixed shift of a fixed day).
        if (!workOk) continue;
        let nrun: number;
        let ninit: number;
        if (lastWorked) {
          nrun = run + 1;
          ninit = init;
        } else {
          if (!init && run < ep.minOff) continue;
          nrun = 1;
          ninit = startInit;
        }
        if (nrun > ep.maxCons || nrun > workCap) continue;
        let nwk = wk;
        if (isWe && !(sunday && lastWorked && d > 0)) {
          nwk = wk + 1;
          if (nwk > maxW) continue;
        }
        if (fixedDay) {
          // Its minutes, week minutes and type were taken off the limits up front (prep.ts).
          if (mins + remain < minU || (closes && (wmPrev < wMin || wmPrev > wMax))) continue;
          push(FIXED, nrun, ninit, nwk, tc, wmPrev, mins, cost + offCost, i, T);
          continue;
        }
        for (let t = 0; t < T; t++) {
          if (!allowed[d * T + t]) continue;
          if (forced >= 0 && forced !== t) continue;
          if (last < T && forbid[forbidBase + last * T + t]) continue;
          const du = durU[t] as number;
          const nm = mins + du;
          if (nm > maxU || nm + remain < minU) continue;
          let ntc = tc;
          const bi = bindIdx[t] as number;
          if (bi >= 0) {
            const pv = place[bi] as number;
            const cnt = Math.floor(tc / pv) % (tcRadix[bi] as number);
            if (cnt + 1 >= (tcRadix[bi] as number)) continue;
            ntc = tc + pv;
          }
          let nwm = wmPrev;
          if (inWeek) {
            nwm = wmPrev + du;
            if (nwm > wMax) continue;
            if (closes && nwm < wMin) continue;
          }
          push(t, nrun, ninit, nwk, ntc, nwm, nm, cost + (choiceCost[base + t] as number), i, t);
        }
      }
      layerStart = layerEnd;
      layerEnd = n;
    }

    // Terminal: the final run against the known days after the horizon (none known: exempt).
    let best = -1;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let i = layerStart; i < layerEnd; i++) {
      const mins = minA[i] as number;
      if (mins < minU) continue;
      if (!endFeasible(ep, (lastA[i] as number) !== T, runA[i] as number, initA[i] === 1)) continue;
      const c = (costA[i] as number) + terminalPenalty(p, ep, mins * L.unit, wkA[i] as number);
      if (c < bestCost) {
        bestCost = c;
        best = i;
      }
    }
    if (best < 0) return Number.POSITIVE_INFINITY;
    let i = best;
    for (let d = D - 1; d >= 0; d--) {
      const ch = chA[i] as number;
      out[off + d] = ch === T ? OFF : ch;
      i = parA[i] as number;
    }
    return bestCost;
  }
}
