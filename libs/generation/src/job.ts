/**
 * Wire contract between the API (producer) and the scheduler worker (consumer): the BullMQ job
 * payload, the run options stored on generation_runs.options, and the Redis pub/sub channels.
 * Channel names are wire names: renaming one breaks running workers and API instances.
 */
import { z } from 'zod';

export { QUEUE_SCHEDULE_GENERATION } from '@rota/domain';

/** The BullMQ job payload. The job id is the run id too; everything else lives in Postgres. */
export const generationJobSchema = z.strictObject({
  runId: z.string().regex(/^[1-9]\d{0,18}$/),
});
export type GenerationJob = z.infer<typeof generationJobSchema>;

/**
 * BullMQ job id of a run. BullMQ refuses integer-looking custom ids, so the run id is prefixed;
 * one run → one job id, which makes a duplicate enqueue of the same run a no-op.
 */
export function jobIdOf(runId: string): string {
  return `run-${runId}`;
}

/**
 * Attempts of a generation job. Transient faults (Postgres or Redis unreachable, a failed write)
 * are retried with exponential backoff: 2 s doubling, so the 8th attempt starts
 * 2 + 4 + … + 128 = 254 s (~4 min) after the first failed — longer than a managed Postgres
 * failover (typically 30–120 s) or a Redis Sentinel failover. Invalid input is never retried.
 */
export const GENERATION_JOB_ATTEMPTS = 8;
/** First backoff delay (ms) of a generation job; doubles per attempt. */
export const GENERATION_JOB_BACKOFF_MS = 2000;

/** BullMQ options of a run's job, for the API's enqueue and the worker's reconciler alike. */
export function generationJobOptions(runId: string, o: { attempts?: number; backoffMs?: number } = {}) {
  return {
    jobId: jobIdOf(runId),
    attempts: o.attempts ?? GENERATION_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: o.backoffMs ?? GENERATION_JOB_BACKOFF_MS },
    // generation_runs is the durable record; BullMQ keeps a little history for operators.
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  } as const;
}

/** Options a client may pass (stored verbatim on the run, so a retry solves the same problem). */
export const runOptionsSchema = z.strictObject({
  /** Wall-clock limit of the solver. Default: the worker's SOLVER_TIME_LIMIT_SECONDS. */
  timeLimitSeconds: z.number().int().min(1).max(3600).optional(),
  /** PRNG seed; the same seed and inputs give the same roster when maxIterations is set. Default 1. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  /**
   * A deterministic budget: stop after this many moves (the time limit still applies as a cap).
   * With it, a re-run of the same inputs reproduces the same roster exactly.
   */
  maxIterations: z.number().int().min(1).max(1_000_000_000).optional(),
  /** Weights of the secondary soft terms (fairness, cost); defaults from @rota/solver. */
  weights: z.strictObject({
    fairnessHours: z.number().min(0).max(1000).optional(),
    fairnessWeekends: z.number().min(0).max(1000).optional(),
    cost: z.number().min(0).max(1000).optional(),
  }).optional(),
});
export type RunOptions = z.infer<typeof runOptionsSchema>;

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * BullMQ's key prefix for QUEUE_PREFIX `prefix`: the prefix as a Redis Cluster hash tag, so every
 * key of the queue (`{rota}:schedule-generation:wait`, `…:meta`, `…:<job id>`, …) hashes to one
 * slot — BullMQ's scripts touch several of them at once, which a Cluster refuses across slots
 * (CROSSSLOT). On a single node the braces are only part of the name.
 */
export function queueKeyPrefix(prefix: string): string {
  if (!/^[a-z0-9_-]+$/.test(prefix)) throw new TypeError(`invalid queue prefix ${JSON.stringify(prefix)}`);
  return `{${prefix}}`;
}

/** Worker → API: "run X changed", published after the Postgres row was updated. */
export function runEventsChannel(prefix: string): string {
  return `${prefix}:generation:events`;
}
/** API → workers: "stop run X" (the run row's cancel_requested_at is the durable signal). */
export function cancelChannel(prefix: string): string {
  return `${prefix}:generation:cancel`;
}

/** Message on runEventsChannel. */
export const runEventSchema = z.object({
  runId: z.string(),
  status: z.enum(RUN_STATUSES),
  progress: z.number(),
  bestScore: z.number().nullable(),
});
export type RunEvent = z.infer<typeof runEventSchema>;

/** What the worker writes into generation_runs.result on success. */
export type RunResult = {
  scheduleId: string;
  scheduleVersion: number;
  /** Independent checker on the written roster; always 0 unless the solver has a bug. */
  hardViolations: number;
  /** Demand slots covered / demand slots, in %, 100 when there is no demand. */
  coveragePct: number;
  demandSlots: number;
  coveredSlots: number;
  openShifts: number;
  softPenalties: { coverUnder: number; coverOver: number; onRequests: number; offRequests: number; fairness: number; cost: number; total: number };
  shifts: { inserted: number; updated: number; deleted: number; unchanged: number; total: number };
  solveTimeMs: number;
  /** The whole write transaction, and its two big parts: the shift upsert/delete and the analytics refresh. */
  writeTimeMs: number;
  writePhasesMs: { shifts: number; dailyStats: number };
  iterations: number;
  stoppedBy: string;
  /**
   * Employees whose minimum rules (minutes, consecutive days) no roster could meet — usually leave
   * or availability leaving too little room — so they were lifted for this run; all other rules held.
   */
  relaxedMinimumsEmployeeIds: string[];
  employees: number;
  days: number;
  shiftTypes: number;
};
