import { Worker } from 'node:worker_threads';
import type { Assignment, Instance, ScoreBreakdown } from '@rota/solver';

export type ThreadResult = { assignment: Assignment; score: ScoreBreakdown; iterations: number; elapsedMs: number; stoppedBy: string; violations: number };

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

export type SolverHandle = {
  result: Promise<ThreadResult>;
  /** Stops the search; the result is the best roster found so far (within ~50 ms). */
  stop(): void;
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
  current: { resolve: (r: ThreadResult) => void; reject: (e: Error) => void; onProgress: ProgressListener; touch(): void } | null;
};

/** A thread that says nothing for this long (progress comes every ≤ 250 ms) is hung: killed, job retried. */
const SILENCE_MS = 20_000;
/** …and one that runs this much past the job's time limit. */
const OVERRUN_MS = 30_000;

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
      cur.touch();
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
      let silence: NodeJS.Timeout | undefined;
      let overrun: NodeJS.Timeout | undefined;
      const hung = (why: string): void => {
        const cur = s.current;
        if (!cur) return;
        s.current = null;
        cur.reject(new Error(`solver thread ${why}; thread restarted`));
        void s.thread.terminate();
      };
      const result = new Promise<ThreadResult>((resolve, reject) => {
        s.current = {
          resolve, reject, onProgress,
          touch: () => {
            clearTimeout(silence);
            silence = setTimeout(() => hung(`silent for ${SILENCE_MS / 1000} s`), SILENCE_MS);
          },
        };
        s.current.touch();
        overrun = setTimeout(() => hung(`still running ${OVERRUN_MS / 1000} s past its time limit`), options.timeLimitMs + OVERRUN_MS);
        s.thread.postMessage({ instance, options, stop } satisfies ThreadRequest);
      }).finally(() => {
        clearTimeout(silence);
        clearTimeout(overrun);
      });
      return { result, stop: () => { Atomics.store(flag, 0, 1); } };
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.thread.terminate()));
    },
  };
}
