import { type Assignment, type Instance, targetMinutesOf, weekendOf } from './model.ts';

/** Soft penalties of a roster (lower is better). */
export interface ScoreBreakdown {
  /** Σ weightUnder × shortfall over days and shift types. */
  coverUnder: number;
  /** Σ weightOver × excess over days and shift types. */
  coverOver: number;
  /** Σ weight of on-requests not granted. */
  onRequests: number;
  /** Σ weight of off-requests broken. */
  offRequests: number;
  /** Hours deviation from target and weekends², weighted (see SoftWeights). */
  fairness: number;
  /** Labour cost, weighted. */
  cost: number;
  total: number;
}

export interface OpenSlot {
  day: number;
  type: number;
  /** People missing on that day and shift type. */
  missing: number;
}

export function coverCounts(instance: Instance, assignment: Assignment): number[][] {
  const counts = Array.from({ length: instance.days }, () => new Array<number>(instance.shiftTypes.length).fill(0));
  for (const row of assignment)
    row.forEach((t, d) => {
      const c = counts[d];
      if (t != null && c && t < c.length) c[t] = (c[t] ?? 0) + 1;
    });
  return counts;
}

export function openSlots(instance: Instance, assignment: Assignment): OpenSlot[] {
  const counts = coverCounts(instance, assignment);
  const out: OpenSlot[] = [];
  instance.cover.forEach((row, d) =>
    row.forEach((c, t) => {
      const missing = c.requirement - (counts[d]?.[t] ?? 0);
      if (missing > 0) out.push({ day: d, type: t, missing });
    }),
  );
  return out;
}

export function scoreAssignment(instance: Instance, assignment: Assignment): ScoreBreakdown {
  const counts = coverCounts(instance, assignment);
  let coverUnder = 0;
  let coverOver = 0;
  instance.cover.forEach((row, d) =>
    row.forEach((c, t) => {
      const n = counts[d]?.[t] ?? 0;
      if (n < c.requirement) coverUnder += c.weightUnder * (c.requirement - n);
      else coverOver += c.weightOver * (n - c.requirement);
    }),
  );
  let onRequests = 0;
  let offRequests = 0;
  for (const r of instance.requests) {
    const t = assignment[r.employee]?.[r.day] ?? null;
    const matches = t != null && (r.type === null || r.type === t);
    if (r.on && !matches) onRequests += r.weight;
    if (!r.on && matches) offRequests += r.weight;
  }
  let fairness = 0;
  let cost = 0;
  const w = instance.weights;
  instance.employees.forEach((emp, e) => {
    const row = assignment[e] ?? [];
    let minutes = 0;
    let money = 0;
    const weekends = new Set<number>();
    // Fixed shifts inside the horizon count toward the hours and weekends the fairness term
    // measures (as toward the limits); their cost is not the roster's.
    for (const f of emp.fixed ?? []) {
      if (f.day < 0 || f.day >= instance.days) continue;
      minutes += f.durationMinutes;
      const we = weekendOf(instance, f.day);
      if (we >= 0) weekends.add(we);
    }
    row.forEach((t, d) => {
      if (t == null) return;
      const s = instance.shiftTypes[t];
      if (!s) return;
      minutes += s.durationMinutes;
      money += (emp.hourlyCost * (s.payMultiplier ?? 1) * s.durationMinutes) / 60;
      const we = weekendOf(instance, d);
      if (we >= 0) weekends.add(we);
    });
    fairness += (w.fairnessHours * Math.abs(minutes - targetMinutesOf(emp))) / 60 + w.fairnessWeekends * weekends.size ** 2;
    cost += w.cost * money;
  });
  return {
    coverUnder,
    coverOver,
    onRequests,
    offRequests,
    fairness,
    cost,
    total: coverUnder + coverOver + onRequests + offRequests + fairness + cost,
  };
}
