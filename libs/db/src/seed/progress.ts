import cliProgress from 'cli-progress';
import type { SeedProgress } from './seed.ts';

/** A cli-progress bar per phase on a TTY; one plain line per finished phase otherwise (CI logs, pipes). */
export function createSeedProgress(stream: NodeJS.WriteStream, quiet: boolean): SeedProgress {
  if (quiet) return { phase: () => {}, tick: () => {}, done: () => {} };
  let name = '';
  let started = 0;
  if (!stream.isTTY) {
    return {
      phase: (p) => { name = p; started = performance.now(); },
      tick: () => {},
      done: (rows) => { stream.write(`seed: ${name.padEnd(22)} ${String(rows).padStart(9)} rows  ${((performance.now() - started) / 1000).toFixed(1)} s\n`); },
    };
  }
  let bar: cliProgress.SingleBar | undefined;
  return {
    phase: (p, expected) => {
      name = p;
      started = performance.now();
      bar = new cliProgress.SingleBar({
        stream,
        format: `seed: ${p.padEnd(22)} |{bar}| {percentage}% {value}/{total} rows`,
        hideCursor: true,
        clearOnComplete: true,
      }, cliProgress.Presets.shades_classic);
      bar.start(Math.max(1, expected), 0);
    },
    tick: (rows) => {
      if (!bar) return;
      // Estimates (shifts) can be low: grow the total rather than overflow.
      const value = (bar.getProgress() * bar.getTotal()) + rows;
      if (value > bar.getTotal()) bar.setTotal(value);
      bar.increment(rows);
    },
    done: (rows) => {
      bar?.stop();
      bar = undefined;
      stream.write(`seed: ${name.padEnd(22)} ${String(rows).padStart(9)} rows  ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}
