/**
 * The API's handle on the schedule-generation queue (BullMQ). Built in main.ts; the generation
 * routes use it to enqueue, cancel and report queue positions.
 */
export type GenerationQueue = {
  /** Adds the run's job (job id = run id). Throws when Redis is unavailable. */
  enqueue(runId: string): Promise<void>;
  /** Signals a running job to stop (and removes a waiting one). */
  cancel(runId: string): Promise<void>;
  /** 1-based position among waiting jobs, or null when not waiting. */
  position(runId: string): Promise<number | null>;
  close(): Promise<void>;
};

/** For tests and tools that run the API without a queue. */
export const noGenerationQueue: GenerationQueue = {
  async enqueue() { throw new Error('generation queue is not configured'); },
  async cancel() {},
  async position() { return null; },
  async close() {},
};
