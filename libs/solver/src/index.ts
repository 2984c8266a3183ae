export type { HardRule, HardViolation } from './check.ts';
export { checkAssignment } from './check.ts';
export { CurtoisParseError, curtoisObjective, parseCurtois } from './curtois.ts';
export type { Assignment, ClockChange, Cover, EmployeeSpec, FixedShift, Instance, ShiftRequest, ShiftType, SoftWeights } from './model.ts';
export {
  DEFAULT_SOFT_WEIGHTS,
  InvalidInstanceError,
  realMinutes,
  restMinutes,
  targetMinutesOf,
  validateInstance,
  weekdayOf,
  weekendOf,
} from './model.ts';
export type { OpenSlot, ScoreBreakdown } from './score.ts';
export { coverCounts, openSlots, scoreAssignment } from './score.ts';
export type { SolveOptions, SolveProgress, SolveResult, StopReason, Tuning } from './solve.ts';
export { InfeasibleInstanceError, solve } from './solve.ts';
export { relaxMinimums } from './relax.ts';
export type { SolveInWorkerHooks, SolveInWorkerOptions } from './solve-in-worker.ts';
export { solveInWorker } from './solve-in-worker.ts';
export type { SearchOutcome } from './parallel.ts';
export { bestOf, combineProgress, runSearches, searchSeed } from './parallel.ts';
