// Calendar helpers for the seed: days are integers (days since 1970-01-01, UTC), local wall-clock
// times are converted to instants per IANA zone with Intl (memoised: a few zones × a few hundred
// days × a handful of shift start times).

const DAY_MS = 86_400_000;

export function toDay(iso: string): number {
  return Math.round(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);
}

const isoCache = new Map<number, string>();
export function isoOf(day: number): string {
  let s = isoCache.get(day);
  if (s === undefined) {
    s = new Date(day * DAY_MS).toISOString().slice(0, 10);
    isoCache.set(day, s);
  }
  return s;
}

/** ISO weekday, 1 = Monday … 7 = Sunday. */
export function weekdayOf(day: number): number {
  // 1970-01-01 was a Thursday (ISO 4).
  return ((day + 3) % 7 + 7) % 7 + 1;
}

/** "HH:MM" → minutes after midnight. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function offsetMinutes(tz: string, utcMs: number): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
    });
    formatters.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(utcMs))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p['year'] ?? 1970, (p['month'] ?? 1) - 1, p['day'] ?? 1, p['hour'] ?? 0, p['minute'] ?? 0);
  return Math.round((asUtc - Math.floor(utcMs / 60_000) * 60_000) / 60_000);
}

const instantCache = new Map<string, string>();
/** The instant (ISO string) of local wall-clock `minutes` after midnight of `day` in zone `tz`. */
export function zonedInstant(tz: string, day: number, minutes: number): string {
  const key = `${tz}|${day}|${minutes}`;
  let s = instantCache.get(key);
  if (s === undefined) {
    const wall = day * DAY_MS + minutes * 60_000;
    // Two rounds settle on the offset in force at the instant itself (DST switches included).
    let t = wall - offsetMinutes(tz, wall) * 60_000;
    t = wall - offsetMinutes(tz, t) * 60_000;
    s = new Date(t).toISOString();
    instantCache.set(key, s);
  }
  return s;
}
