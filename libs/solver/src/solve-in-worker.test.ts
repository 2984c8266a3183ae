import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkAssignment } from './check.ts';
import { curtoisObjective, parseCurtois } from './curtois.ts';
import { bestOf, runSearches, searchSeed } from './parallel.ts';
import { makeEmployee, makeInstance } from './test-factories.ts';
import { InfeasibleInstanceError, solve } from './solve.ts';
import { solveInWorker } from './solve-in-worker.ts';

const dataDir = process.env.CURTOIS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/curtois');
const curtois = (i: number) => parseCurtois(readFileSync(join(dataDir, `Instance${i}.txt`), 'utf8'));

describe('solveInWorker', () => {
  it('solves in a worker thread and stops within a second when aborted', async () => {
    const inst = curtois(5);
    const ac = new AbortController();
    const progress: number[] = [];
    const start = performance.now();
    // Late enough that worker start-up and construction are over even on a loaded 2-core machine.
    setTimeout(() => ac.abort(), 3000);
    const r = await solveInWorker(inst, { seed: 1, timeLimitMs: 60_000 }, { signal: ac.signal, onProgress: (p) => progress.push(p.bestScore) });
    const elapsed = performance.now() - start;
    expect(r.stoppedBy).toBe('cancel');
    expect(elapsed).toBeLessThan(3000 + 1000);
    expect(checkAssignment(inst, r.assignment)).toEqual([]);
    expect(curtoisObjective(inst, r.assignment)).toBe(r.score.total);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('rejects with InfeasibleInstanceError across the thread boundary', async () => {
    const inst = makeInstance({ days: 7, employees: [makeEmployee(7, 1, { id: 'X', minTotalMinutes: 10_000 })] });
    await expect(solveInWorker(inst, { timeLimitMs: 1000 })).rejects.toBeInstanceOf(InfeasibleInstanceError);
    await expect(solveInWorker(inst, { timeLimitMs: 1000, threads: 2 })).rejects.toBeInstanceOf(InfeasibleInstanceError);
  });
});

describe('solveInWorker with threads', () => {
  it('runs independent searches: the best of them, ties to the lowest index, reproducible with maxIterations', { timeout: 60_000 }, async () => {
    const inst = curtois(3);
    const options = { seed: 7, maxIterations: 15_000, timeLimitMs: 60_000 };
    const [a, b] = [await solveInWorker(inst, { ...options, threads: 2 }), await solveInWorker(inst, { ...options, threads: 2 })];
    expect(checkAssignment(inst, a.assignment)).toEqual([]);
    expect(b.assignment).toEqual(a.assignment);
    expect(b.score).toEqual(a.score);
    // Search 0 is exactly solve() with the caller's seed, search 1 solve() with searchSeed(seed, 1).
    const runs = [solve(inst, options), solve(inst, { ...options, seed: searchSeed(7, 1) })];
    expect(a.assignment).toEqual(bestOf(runs).assignment);
    expect(a.iterations).toBe(runs[0]!.iterations + runs[1]!.iterations);
    expect(a.stoppedBy).toBe('iterations');
  });

  it('reports the best score over all threads and stops all of them within a second when aborted', async () => {
    const inst = curtois(5);
    const ac = new AbortController();
    const progress: number[] = [];
    const start = performance.now();
    setTimeout(() => ac.abort(), 3000);
    const r = await solveInWorker(inst, { seed: 1, timeLimitMs: 60_000, threads: 2 }, { signal: ac.signal, onProgress: (p) => progress.push(p.bestScore) });
    expect(performance.now() - start).toBeLessThan(3000 + 1000);
    expect(r.stoppedBy).toBe('cancel');
    expect(checkAssignment(inst, r.assignment)).toEqual([]);
    expect(progress.length).toBeGreaterThan(0);
    expect(r.score.total).toBeLessThanOrEqual(progress.at(-1)!);
  });

});

describe('runSearches', () => {
  const outcome = (total: number, stoppedBy: string, iterations = 10) => ({ score: { total }, stoppedBy, iterations, tag: `${total}/${stoppedBy}` });
  const later = <T>(ms: number, v: T) => new Promise<T>((r) => setTimeout(() => r(v), ms));

  it('stops the others as soon as one proves optimality, and reports optimal', async () => {
    let stops = 0;
    let stoppedAt = -1;
    const t0 = performance.now();
    const r = await runSearches(2, (i) => (i === 0 ? later(50, outcome(828, 'optimal')) : new Promise<ReturnType<typeof outcome>>((res) => {
      // The other search ends only once the shared flag is set.
      const poll = setInterval(() => { if (stops > 0) { clearInterval(poll); stoppedAt = performance.now() - t0; res(outcome(829, 'cancel')); } }, 5);
    })), () => { stops++; }, true);
    expect(r).toMatchObject({ tag: '828/optimal', stoppedBy: 'optimal', iterations: 20 });
    expect(stoppedAt).toBeGreaterThanOrEqual(40);
    expect(stoppedAt).toBeLessThan(500);
  });

  it('lets every search run to its end when stopOnOptimal is false (maxIterations), ties to the lowest index', async () => {
    let stops = 0;
    const r = await runSearches(3, (i) => later(i === 1 ? 10 : 30, outcome(828, i === 1 ? 'optimal' : 'iterations')), () => { stops++; }, false);
    expect(stops).toBe(0);
    expect(r).toMatchObject({ tag: '828/iterations', stoppedBy: 'optimal', iterations: 30 });
  });

  it('stops the others and rejects with the first failure', async () => {
    let stops = 0;
    const failing = runSearches(2, (i) => (i === 0 ? later(100, outcome(1, 'time')) : Promise.reject<ReturnType<typeof outcome>>(new Error('boom'))), () => { stops++; }, true);
    await expect(failing).rejects.toThrow('boom');
    expect(stops).toBe(1);
  });
});

describe('searchSeed', () => {
  it('keeps the seed for search 0 and gives distinct seeds to the others', () => {
    expect(searchSeed(42, 0)).toBe(42);
    const seeds = new Set(Array.from({ length: 64 }, (_x, i) => searchSeed(42, i)));
    expect(seeds.size).toBe(64);
    expect(searchSeed(42, 1)).not.toBe(searchSeed(43, 1));
  });
});
