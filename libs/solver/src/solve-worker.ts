/**
 * worker_threads entry: runs solve() off the caller's event loop. Started by solveInWorker();
 * cancellation arrives through a shared Int32 flag, so it is seen between two search steps
 * without waiting for the worker's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Instance } from './model.ts';
import { InfeasibleInstanceError, type SolveOptions, solve } from './solve.ts';

export interface SolveWorkerInput {
  instance: Instance;
  options: Omit<SolveOptions, 'shouldStop' | 'onProgress'>;
  /** Int32Array(1) over a SharedArrayBuffer; 1 = stop. */
  cancel: SharedArrayBuffer;
}

const { instance, options, cancel } = workerData as SolveWorkerInput;
const flag = new Int32Array(cancel);
try {
  const result = solve(instance, {
    ...options,
    shouldStop: () => Atomics.load(flag, 0) === 1,
    onProgress: (progress) => parentPort?.postMessage({ type: 'progress', progress }),
  });
  parentPort?.postMessage({ type: 'result', result });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort?.postMessage({
    type: 'error',
    name: e.name,
    message: e.message,
    employeeIds: err instanceof InfeasibleInstanceError ? err.employeeIds : undefined,
  });
}
