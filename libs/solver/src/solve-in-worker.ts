import { Worker } from 'node:worker_threads';
import { InvalidInstanceError, type Instance } from './model.ts';
import { combineProgress, runSearches, searchSeed } from './parallel.ts';
import type { SolveWorkerInput } from './solve-worker.ts';
import { InfeasibleInstanceError, type SolveOptions, type SolveProgress, type SolveResult } from './solve.ts';

export interface SolveInWorkerHooks {
  /** Aborting stops the search; the promise then resolves with the best roster so far (stoppedBy 'cancel'). */
  signal?: AbortSignal;
  /** Best score over all threads; called whenever one of them reports. */
  onProgress?: (p: SolveProgress) => void;
}

export interface SolveInWorkerOptions extends Omit<SolveOptions, 'shouldStop' | 'onProgress'> {
  /**
   * Independent searches run in parallel, one worker thread each (seeds from searchSeed), each
   * with the whole time limit and maxIterations; the best roster wins (ties: lowest search
   * index). As soon as one proves its roster optimal (Lagrangian bound) the others stop — except
   * with maxIterations, where every search runs to its count so the result is reproducible.
   * Default 1.
   */
  threads?: number;
}

type WorkerMessage =
  | { type: 'progress'; progress: SolveProgress }
  | { type: 'result'; result: SolveResult }
  | { type: 'error'; name: string; message: string; employeeIds?: string[] };

/**
 * Runs solve() in worker threads so the calling event loop stays free (queue locks keep
 * renewing). Rejects with InfeasibleInstanceError / InvalidInstanceError like solve() does.
 */
export async function solveInWorker(instance: Instance, options: SolveInWorkerOptions = {}, hooks: SolveInWorkerHooks = {}): Promise<SolveResult> {
  const { threads: requested, ...solveOptions } = options;
  const threads = Math.max(1, Math.floor(requested ?? 1));
  const t0 = performance.now();
  // One stop flag for all searches: abort, a search proving optimality, or a failed search.
  const cancel = new SharedArrayBuffer(4);
  const flag = new Int32Array(cancel);
  const stopAll = (): void => {
    Atomics.store(flag, 0, 1);
  };
  if (hooks.signal?.aborted) stopAll();
  hooks.signal?.addEventListener('abort', stopAll, { once: true });
  const latest: (SolveProgress | undefined)[] = new Array(threads);
  const onProgress = hooks.onProgress;
  // The best bound of any search holds for all (same instance).
  let lowerBound: number | null = null;
  try {
    const best = await runSearches(
      threads,
      (i) =>
        runThread({ instance, options: { ...solveOptions, seed: searchSeed(solveOptions.seed ?? 1, i) }, cancel }, (p) => {
          latest[i] = p;
          const all = combineProgress(latest);
          if (onProgress && all) onProgress(all);
        }).then((r) => {
          if (r.lowerBound !== null) lowerBound = Math.max(lowerBound ?? r.lowerBound, r.lowerBound);
          return r;
        }),
      stopAll,
      solveOptions.maxIterations === undefined,
    );
    return { ...best, elapsedMs: performance.now() - t0, lowerBound };
  } finally {
    hooks.signal?.removeEventListener('abort', stopAll);
  }
}

/** One search in its own worker thread; the thread is terminated once it has answered. */
function runThread(input: SolveWorkerInput, onProgress: (p: SolveProgress) => void): Promise<SolveResult> {
  const worker = new Worker(new URL('./solve-worker.ts', import.meta.url), { workerData: input });
  return new Promise<SolveResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') onProgress(msg.progress);
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
