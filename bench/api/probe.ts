// Loaded into every server process of bench:api (`--import`): what happened inside the process
// during a measured phase, to tell a slow server from a slow machine. SIGUSR2 writes the figures
// since the previous SIGUSR2 to `${BENCH_PROBE_DIR}/<pid>.json` and starts counting anew.
//   loopP99Ms / loopMaxMs  event-loop delay: how late a timer due every 10 ms fired
//   gc                     garbage-collection pauses: count, total and longest ms, mark-compacts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export type ProbeFigures = { loopP99Ms: number; loopMaxMs: number; gc: { count: number; totalMs: number; maxMs: number; major: number } };

const dir = process.env['BENCH_PROBE_DIR'];
if (dir) {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const zero = (): ProbeFigures['gc'] => ({ count: 0, totalMs: 0, maxMs: 0, major: 0 });
  let gc = zero();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      if (((e as unknown as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    }
  }).observe({ entryTypes: ['gc'] });
  // The histogram holds the whole interval between the timer's runs: its 10 ms are taken off.
  const ms = (ns: number): number => Math.max(0, Math.round((ns - 10e6) / 1e4) / 100);
  process.on('SIGUSR2', () => {
    const figures: ProbeFigures = {
      loopP99Ms: ms(loop.percentile(99)), loopMaxMs: ms(loop.max),
      gc: { ...gc, totalMs: Math.round(gc.totalMs * 100) / 100, maxMs: Math.round(gc.maxMs * 100) / 100 },
    };
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(figures));
    loop.reset();
    gc = zero();
  });
}
