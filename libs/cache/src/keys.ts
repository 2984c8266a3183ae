import { hash } from 'node:crypto';
import type { Namespace } from './namespaces.ts';

/**
 * Redis key layout (WIRE FORMAT — shared by every API pod and the invalidator):
 *
 *   <prefix>:{<ns>}:v:<scope>   version counter of one scope (a decimal integer, no TTL)
 *   <prefix>:{<ns>}:e:<hash>    one cached response (header + exact body bytes, TTL fresh+stale)
 *
 * The `{<ns>}` hash tag puts every key of a namespace in the same Redis Cluster slot, so a read
 * (entry + its version counters) is one round trip to one node, and a fill can atomically check
 * the versions it was loaded under. The price: a namespace lives on one shard, so a cluster
 * spreads load by namespace (six of them), not by key. At Rota's size one shard serves a
 * namespace easily; if one ever outgrows it, split it into sub-namespaces (e.g. per department
 * range) — cross-slot version checks would cost the one-round-trip read.
 */
export const DEFAULT_KEY_PREFIX = 'rota';

/** Scope every entry depends on implicitly; bumping it empties a whole namespace in O(1). */
export const NAMESPACE_SCOPE = '*';

type Id = string | number | bigint;

/**
 * Scope names. A read declares the scopes its response depends on; a change bumps the scopes
 * it affects. Both sides build them here so that they cannot drift apart.
 */
export const scopes = Object.freeze({
  /** Unfiltered, organisation-wide reads of a namespace (e.g. `GET /v1/employees` without filter). */
  all: 'all',
  /** Data of exactly one department (its row, lists filtered to it without subdepartments). */
  department: (id: Id): string => `dept:${id}`,
  /** Anything in the subtree rooted at a department (recursive lists, tree with head counts). */
  subtree: (id: Id): string => `tree:${id}`,
  employee: (id: Id): string => `emp:${id}`,
  schedule: (id: Id): string => `sched:${id}`,
  /**
   * What a change inside department `id` invalidates: the department itself and the subtree of
   * it and of every ancestor (`ancestorIds` in any order, without `id`).
   */
  departmentChange: (id: Id, ancestorIds: readonly Id[]): string[] => [
    `dept:${id}`,
    `tree:${id}`,
    ...ancestorIds.map((a) => `tree:${a}`),
  ],
});

function checkPart(kind: string, value: string): void {
  // A brace would move the Cluster hash tag; whitespace and commas only ever come from a bug.
  if (value === '' || /[{}\s,]/.test(value)) {
    throw new TypeError(`invalid cache ${kind} ${JSON.stringify(value)}`);
  }
}

export function validatePrefix(prefix: string): void {
  checkPart('key prefix', prefix);
}

/** Key of the version counter of `scope` in `ns`. */
export function versionKey(ns: Namespace, scope: string, prefix: string = DEFAULT_KEY_PREFIX): string {
  checkPart('scope', scope);
  return `${prefix}:{${ns}}:v:${scope}`;
}

/** What identifies a response inside a namespace: a string, or the request parameters. */
export type CacheKey = string | Readonly<Record<string, unknown>>;

/**
 * Canonical JSON: object keys sorted at every depth and `undefined` members dropped, so
 * `{ a: 1, b: undefined }` and `{ a: 1 }` are the same key. bigint is written as a decimal string.
 */
export function canonicalKey(key: CacheKey): string {
  if (typeof key === 'string') return JSON.stringify(key);
  return canonical(key);
}

function canonical(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(obj).sort()) {
        const v = obj[k];
        if (v !== undefined) parts.push(`${JSON.stringify(k)}:${canonical(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return JSON.stringify(value) ?? 'null';
  }
}

/** The version scopes an entry is checked against: the namespace scope plus its own, sorted. */
export function entryScopes(declared: readonly string[]): string[] {
  const set = new Set<string>(declared);
  set.delete(NAMESPACE_SCOPE);
  for (const s of set) checkPart('scope', s);
  return [NAMESPACE_SCOPE, ...[...set].sort()];
}

/**
 * Key of a cached entry. The declared scopes are part of the hash: the same parameters cached
 * under another scope set (e.g. after a deploy that changed a route's scopes) are another entry,
 * so an entry's recorded versions always line up with the version keys its reader fetches.
 */
export function entryKey(
  ns: Namespace,
  key: CacheKey,
  declaredScopes: readonly string[],
  prefix: string = DEFAULT_KEY_PREFIX,
): string {
  // One-shot hash of `key \0 scopes` (the same bytes as three updates; crypto.hash skips the Hash object).
  const h = hash('sha256', `${canonicalKey(key)}\0${entryScopes(declaredScopes).join(',')}`, 'base64url')
    .slice(0, 22); // 132 bits: collisions are not a practical concern
  return `${prefix}:{${ns}}:e:${h}`;
}
