import type { Instance } from './model.ts';

/**
 * The instance with the minimum-type rules (minimum minutes per period and per week, minimum
 * consecutive working days and days off) lifted for the given employees. Used when no roster at
 * all satisfies an employee's own rules — e.g. a contract minimum above what approved leave and
 * availability leave room for. Every maximum-type rule, availability, leave, skills, rest and
 * succession rule stays hard; callers report the relaxed employees so a planner can see them.
 */
export function relaxMinimums(instance: Instance, employeeIds: readonly string[]): Instance {
  const ids = new Set(employeeIds);
  return {
    ...instance,
    employees: instance.employees.map((e) => {
      if (!ids.has(e.id)) return e;
      const { minWeekMinutes: _dropped, ...rest } = e;
      return { ...rest, minTotalMinutes: 0, minConsecutiveWorkDays: 1, minConsecutiveDaysOff: 1 };
    }),
  };
}
