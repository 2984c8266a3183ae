import type { Principal } from './principal.ts';

/**
 * What an API key may be limited to: `<resource>:read` for the GETs of a resource,
 * `<resource>:write` for its other methods, and two schedule actions of their own. Every route
 * names the one scope it needs (`scope` in http/route.ts; the OpenAPI document shows it).
 * A key created with no scopes has its role's full access; a key with scopes may call only the
 * routes whose scope it holds, within what its role and department allow (scopes never widen a
 * role). `write` does not imply `read`. Wire values: stored in api_keys.scopes and sent by
 * clients, so never rename one.
 */
export const SCOPES = [
  /** Departments, their shift templates and demand. */
  'departments:read', 'departments:write',
  /** Employees and their work rules, availability, time off, shift requests and shifts. */
  'employees:read', 'employees:write',
  /** Schedules, their shifts and exports, generation runs (read); manual shift edits (write). */
  'schedules:read', 'schedules:write',
  /** Submit or cancel a schedule generation. */
  'schedules:generate',
  /** Publish a schedule. */
  'schedules:publish',
  'analytics:read',
  /** Admin keys only (their role is checked too). */
  'api-keys:read', 'api-keys:write',
] as const;

export type Scope = (typeof SCOPES)[number];

/** May this principal call a route that needs `scope` (null: any authenticated principal)? Users are not limited by scopes. */
export function allowsScope(p: Principal, scope: Scope | null): boolean {
  return scope === null || p.kind !== 'apiKey' || p.scopes.length === 0 || p.scopes.includes(scope);
}
