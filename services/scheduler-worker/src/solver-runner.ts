import { Worker } from 'node:worker_threads';
import { combineProgress, runSearches, searchSeed, type Assignment, type Instance, type ScoreBreakdown } from '@rota/solver';

export type ThreadResult = {
  assignment: Assignment; score: ScoreBreakdown; iterations: number; elapsedMs: number; stoppedBy: string; violations: number;
  /** Parallel searches this result is the best of (1 from one thread). */
  threads: number;
  /** Employees whose minimum-type rules were lifted because no roster could meet them. */
  relaxedEmployeeIds: string[];
};

/** `initial`: the roster to start from (a checkpoint of an earlier attempt, @rota/generation). */
export type SolveThreadOptions = { seed: number; timeLimitMs: number; maxIterations?: number; progressIntervalMs: number; initial?: Assignment };

export type ThreadRequest = { instance: Instance; options: SolveThreadOptions; stop: SharedArrayBuffer };

export type ThreadMessage =
  | { kind: 'progress'; progress: number; bestScore: number; elapsedMs: number }
  | { kind: 'done'; result: ThreadResult }
  | { kind: 'error'; name: string; message: string; invalidInput: boolean };

/** The solver rejected the input (malformed, or no roster can satisfy an employee's hard rules). */
export class SolverInputError extends Error {
  override readonly name = 'SolverInputError';
}

/** The search was aborted (thread terminated); there is no result. */
export class SolverAbortedError extends Error {
  override readonly name = 'SolverAbortedError';
}

export type SolverHandle = {
  result: Promise<ThreadResult>;
  /** Asks every search to stop; the result is the best roster found so far (as soon as the solvers poll). */
  stop(): void;
  /**
   * Ends the search at once by terminating its threads (the result rejects with
   * SolverAbortedError; the pool starts fresh threads). For cancel, where the roster is not
   * wanted, and for a shutdown whose stopped search has not answered in time: the solver may go
   * seconds without polling its stop flag.
   */
  abort(): void;
};

export type ProgressListener = (p: { progress: number; bestScore: number; elapsedMs: number }) => void;

export type SolverPool = {
  /** Solves with `threads` parallel searches (see createSolverPool). */
  run(instance: Instance, options: SolveThreadOptions, onProgress: ProgressListener): SolverHandle;
  /** Parallel searches per job. */
  readonly threads: number;
  close(): Promise<void>;
};

const THREAD_URL = new URL('./solve-thread.ts', import.meta.url);

type Slot = {
  thread: Worker;
  /** The job on this thread, if any. */
  current: { resolve: (r: ThreadResult) => void; reject: (e: Error) => void; onProgress: ProgressListener } | null;
};

/**
 * A thread still running this long past the job's time limit is hung: killed, job retried. (No
 * silence watchdog: the solver has phases that report no progress for 20 s on Curtois 8.)
 */
const OVERRUN_MS = 120_000;

/**
 * Warm solver threads: `threads` per job, `jobs` jobs at once. A job runs `threads` independent
 * searches (seeds from searchSeed, the first one the job's own seed), each in its own thread with
 * the whole time limit; the best roster wins, ties to the lowest search index, so a maxIterations
 * run stays reproducible. Searches vary a lot by seed on tight instances, so a second core is
 * best spent on a second search. When one search proves its roster optimal (Lagrangian bound)
 * the others are stopped — not under maxIterations, where every search runs to its count.
 * A thread that dies (OOM, crash) fails its job — BullMQ retries it — and is replaced.
 */
export function createSolverPool(jobs: number, threads = 1): SolverPool {
  const slots: Slot[] = [];
  let closed = false;

  const spawn = (): Slot => {
    const slot: Slot = { thread: new Worker(THREAD_URL), current: null };
    slot.thread.on('message', (m: ThreadMessage) => {
      const cur = slot.current;
      if (!cur) return;
      if (m.kind === 'progress') {
        cur.onProgress(m);
        return;
      }
      slot.current = null;
      if (m.kind === 'done') cur.resolve(m.result);
      else cur.reject(m.invalidInput ? new SolverInputError(m.message) : new Error(`${m.name}: ${m.message}`));
    });
    let dead = false;
    const died = (e: Error): void => {
      if (dead) return;
      dead = true;
      const cur = slot.current;
      slot.current = null;
      cur?.reject(e);
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      if (!closed) slots.push(spawn());
    };
    slot.thread.on('error', died);
    slot.thread.on('exit', (code) => { if (!closed) died(new Error(`solver thread exited with code ${code}`)); });
    // An idle warm thread must not keep the process alive on its own.
    slot.thread.unref();
    return slot;
  };
  for (let i = 0; i < jobs * threads; i++) slots.push(spawn());

  /** One search on a free thread; `kill` terminates that thread (the pool replaces it). */
  const runOne = (instance: Instance, options: SolveThreadOptions, stop: SharedArrayBuffer, onProgress: ProgressListener) => {
    let slot = slots.find((s) => s.current === null);
    if (!slot) {
      slot = spawn();
      slots.push(slot);
    }
    const s = slot;
    let overrun: NodeJS.Timeout | undefined;
    let mine: Slot['current'] = null;
    const kill = (err: Error): void => {
      // Only while the thread still runs this search (it may have finished and taken another).
      if (!mine || s.current !== mine) return;
      s.current = null;
      mine.reject(err);
      void s.thread.terminate();
    };
    const result = new Promise<ThreadResult>((resolve, reject) => {
      mine = { resolve, reject, onProgress };
      s.current = mine;
      overrun = setTimeout(() => kill(new Error(`solver thread still running ${OVERRUN_MS / 1000} s past its time limit; thread restarted`)),
        options.timeLimitMs + OVERRUN_MS);
      s.thread.postMessage({ instance, options, stop } satisfies ThreadRequest);
    }).finally(() => {
      clearTimeout(overrun);
    });
    return { result, kill };
  };

  return {
    threads,
    run(instance, options, onProgress) {
      // One stop flag for all searches of the job.
      const stop = new SharedArrayBuffer(4);
      const flag = new Int32Array(stop);
      const stopAll = (): void => { Atomics.store(flag, 0, 1); };
      const latest: Parameters<ProgressListener>[0][] = [];
      const searches = Array.from({ length: threads }, (_x, i) => runOne(instance, { ...options, seed: searchSeed(options.seed, i) }, stop, (p) => {
        latest[i] = p;
        const all = combineProgress(latest);
        if (all) onProgress(all);
      }));
      const abortAll = (err: Error): void => {
        stopAll();
        for (const s of searches) s.kill(err);
      };
      const result = runSearches(threads, (i) => searches[i]!.result.catch((e: unknown) => {
        // One search failed (bad input, dead thread, aborted): the others are not wanted either.
        abortAll(e instanceof Error ? e : new Error(String(e)));
        throw e;
      }), stopAll, options.maxIterations === undefined).then((best): ThreadResult => ({ ...best, threads }));
      return {
        result,
        stop: stopAll,
        abort: () => abortAll(new SolverAbortedError('solver aborted')),
      };
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.thread.terminate()));
    },
  };
}
