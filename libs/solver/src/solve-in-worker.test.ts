import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkAssignment } from './check.ts';
import { curtoisObjective, parseCurtois } from './curtois.ts';
import { makeEmployee, makeInstance } from './test-factories.ts';
import { InfeasibleInstanceError } from './solve.ts';
import { solveInWorker } from './solve-in-worker.ts';

const dataDir = process.env.CURTOIS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/curtois');

describe('solveInWorker', () => {
  it('solves in a worker thread and stops within a second when aborted', async () => {
    const inst = parseCurtois(readFileSync(join(dataDir, 'Instance5.txt'), 'utf8'));
    const ac = new AbortController();
    const progress: number[] = [];
    const start = performance.now();
    setTimeout(() => ac.abort(), 1500);
    const r = await solveInWorker(inst, { seed: 1, timeLimitMs: 60_000 }, { signal: ac.signal, onProgress: (p) => progress.push(p.bestScore) });
    const elapsed = performance.now() - start;
    expect(r.stoppedBy).toBe('cancel');
    expect(elapsed).toBeLessThan(1500 + 1000 + 1000); // abort + 1 s, plus worker start-up
    expect(checkAssignment(inst, r.assignment)).toEqual([]);
    expect(curtoisObjective(inst, r.assignment)).toBe(r.score.total);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('rejects with InfeasibleInstanceError across the thread boundary', async () => {
    const inst = makeInstance({ days: 7, employees: [makeEmployee(7, 1, { id: 'X', minTotalMinutes: 10_000 })] });
    await expect(solveInWorker(inst, { timeLimitMs: 1000 })).rejects.toBeInstanceOf(InfeasibleInstanceError);
  });
});
