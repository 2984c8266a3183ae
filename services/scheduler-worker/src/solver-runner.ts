import { Worker } from 'node:worker_threads';
import type { Assignment, Instance, ScoreBreakdown } from '@rota/solver';

export type ThreadResult = {
  assignment: Assignment; score: ScoreBreakdown; iterations: number; elapsedMs: number; stoppedBy: string; violations: number;
  /** Employees whose minimum-type rules were lifted because no roster could meet them. */
  relaxedEmployeeIds: string[];
};

export type SolveThreadOptions = { seed: number; timeLimitMs: number; maxIterations?: number; progressIntervalMs: number };

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
  /** Asks the search to stop; the result is the best roster found so far (as soon as the solver polls). */
  stop(): void;
  /**
   * Ends the search at once by terminating its thread (the result rejects with
   * SolverAbortedError; the pool starts a fresh thread). For cancel and shutdown, where the
   * roster is not wanted: the solver may go seconds without polling its stop flag.
   */
  abort(): void;
};

export type ProgressListener = (p: { progress: number; bestScore: number; elapsedMs: number }) => void;

export type SolverPool = {
  run(instance: Instance, options: SolveThreadOptions, onProgress: ProgressListener): SolverHandle;
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
 * `size` warm solver threads (one per concurrent job). A thread that dies (OOM, crash) fails its
 * job — BullMQ retries it — and is replaced.
 */
export function createSolverPool(size: number): SolverPool {
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
  for (let i = 0; i < size; i++) slots.push(spawn());

  return {
    run(instance, options, onProgress) {
      let slot = slots.find((s) => s.current === null);
      if (!slot) {
        slot = spawn();
        slots.push(slot);
      }
      const stop = new SharedArrayBuffer(4);
      const flag = new Int32Array(stop);
      const s = slot;
      let overrun: NodeJS.Timeout | undefined;
      const kill = (err: Error): void => {
        const cur = s.current;
        if (!cur) return;
        s.current = null;
        cur.reject(err);
        void s.thread.terminate();
      };
      let current: ((r: ThreadResult) => void) | undefined;
      const result = new Promise<ThreadResult>((resolve, reject) => {
        current = resolve;
        s.current = { resolve, reject, onProgress };
        overrun = setTimeout(() => kill(new Error(`solver thread still running ${OVERRUN_MS / 1000} s past its time limit; thread restarted`)),
          options.timeLimitMs + OVERRUN_MS);
        s.thread.postMessage({ instance, options, stop } satisfies ThreadRequest);
      }).finally(() => {
        clearTimeout(overrun);
      });
      return {
        result,
        stop: () => { Atomics.store(flag, 0, 1); },
        abort: () => {
          Atomics.store(flag, 0, 1);
          if (s.current?.resolve === current) kill(new SolverAbortedError('solver aborted'));
        },
      };
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.thread.terminate()));
    },
  };
}
