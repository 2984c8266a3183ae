// Reference data of the seed, planned in memory from the PRNG before anything is written: the
// department tree, contracts, employees with their department history, availability, time off,
// shift templates. Ids are filled in as the rows are written.
import type { Rng } from './prng.ts';
import { toDay } from './calendar.ts';
import {
  asciiSlug, CITIES, FIRST_NAMES, LAST_NAMES, MOVE_REASONS, REGIONS, SITE_KINDS, SKILLS, TIME_OFF_REASONS, TIME_ZONES, UNIT_KINDS,
} from './words.ts';
import type { SeedOptions } from './options.ts';

export type Dept = {
  idx: number;
  name: string;
  parent: number | null;
  level: number;
  tz: string;
  active: boolean;
  /** Has staff, shift templates, demand and schedules (sites and active units). */
  operational: boolean;
  id: string;
};

export type Contract = {
  name: string;
  max_minutes_per_period: number;
  min_minutes_per_period: number;
  max_minutes_per_week: number | null;
  min_minutes_per_week: number | null;
  max_consecutive_days: number;
  min_consecutive_days: number;
  min_consecutive_days_off: number;
  max_weekends_per_period: number;
  min_rest_minutes: number;
  id: string;
};

export type Move = { day: number; from: number | null; to: number; reason: string };

export type Emp = {
  idx: number;
  email: string;
  first: string;
  last: string;
  role: 'admin' | 'manager' | 'employee';
  /** Current department (index into depts): where the last history row points. */
  dept: number;
  contract: number;
  hireDay: number;
  rate: string;
  skills: string[];
  skillMask: number;
  active: boolean;
  passwordHash: string | null;
  createdAt: string;
  /** Hiring row first, then moves in date order; the last `to` is `dept`. */
  history: Move[];
  id: string;
};

/** Template kinds, in the order they run through a day. */
export const KINDS = [
  { code: 'E', name: 'Early', start: '06:00', end: '14:00', skills: [] as string[], pay: '1.000', share: 0.36 },
  { code: 'D', name: 'Long day', start: '07:00', end: '19:00', skills: ['supervisor'], pay: '1.150', share: 0.1 },
  { code: 'L', name: 'Late', start: '14:00', end: '22:00', skills: [] as string[], pay: '1.100', share: 0.32 },
  { code: 'N', name: 'Night', start: '22:00', end: '06:00', skills: ['night-cert'], pay: '1.250', share: 0.22 },
] as const;
export type KindIdx = 0 | 1 | 2 | 3;
export const KIND_E = 0, KIND_D = 1, KIND_L = 2, KIND_N = 3;
/** Forbidden successions (yesterday's kind → today's kind): too little rest in between. */
export const FORBIDDEN: ReadonlyArray<readonly [number, number]> = [[KIND_N, KIND_E], [KIND_N, KIND_D], [KIND_L, KIND_E]];

export type Template = { dept: number; kind: KindIdx; id: string };

export function skillMaskOf(skills: readonly string[]): number {
  let m = 0;
  for (const s of skills) {
    const i = (SKILLS as readonly string[]).indexOf(s);
    if (i >= 0) m |= 1 << i;
  }
  return m;
}

export function planDepartments(rng: Rng, n: number): Dept[] {
  const depts: Dept[] = [];
  const names = new Set<string>();
  const unique = (name: string): string => {
    let candidate = name;
    for (let k = 2; names.has(candidate); k++) candidate = `${name} ${k}`;
    names.add(candidate);
    return candidate;
  };
  const add = (name: string, parent: number | null, level: number, tz: string, active: boolean, operational: boolean): Dept => {
    const d: Dept = { idx: depts.length, name: unique(name), parent, level, tz, active, operational, id: '' };
    depts.push(d);
    return d;
  };
  const regionCount = Math.max(1, Math.min(12, Math.round(Math.sqrt(n) / 2), n - 2));
  const rest = n - 1 - regionCount;
  const siteCount = Math.max(1, Math.ceil(rest / 4));
  const unitCount = rest - siteCount;
  const root = add('Rota Group', null, 1, 'Europe/London', true, false);
  const regions: Dept[] = [];
  for (let i = 0; i < regionCount; i++) {
    regions.push(add(`Region ${REGIONS[i % REGIONS.length]}`, root.idx, 2, TIME_ZONES[i % TIME_ZONES.length] ?? 'UTC', true, false));
  }
  const sites: { dept: Dept; city: string }[] = [];
  for (let j = 0; j < siteCount; j++) {
    const region = regions[j % regions.length] as Dept;
    const city = CITIES[j % CITIES.length] as string;
    sites.push({ dept: add(`${city} ${rng.pick(SITE_KINDS)}`, region.idx, 3, region.tz, true, true), city });
  }
  for (let k = 0; k < unitCount; k++) {
    // The first units go one per site so every site has a level-4 child before any gets two.
    const site = k < sites.length ? sites[k]! : rng.pick(sites);
    const active = k < sites.length || !rng.chance(0.05);
    add(`${site.city} ${rng.pick(UNIT_KINDS)}`, site.dept.idx, 4, site.dept.tz, active, active);
  }
  return depts;
}

