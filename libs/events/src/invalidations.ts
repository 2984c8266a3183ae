import { scopes, type InvalidationTarget, type Namespace } from '@rota/cache';
import type { ChangeEvent } from './envelope.ts';

/**
 * Which cached reads a change event makes stale. The single mapping used by the cache-invalidator
 * (for every writer) and by the API right after its own commit (read-your-writes), so the two
 * can never disagree. Reads declare scopes by the same rules:
 *   dept:X  — data of department X alone      tree:X — department X and everything below it
 *   all     — organisation-wide reads         emp:E / sched:S — one employee / one schedule
 */
export function invalidationsFor(e: ChangeEvent): InvalidationTarget[] {
  const depts = e.scopes.departmentIds;
  const ancestors = e.scopes.ancestorDepartmentIds;
  // Every read that could include the change's department: its own lists, the subtree lists of
  // it and of each ancestor, and organisation-wide lists.
  const area = [...depts.flatMap((d) => scopes.departmentChange(d, [])), ...ancestors.map((a) => scopes.subtree(a)), scopes.all];
  const emps = e.scopes.employeeIds.map((x) => scopes.employee(x));
  const scheds = e.scopes.scheduleIds.map((x) => scopes.schedule(x));
  const t = (ns: Namespace, s: readonly string[]): InvalidationTarget => ({ ns, scopes: [...new Set(s)] });

  switch (e.type) {
    case 'department.created':
    case 'department.updated':
    case 'department.deleted':
      // Names, parents and activity show up in hierarchy reads everywhere; they are rare writes.
      return [t('departments', [scopes.all]), t('access', [scopes.all]), t('employees', area), t('schedules', area), t('analytics', area)];
    case 'employee.created':
    case 'employee.deactivated':
    case 'employee.department_changed':
      // Head counts in the tree and analytics change too.
      return [t('employees', [...area, ...emps]), t('departments', [scopes.all]), t('access', emps), t('analytics', area), t('schedules', area)];
    case 'employee.updated':
      return [t('employees', [...area, ...emps]), t('access', emps), t('schedules', area)];
    case 'employee.rules_changed':
    case 'employee.availability_changed':
    case 'employee.time_off_changed':
    case 'employee.requests_changed':
      return [t('employees', emps)];
    case 'shift_template.created':
    case 'shift_template.updated':
    case 'shift_template.deleted':
      return [t('templates', depts.map((d) => scopes.department(d))), t('schedules', area)];
    case 'demand.changed':
      return [t('templates', depts.map((d) => scopes.department(d))), t('analytics', area), t('schedules', area)];
    case 'schedule.generated':
    case 'schedule.published':
    case 'shifts.changed':
      return [t('schedules', [...area, ...scheds, ...emps]), t('analytics', area)];
    case 'generation.updated':
    case 'api_key.created':
    case 'api_key.revoked':
      // No cached read depends on them (the key list is read uncached; each API instance drops a
      // revoked key's memoised principal itself).
      return [];
  }
}
