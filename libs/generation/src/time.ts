/** Calendar helpers: ISO dates as day numbers and wall-clock times in a department's time zone. */

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of an ISO date (YYYY-MM-DD). */
export function dayNumber(iso: string): number {
  return Math.round(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);
}

export function isoOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(iso: string, n: number): string {
  return isoOfDay(dayNumber(iso) + n);
}

/** ISO weekday 1 = Monday … 7 = Sunday. */
export function isoWeekday(iso: string): number {
  return ((new Date(`${iso}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;
}

/** "HH:MM[:SS]" → minutes after midnight. */
export function minutesOfTime(t: string): number {
  const [h, m] = t.split(':');
  return Number(h) * 60 + Number(m);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `tz` from UTC at instant `ms`, in ms (positive east of Greenwich). */
function offsetMs(tz: string, ms: number): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(tz, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `tz` shows `minute` minutes after midnight of `iso`
 * (minute may exceed 1440: a shift ending after midnight). In a DST gap the later offset wins,
 * as Postgres does for `timestamp AT TIME ZONE`.
 */
export function zonedInstant(iso: string, minute: number, tz: string): Date {
  const local = dayNumber(iso) * DAY_MS + minute * 60_000;
  let guess = local - offsetMs(tz, local);
  const o2 = offsetMs(tz, guess);
  guess = local - o2;
  return new Date(guess);
}

/**
 * The clock changes (DST) of `tz` on the days `fromDay`..`toDay` counted from `originIso`: the
 * wall-clock minute of that timeline (from local midnight of `originIso`) at which the clock
 * jumps, and by how many minutes (+60 forward, −60 back). A spring-forward change is placed
 * inside the skipped hour, a fall-back one at the start of the repeated hour: either way every
 * gap between two real wall-clock times contains it exactly when the real gap differs.
 */
export function clockChanges(tz: string, originIso: string, fromDay: number, toDay: number): { minute: number; delta: number }[] {
  const out: { minute: number; delta: number }[] = [];
  for (let k = fromDay; k <= toDay; k++) {
    const iso = addDays(originIso, k);
    const offset = (minute: number): number => dayNumber(iso) * DAY_MS + minute * 60_000 - zonedInstant(iso, minute, tz).getTime();
    const before = offset(0);
    const after = offset(1440);
    if (before === after) continue;
    let lo = 0;
    let hi = 1440;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (offset(mid) === after) hi = mid;
      else lo = mid;
    }
    out.push({ minute: k * 1440 + hi, delta: (after - before) / 60_000 });
  }
  return out;
}
