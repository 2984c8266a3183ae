/** Small instance builders for the solver's tests. */
import type { EmployeeSpec, Instance, ShiftType } from './model.ts';

export function makeShiftType(overrides: Partial<ShiftType> = {}): ShiftType {
  return { id: 'D', startMinute: 8 * 60, durationMinutes: 8 * 60, cannotFollow: [], ...overrides };
}

/** An employee with no binding rule at all, for `days` days and `types` shift types. */
export function makeEmployee(days: number, types: number, overrides: Partial<EmployeeSpec> = {}): EmployeeSpec {
  return {
    id: 'A',
    allowed: Array.from({ length: days }, () => new Array<boolean>(types).fill(true)),
    maxShiftsPerType: new Array<number>(types).fill(days),
    maxTotalMinutes: days * 24 * 60,
    minTotalMinutes: 0,
    maxConsecutiveWorkDays: days,
    minConsecutiveWorkDays: 1,
    minConsecutiveDaysOff: 1,
    maxWeekends: days,
    minRestMinutes: 0,
    hourlyCost: 0,
    ...overrides,
  };
}

export function makeInstance(overrides: Partial<Instance> & { days: number } = { days: 7 }): Instance {
  const days = overrides.days;
  const shiftTypes = overrides.shiftTypes ?? [makeShiftType()];
  const T = shiftTypes.length;
  return {
    firstWeekday: 0,
    shiftTypes,
    employees: [makeEmployee(days, T)],
    requests: [],
    cover: Array.from({ length: days }, () =>
      Array.from({ length: T }, () => ({ requirement: 0, weightUnder: 0, weightOver: 0 })),
    ),
    weights: { fairnessHours: 0, fairnessWeekends: 0, cost: 0 },
    ...overrides,
  };
}
