/**
 * Runs the solver off the main event loop, so BullMQ keeps renewing the job lock and the
 * cancellation subscriber keeps listening while a solve takes minutes. The main thread stops the
 * solver by setting a shared flag (a message would wait behind the synchronous search loop).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InfeasibleInstanceError, InvalidInstanceError, solve, type Instance, type SolveOptions } from '@rota/solver';
import type { ThreadMessage } from './solver-runner.ts';

type Input = { instance: Instance; options: Pick<SolveOptions, 'seed' | 'timeLimitMs' | 'maxIterations' | 'progressIntervalMs'>; stop: SharedArrayBuffer };

const { instance, options, stop } = workerData as Input;
const flag = new Int32Array(stop);
const post = (m: ThreadMessage): void => parentPort!.postMessage(m);
try {
  const r = solve(instance, {
    ...options,
    shouldStop: () => Atomics.load(flag, 0) !== 0,
    onProgress: (p) => post({ kind: 'progress', progress: p.progress, bestScore: p.bestScore, elapsedMs: p.elapsedMs }),
  });
  post({
    kind: 'done',
    result: { assignment: r.assignment, score: r.score, iterations: r.iterations, elapsedMs: r.elapsedMs, stoppedBy: r.stoppedBy, violations: r.hardViolations.length },
  });
} catch (e) {
  const err = e as Error;
  const invalid = e instanceof InfeasibleInstanceError || e instanceof InvalidInstanceError;
  post({ kind: 'error', name: err.name, message: err.message, invalidInput: invalid });
}
