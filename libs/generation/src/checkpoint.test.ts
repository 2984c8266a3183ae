import { describe, expect, test as base } from 'vitest';
import { solve } from '@rota/solver';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import {
  checkpointOf, createScenario, insertRun, loadInstance, readCheckpoint, readRun, resumeFrom, saveCheckpoint,
} from './index.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

const loadedOf = (employeeIds: string[], templateIds: string[], days: number) => ({
  employeeIds,
  templates: templateIds.map((id) => ({ id, code: id, startMinute: 0, durationMinutes: 480 })),
  instance: { days } as never,
});

describe('checkpoint: the roster of an attempt that could not write it', () => {
  test('maps back by employee and template ids, whatever their order now', () => {
    const before = loadedOf(['e1', 'e2', 'e3'], ['tE', 'tN'], 3);
    const c = checkpointOf(before, [[0, null, 1], [1, 1, null], [null, 0, 0]], 1234.4, 42);
    expect(c).toEqual({ solvedMs: 1234, score: 42, employeeIds: ['e1', 'e2', 'e3'], templateIds: ['tE', 'tN'], rows: [[0, -1, 1], [1, 1, -1], [-1, 0, 0]] });
    // Reloaded: e2 left, e4 joined, the templates come in another order and N is gone.
    const after = loadedOf(['e3', 'e4', 'e1'], ['tD', 'tE'], 3);
    expect(resumeFrom(after, c)).toEqual([
      [null, 1, 1], // e3: E→1
      [null, null, null], // e4: not in the roster, the solver builds its row
      [1, null, null], // e1: N is gone, that day is off
    ]);
  });

  test('a period of another length gives nothing to go on from', () => {
    const c = checkpointOf(loadedOf(['e1'], ['t'], 2), [[0, 0]], 10, 1);
    expect(resumeFrom(loadedOf(['e1'], ['t'], 3), c)).toBeUndefined();
  });

  test('kept on a running run only, read back, and dropped once the run ended, whoever ended it', async ({ tdb }) => {
    const s = await createScenario(tdb.db, { employees: 4, periodStart: '2030-01-07', days: 7 });
    const runId = await insertRun(tdb.db, s);
    const loaded = await loadInstance(tdb.db, (await readRun(tdb.db, runId))!);
    const r = solve(loaded.instance, { seed: 1, maxIterations: 2000 });
    const c = checkpointOf(loaded, r.assignment, r.elapsedMs, r.score.total);
    expect(await saveCheckpoint(tdb.db, runId, c)).toBe(false); // queued: not this worker's
    await tdb.db.query(`UPDATE generation_runs SET status = 'running' WHERE id = $1`, [runId]);
    expect(await saveCheckpoint(tdb.db, runId, c)).toBe(true);
    const back = await readCheckpoint(tdb.db, runId);
    expect(back).toEqual(c);
    expect(resumeFrom(loaded, back!)).toEqual(r.assignment.map((row) => row.map((t) => t ?? null)));
    // Handed back (queued again): kept for the next attempt.
    await tdb.db.query(`UPDATE generation_runs SET status = 'queued' WHERE id = $1`, [runId]);
    expect(await readCheckpoint(tdb.db, runId)).toEqual(c);
    // Cancelled while waiting (the API's cancel, not the worker): dropped by the trigger.
    await tdb.db.query(`UPDATE generation_runs SET status = 'cancelled' WHERE id = $1`, [runId]);
    expect(await readCheckpoint(tdb.db, runId)).toBeUndefined();
    // Garbage in the column is no checkpoint (the next attempt starts over).
    await tdb.db.query(`UPDATE generation_runs SET checkpoint = '{"rows": 1}' WHERE id = $1`, [runId]);
    expect(await readCheckpoint(tdb.db, runId)).toBeUndefined();
  });
});
