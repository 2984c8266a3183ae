import { Worker } from 'node:worker_threads';
import type { Assignment, Instance, ScoreBreakdown } from '@rota/solver';

export type ThreadResult = { assignment: Assignment; score: ScoreBreakdown; iterations: number; elapsedMs: number; stoppedBy: string; violations: number };

export type ThreadMessage =
  | { kind: 'progress'; progress: number; bestScore: number; elapsedMs: number }
  | { kind: 'done'; result: ThreadResult }
  | { kind: 'error'; name: string; message: string; invalidInput: boolean };

/** The solver rejected the input (malformed, or no roster can satisfy an employee's hard rules). */
export class SolverInputError extends Error {
  override readonly name = 'SolverInputError';
}

export type SolverHandle = {
  result: Promise<ThreadResult>;
  /** Stops the search; the result is the best roster found so far (within ~50 ms). */
  stop(): void;
};

const THREAD_URL = new URL('./solve-thread.ts', import.meta.url);

export function runSolver(
  instance: Instance,
  options: { seed: number; timeLimitMs: number; maxIterations?: number; progressIntervalMs: number },
  onProgress: (p: { progress: number; bestScore: number; elapsedMs: number }) => void,
): SolverHandle {
  const stop = new SharedArrayBuffer(4);
  const flag = new Int32Array(stop);
  const thread = new Worker(THREAD_URL, { workerData: { instance, options, stop } });
  const result = new Promise<ThreadResult>((resolve, reject) => {
    let settled = false;
    thread.on('message', (m: ThreadMessage) => {
      if (m.kind === 'progress') onProgress(m);
      else if (m.kind === 'done') { settled = true; resolve(m.result); }
      else {
        settled = true;
        reject(m.invalidInput ? new SolverInputError(m.message) : new Error(`${m.name}: ${m.message}`));
      }
    });
    thread.on('error', (e) => { settled = true; reject(e); });
    thread.on('exit', (code) => {
      if (!settled) reject(new Error(`solver thread exited with code ${code} before returning a result`));
    });
  });
  return {
    result: result.finally(() => void thread.terminate()),
    stop: () => { Atomics.store(flag, 0, 1); },
  };
}
