export { createSchedulerWorker, defaultSolverThreads } from './scheduler.ts';
export type { SchedulerWorker, SchedulerWorkerOptions } from './scheduler.ts';
export { loadWorkerConfig, workerEnvSchema } from './config.ts';
export type { WorkerConfig } from './config.ts';
