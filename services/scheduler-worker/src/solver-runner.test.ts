import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAssignment, parseCurtois, type Instance } from '@rota/solver';
import { SolverAbortedError, createSolverPool } from './solver-runner.ts';

const dataDir = process.env.CURTOIS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/curtois');
const curtois = (i: number) => parseCurtois(readFileSync(join(dataDir, `Instance${i}.txt`), 'utf8'));

describe('solver pool with two threads per job', () => {
  const pool = createSolverPool(1, 2);
  afterAll(() => pool.close());

  it('runs two searches for one job: feasible, and the same roster for a seed under maxIterations', { timeout: 60_000 }, async () => {
    const inst = curtois(3);
    const options = { seed: 3, timeLimitMs: 60_000, maxIterations: 15_000, progressIntervalMs: 250 };
    const a = await pool.run(inst, options, () => {}).result;
    const b = await pool.run(inst, options, () => {}).result;
    expect(a.threads).toBe(2);
    expect(a.violations).toBe(0);
    expect(checkAssignment(inst, a.assignment)).toEqual([]);
    expect(b.assignment).toEqual(a.assignment);
    expect(b.score).toEqual(a.score);
    expect(a.stoppedBy).toBe('iterations');
  });

  it("lifts the minimums of an employee who cannot reach the minimum of the week a mid-week period closes, and reports them", { timeout: 30_000 }, async () => {
    // Wednesday..Sunday after 8 h booked on Monday, on leave on Saturday and Sunday, 40 h a week
    // at least: 8 h + 3 × 8 h fall short, so no roster meets the week's minimum.
    const inst: Instance = {
      days: 5, firstWeekday: 2,
      shiftTypes: [{ id: 'E', startMinute: 6 * 60, durationMinutes: 8 * 60, cannotFollow: [] }],
      employees: [{
        id: 'A', allowed: [[true], [true], [true], [false], [false]], maxShiftsPerType: [5], maxTotalMinutes: 5 * 480, minTotalMinutes: 0,
        minWeekMinutes: 40 * 60, maxConsecutiveWorkDays: 7, minConsecutiveWorkDays: 1, minConsecutiveDaysOff: 1, maxWeekends: 2,
        minRestMinutes: 0, hourlyCost: 0, fixed: [{ day: -2, startMinute: 6 * 60, durationMinutes: 8 * 60, type: 0 }],
      }],
      requests: [],
      cover: Array.from({ length: 5 }, () => [{ requirement: 1, weightUnder: 100, weightOver: 1 }]),
      weights: { fairnessHours: 0, fairnessWeekends: 0, cost: 0 },
    };
    const r = await pool.run(inst, { seed: 1, timeLimitMs: 10_000, maxIterations: 500, progressIntervalMs: 250 }, () => {}).result;
    expect(r.relaxedEmployeeIds).toEqual(['A']);
    expect(r.assignment).toEqual([[0, 0, 0, null, null]]);
    expect(checkAssignment(inst, r.assignment)).toMatchObject([{ rule: 'min-week-minutes', day: -2 }]);
  });

  it('reports progress (best over both) and abort ends both threads within a second', { timeout: 30_000 }, async () => {
    const inst = curtois(5);
    const progress: { at: number; bestScore: number }[] = [];
    const start = performance.now();
    const h = pool.run(inst, { seed: 1, timeLimitMs: 60_000, progressIntervalMs: 250 }, (p) => progress.push({ at: performance.now() - start, bestScore: p.bestScore }));
    await new Promise((r) => setTimeout(r, 3000));
    const abortedAt = performance.now() - start;
    h.abort();
    await expect(h.result).rejects.toBeInstanceOf(SolverAbortedError);
    expect(performance.now() - start - abortedAt).toBeLessThan(1000);
    expect(progress.length).toBeGreaterThan(0);
    // Terminated threads send nothing more; the pool replaced them and takes the next job.
    const count = progress.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(progress.length).toBe(count);
    const next = await pool.run(inst, { seed: 2, timeLimitMs: 60_000, maxIterations: 2000, progressIntervalMs: 250 }, () => {}).result;
    expect(next).toMatchObject({ threads: 2, violations: 0 });
  });
});
