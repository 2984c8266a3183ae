/**
 * Runs the solver off the main event loop, so BullMQ keeps renewing the job lock and the
 * cancellation subscriber keeps listening while a solve takes minutes. The thread stays warm and
 * takes one job at a time (loading the solver costs a few hundred ms, not worth paying per job).
 * The main thread stops a search by setting a shared flag: a message would wait behind the
 * synchronous search loop.
 */
import { parentPort } from 'node:worker_threads';
import { InfeasibleInstanceError, InvalidInstanceError, relaxMinimums, solve, type Instance } from '@rota/solver';
import type { ThreadMessage, ThreadRequest } from './solver-runner.ts';

const post = (m: ThreadMessage): void => parentPort!.postMessage(m);

parentPort!.on('message', (req: ThreadRequest) => {
  const flag = new Int32Array(req.stop);
  try {
    // An employee whose own minimums cannot be met by any roster (e.g. a contract minimum above
    // what approved leave leaves room for) gets those minimums lifted, and is reported; once.
    let instance: Instance = req.instance;
    const relaxed: string[] = [];
    let r: ReturnType<typeof solve>;
    for (;;) {
      try {
        r = solve(instance, {
          ...req.options,
          shouldStop: () => Atomics.load(flag, 0) !== 0,
          onProgress: (p) => post({ kind: 'progress', progress: p.progress, bestScore: p.bestScore, elapsedMs: p.elapsedMs }),
        });
        break;
      } catch (e) {
        if (!(e instanceof InfeasibleInstanceError) || e.employeeIds.every((id) => relaxed.includes(id))) throw e;
        relaxed.push(...e.employeeIds.filter((id) => !relaxed.includes(id)));
        instance = relaxMinimums(req.instance, relaxed);
      }
    }
    post({
      kind: 'done',
      result: {
        assignment: r.assignment, score: r.score, iterations: r.iterations, elapsedMs: r.elapsedMs, stoppedBy: r.stoppedBy,
        violations: r.hardViolations.length, relaxedEmployeeIds: relaxed, threads: 1,
      },
    });
  } catch (e) {
    const err = e as Error;
    const invalid = e instanceof InfeasibleInstanceError || e instanceof InvalidInstanceError;
    post({ kind: 'error', name: err.name, message: err.message, invalidInput: invalid });
  }
});
