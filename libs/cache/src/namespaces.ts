/**
 * Cache namespaces. WIRE NAMES: they are part of every Redis key (`rota:{employees}:…`) and are
 * shared by services/api (reads) and services/cache-invalidator (bumps). Renaming one orphans
 * every cached entry and version counter of that namespace and, during a rolling deploy, makes
 * old and new pods disagree on keys — add a new name instead and retire the old one.
 */
export const NAMESPACES = [
  'employees',
  'schedules',
  'analytics',
  'templates',
  'departments',
  'access',
] as const;

export type Namespace = (typeof NAMESPACES)[number];

export type NamespaceTtl = {
  /** How long an entry is served as HIT. */
  freshMs: number;
  /**
   * How long after `freshMs` an entry may still be served as STALE while one background refresh
   * (per key and process) reloads it. An entry whose scope versions moved is never served.
   */
  staleMs: number;
};

/**
 * Defaults from the seed's TTLs (SPEC §4): employee lists 2 min, schedule summaries 3 min,
 * analytics 5 min, shift templates and hierarchy 10 min, access data 15 min. The stale window is
 * 2× fresh: long enough that a key read at least once per window never expires into a
 * synchronous Postgres load, short enough that an entry missed by a lost invalidation heals.
 */
export const DEFAULT_NAMESPACE_TTLS: Readonly<Record<Namespace, Readonly<NamespaceTtl>>> = Object.freeze({
  employees: { freshMs: 120_000, staleMs: 240_000 },
  schedules: { freshMs: 180_000, staleMs: 360_000 },
  analytics: { freshMs: 300_000, staleMs: 600_000 },
  templates: { freshMs: 600_000, staleMs: 1_200_000 },
  departments: { freshMs: 600_000, staleMs: 1_200_000 },
  access: { freshMs: 900_000, staleMs: 1_800_000 },
});

export function isNamespace(value: string): value is Namespace {
  return (NAMESPACES as readonly string[]).includes(value);
}