export function planContracts(): Contract[] {
  const c = (name: string, o: Omit<Contract, 'name' | 'id'>): Contract => ({ name, ...o, id: '' });
  return [
    c('Full-time 40h', { max_minutes_per_period: 10560, min_minutes_per_period: 8640, max_minutes_per_week: 2880, min_minutes_per_week: 1920, max_consecutive_days: 6, min_consecutive_days: 1, min_consecutive_days_off: 1, max_weekends_per_period: 3, min_rest_minutes: 660 }),
    c('Part-time 24h', { max_minutes_per_period: 6720, min_minutes_per_period: 3840, max_minutes_per_week: 1920, min_minutes_per_week: null, max_consecutive_days: 5, min_consecutive_days: 1, min_consecutive_days_off: 2, max_weekends_per_period: 2, min_rest_minutes: 660 }),
    c('Nights 36h', { max_minutes_per_period: 9600, min_minutes_per_period: 7200, max_minutes_per_week: 2640, min_minutes_per_week: null, max_consecutive_days: 4, min_consecutive_days: 2, min_consecutive_days_off: 2, max_weekends_per_period: 2, min_rest_minutes: 720 }),
    c('Casual', { max_minutes_per_period: 5760, min_minutes_per_period: 0, max_minutes_per_week: null, min_minutes_per_week: null, max_consecutive_days: 5, min_consecutive_days: 1, min_consecutive_days_off: 1, max_weekends_per_period: 4, min_rest_minutes: 600 }),
    c('Manager', { max_minutes_per_period: 11520, min_minutes_per_period: 8640, max_minutes_per_week: 3000, min_minutes_per_week: 2100, max_consecutive_days: 6, min_consecutive_days: 1, min_consecutive_days_off: 1, max_weekends_per_period: 2, min_rest_minutes: 660 }),
  ];
}

export type PlannedPeople = {
  employees: Emp[];
  /** Department index → its manager's employee index. */
  managerOf: Map<number, number>;
  /** Employee indexes of the generated admins (the login admin is employees[0]). */
  admins: number[];
};

export function planEmployees(
  rng: Rng,
  o: SeedOptions & { adminEmail: string },
  depts: readonly Dept[],
  anchorDay: number,
  historyStartDay: number,
  hashes: { admin: string; demo: string },
): PlannedPeople {
  const employees: Emp[] = [];
  const managerOf = new Map<number, number>();
  const admins: number[] = [];
  const dayMs = 86_400_000;
  const make = (role: Emp['role'], dept: number, contract: number, hireDay: number, skills: string[], overrides: Partial<Emp> = {}): Emp => {
    const idx = employees.length;
    const first = overrides.first ?? rng.pick(FIRST_NAMES);
    const last = overrides.last ?? rng.pick(LAST_NAMES);
    const sorted = [...new Set(skills)].sort();
    const cents = role === 'admin' ? rng.int(4500, 6000) : role === 'manager' ? rng.int(3000, 4500) : rng.int(1400, 3200);
    const e: Emp = {
      idx,
      email: overrides.email ?? `${asciiSlug(first)}.${asciiSlug(last)}.${idx}@staff.rota.example`,
      first, last, role, dept, contract, hireDay,
      rate: (cents / 100).toFixed(2),
      skills: sorted,
      skillMask: skillMaskOf(sorted),
      active: overrides.active ?? true,
      passwordHash: overrides.passwordHash ?? null,
      createdAt: new Date(hireDay * dayMs + 9 * 3_600_000 + (idx % 3600) * 1000).toISOString(),
      history: [{ day: hireDay, from: null, to: dept, reason: 'hired' }],
      id: '',
    };
    employees.push(e);
    return e;
  };
  const root = depts[0]!;
  // The login admin is employee 1 of a fresh database.
  make('admin', root.idx, 4, anchorDay - 3 * 365, ['supervisor'], { email: o.adminEmail, first: 'Rota', last: 'Admin', passwordHash: hashes.admin });
  const adminCount = Math.max(2, Math.round(o.employees / 5000));
  for (let i = 0; i < adminCount; i++) admins.push(make('admin', root.idx, 4, anchorDay - rng.int(400, 3650), ['supervisor']).idx);
  for (const d of depts) {
    if (!d.active) continue;
    const m = make('manager', d.idx, 4, anchorDay - rng.int(200, 3650), ['supervisor', ...rng.sample(SKILLS, 2)], { passwordHash: hashes.demo });
    managerOf.set(d.idx, m.idx);
  }
  const operational = depts.filter((d) => d.operational);
  const staffTotal = o.employees - (employees.length - 1);
  if (staffTotal < operational.length * 2) throw new Error('too few employees for the departments');
  // Two per operational department, the rest by department weight (some departments are big).
  const weights = operational.map(() => 0.4 + rng.next() * 1.6);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  weights.reduce((acc, w, i) => (cumulative[i] = acc + w / totalWeight), 0);
  const pickDept = (): Dept => {
    const x = rng.next();
    const i = cumulative.findIndex((c) => x < c);
    return operational[i < 0 ? operational.length - 1 : i]!;
  };
  const contractFor = (): number => {
    const x = rng.next();
    return x < 0.55 ? 0 : x < 0.8 ? 1 : x < 0.9 ? 2 : 3;
  };
  const nonNight = SKILLS.filter((s) => s !== 'night-cert');
  const seenSample = new Set<number>();
  for (let s = 0; s < staffTotal; s++) {
    const dept = s < operational.length * 2 ? operational[s % operational.length]! : pickDept();
    const skills: string[] = rng.sample(nonNight, rng.int(1, 3));
    if (rng.chance(0.55)) skills.push('night-cert');
    // About 8 % were hired during the history window, so rosters show joiners.
    const hireDay = rng.chance(0.08) && anchorDay - historyStartDay > 7
      ? rng.int(historyStartDay, anchorDay - 1)
      : anchorDay - rng.int(60, 3650);
    // The first staff member of each department is a sample login, with the demo password.
    const sample = !seenSample.has(dept.idx);
    seenSample.add(dept.idx);
    const e = make('employee', dept.idx, contractFor(), hireDay, skills, {
      active: sample || !rng.chance(0.04),
      ...(sample ? { passwordHash: hashes.demo } : {}),
    });
    // About 12 % moved department once or twice before arriving where they are now.
    if (operational.length > 1 && anchorDay - hireDay > 120 && rng.chance(0.12)) {
      const moves = rng.int(1, 2);
      const days = [...new Set(Array.from({ length: moves }, () => rng.int(hireDay + 30, anchorDay - 1)))].sort((a, b) => a - b);
      // Walk backwards from the current department so the chain ends where the employee is.
      const chain: number[] = [e.dept];
      for (let k = 0; k < days.length; k++) {
        let prev = rng.pick(operational).idx;
        if (prev === chain[0]) prev = operational[(operational.findIndex((d) => d.idx === prev) + 1) % operational.length]!.idx;
        chain.unshift(prev);
      }
      e.history = [{ day: hireDay, from: null, to: chain[0]!, reason: 'hired' }];
      days.forEach((day, k) => e.history.push({ day, from: chain[k]!, to: chain[k + 1]!, reason: rng.pick(MOVE_REASONS) }));
    }
  }
  return { employees, managerOf, admins };
}

