import { NAMESPACE_SCOPE, NAMESPACES, scopes, type InvalidationTarget, type Namespace } from '@rota/cache';
import type { ChangeEvent, EventScopes } from './envelope.ts';

/**
 * Every read that could include a change in the event's departments: their own lists, the subtree
 * lists of each of them and of each ancestor, and organisation-wide lists.
 */
function areaOf(s: EventScopes): string[] {
  return [...s.departmentIds.flatMap((d) => scopes.departmentChange(d, [])), ...s.ancestorDepartmentIds.map((a) => scopes.subtree(a)), scopes.all];
}

const target = (ns: Namespace, s: readonly string[]): InvalidationTarget => ({ ns, scopes: [...new Set(s)] });

/** The event's payload lists `field` among the fields the write changed. */
const changed = (e: ChangeEvent, field: string): boolean => {
  const c = e.payload['changed'];
  return Array.isArray(c) && c.includes(field);
};

/**
 * Which cached reads a change event makes stale. The single mapping used by the cache-invalidator
 * (for every writer) and by the API right after its own commit (read-your-writes), so the two
 * can never disagree. Reads declare scopes by the same rules:
 *   dept:X  — data of department X alone      tree:X — department X and everything below it
 *   all     — organisation-wide reads         emp:E / sched:S — one employee / one schedule
 */
export function invalidationsFor(e: ChangeEvent): InvalidationTarget[] {
  const depts = e.scopes.departmentIds;
  const area = areaOf(e.scopes);
  const emps = e.scopes.employeeIds.map((x) => scopes.employee(x));
  const scheds = e.scopes.scheduleIds.map((x) => scopes.schedule(x));

  switch (e.type) {
    case 'department.created':
    case 'department.updated':
    case 'department.deleted':
      // A move changes who may read everything below the moved department (a manager of its old
      // ancestors loses it, of its new ones gains it), and reads there declare their own
      // department's scopes, which the event does not name. Moves are rare: every namespace is
      // emptied (one counter each), rather than listing the subtree.
      if (e.type === 'department.updated' && e.payload['moved'] === true) return NAMESPACES.map((ns) => target(ns, [NAMESPACE_SCOPE]));
      // Names, parents and activity show up in hierarchy reads everywhere; they are rare writes.
      return [target('departments', [scopes.all]), target('access', [scopes.all]), target('employees', area), target('schedules', area), target('analytics', area)];
    case 'employee.created':
    case 'employee.deactivated':
    case 'employee.reactivated':
    case 'employee.department_changed':
      // Head counts in the tree and analytics change too.
      return [target('employees', [...area, ...emps]), target('departments', [scopes.all]), target('access', emps), target('analytics', area), target('schedules', area)];
    case 'employee.updated':
      // A new hourly rate re-priced the labour cost of their shifts (the event names the departments).
      return [target('employees', [...area, ...emps]), target('access', emps), target('schedules', area),
        ...(changed(e, 'hourlyRate') ? [target('analytics', area)] : [])];
    case 'employee.rules_changed':
    case 'employee.availability_changed':
    case 'employee.time_off_changed':
    case 'employee.requests_changed':
      return [target('employees', emps)];
    case 'shift_template.created':
    case 'shift_template.updated':
    case 'shift_template.deleted':
      // A new pay multiplier re-priced the labour cost of the template's shifts.
      return [target('templates', depts.map((d) => scopes.department(d))), target('schedules', area),
        ...(changed(e, 'payMultiplier') ? [target('analytics', area)] : [])];
    case 'demand.changed':
      return [target('templates', depts.map((d) => scopes.department(d))), target('analytics', area), target('schedules', area)];
    case 'schedule.generated':
    case 'schedule.published':
    case 'schedule.archived':
    case 'shifts.changed':
      return [target('schedules', [...area, ...scheds, ...emps]), target('analytics', area)];
    case 'generation.updated':
    case 'api_key.created':
    case 'api_key.revoked':
      // No cached read depends on them (the key list is read uncached; each API instance drops a
      // revoked key's memoised principal itself).
      return [];
  }
}

/**
 * For an event of a type this build does not know — a newer writer's, during a rolling deploy in
 * which the invalidator is not yet the newest: every namespace, over every scope the event names.
 * That is a superset of what any known type maps to over the same scopes (a test checks it), so
 * no read those scopes cover is left stale, at the price of more entries reloaded than the
 * precise mapping would; the invalidator counts these events (result `fallback`) and alerts.
 */
export function invalidationsForUnknownType(s: EventScopes): InvalidationTarget[] {
  const all = [...areaOf(s), ...s.employeeIds.map((x) => scopes.employee(x)), ...s.scheduleIds.map((x) => scopes.schedule(x))];
  return NAMESPACES.map((ns) => target(ns, all));
}
