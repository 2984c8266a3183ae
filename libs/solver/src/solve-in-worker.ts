import { Worker } from 'node:worker_threads';
import { InvalidInstanceError, type Instance } from './model.ts';
import type { SolveWorkerInput } from './solve-worker.ts';
import { InfeasibleInstanceError, type SolveOptions, type SolveProgress, type SolveResult } from './solve.ts';

export interface SolveInWorkerHooks {
  /** Aborting stops the search; the promise then resolves with the best roster so far (stoppedBy 'cancel'). */
  signal?: AbortSignal;
  onProgress?: (p: SolveProgress) => void;
}

type WorkerMessage =
  | { type: 'progress'; progress: SolveProgress }
  | { type: 'result'; result: SolveResult }
  | { type: 'error'; name: string; message: string; employeeIds?: string[] };

/**
 * Runs solve() in a worker thread so the calling event loop stays free (queue locks keep
 * renewing). Rejects with InfeasibleInstanceError / InvalidInstanceError like solve() does.
 */
export function solveInWorker(
  instance: Instance,
  options: Omit<SolveOptions, 'shouldStop' | 'onProgress'> = {},
  hooks: SolveInWorkerHooks = {},
): Promise<SolveResult> {
  const cancel = new SharedArrayBuffer(4);
  const flag = new Int32Array(cancel);
  const input: SolveWorkerInput = { instance, options, cancel };
  const worker = new Worker(new URL('./solve-worker.ts', import.meta.url), { workerData: input });
  const onAbort = (): void => {
    Atomics.store(flag, 0, 1);
  };
  if (hooks.signal?.aborted) onAbort();
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise<SolveResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') hooks.onProgress?.(msg.progress);
      else if (msg.type === 'result') finish(() => resolve(msg.result));
      else
        finish(() => {
          if (msg.name === 'InfeasibleInstanceError') reject(new InfeasibleInstanceError(msg.employeeIds ?? []));
          else if (msg.name === 'InvalidInstanceError') reject(new InvalidInstanceError(msg.message));
          else reject(new Error(msg.message));
        });
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`solver worker exited with code ${code}`))));
  });
}