/** Department of `e` on `day` according to its history. */
export function deptAt(e: Emp, day: number): number {
  let d = e.history[0]!.to;
  for (const m of e.history) if (m.day <= day) d = m.to;
  return d;
}

export type Window = { weekday: number; start: string; end: string };
const PATTERNS: ReadonlyArray<(rng: Rng) => Window[]> = [
  () => [1, 2, 3, 4, 5].map((w) => ({ weekday: w, start: '06:00', end: '22:00' })),
  () => [1, 2, 3, 4, 5, 6, 7].map((w) => ({ weekday: w, start: '06:00', end: '22:00' })),
  // Overnight windows: end before start means past midnight.
  () => [1, 2, 3, 4, 5, 6, 7].map((w) => ({ weekday: w, start: '21:00', end: '07:00' })),
  () => [{ weekday: 5, start: '14:00', end: '23:00' }, { weekday: 6, start: '06:00', end: '22:00' }, { weekday: 7, start: '06:00', end: '22:00' }],
  () => [1, 2, 3, 4, 5, 6].map((w) => ({ weekday: w, start: '06:00', end: '14:00' })),
  (rng) => rng.sample([1, 2, 3, 4, 5, 6, 7], 4).sort().map((w) => ({ weekday: w, start: '00:00', end: '00:00' })),
];

export function planAvailability(rng: Rng): Window[] | undefined {
  return rng.chance(0.25) ? rng.pick(PATTERNS)(rng) : undefined;
}

export type TimeOff = { start: number; end: number; status: 'requested' | 'approved' | 'rejected'; reason: string | null };

export function planTimeOff(rng: Rng, fromDay: number, toDay_: number, anchorDay: number): TimeOff[] {
  const out: TimeOff[] = [];
  const n = rng.int(0, 3);
  for (let i = 0; i < n; i++) {
    const start = rng.int(fromDay - 30, Math.max(fromDay - 30, toDay_ - 30));
    const end = start + rng.int(0, 13);
    const x = rng.next();
    const status = start < anchorDay
      ? (x < 0.78 ? 'approved' : 'rejected')
      : (x < 0.4 ? 'requested' : x < 0.85 ? 'approved' : 'rejected');
    out.push({ start, end, status, reason: rng.pick(TIME_OFF_REASONS) });
  }
  return out;
}

export { toDay };
