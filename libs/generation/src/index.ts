export {
  QUEUE_SCHEDULE_GENERATION, generationJobSchema, runOptionsSchema, runEventSchema, runEventsChannel, cancelChannel, jobIdOf, queueKeyPrefix,
  generationJobOptions, GENERATION_JOB_ATTEMPTS, GENERATION_JOB_BACKOFF_MS,
  RUN_STATUSES, TERMINAL_STATUSES,
} from './job.ts';
export type { GenerationJob, RunOptions, RunStatus, RunEvent, RunResult } from './job.ts';
export { loadInstance, readRun, InvalidGenerationInputError, PLAN_FOR_DAY } from './load.ts';
export type { LoadedInstance, LoadedTemplate, RunRow } from './load.ts';
export { writeResult, shiftRowsOf, GenerationConflictError } from './write.ts';
export type { WriteOptions, WriteOutcome, SolveSummary, ShiftRow } from './write.ts';
export { importCurtois, evaluateCurtois } from './curtois.ts';
export type { ImportOptions, ImportResult, CurtoisEvaluation } from './curtois.ts';
export { addDays, dayNumber, isoWeekday, zonedInstant } from './time.ts';
export { createScenario, insertRun, DEFAULT_TEMPLATES } from './scenario.ts';
export type { Scenario, ScenarioOptions, ScenarioTemplate } from './scenario.ts';
export { checkScheduleRules, checkStoredRoster } from './check-stored.ts';
export { checkpointOf, checkpointSchema, readCheckpoint, resumeFrom, saveCheckpoint } from './checkpoint.ts';
export type { Checkpoint } from './checkpoint.ts';
export type { ScheduleRuleCheck, ScheduleRuleViolation, StoredRosterCheck } from './check-stored.ts';
