import { expect, test as base } from 'vitest';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import { streamQuery } from './stream.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

test('a plain query of the same rows does grow the heap (the check below is meaningful)', async ({ tdb }) => {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  const r = await tdb.db.query(`SELECT g AS n, repeat('x', 200) AS pad FROM generate_series(1, 100000) g`);
  expect(r.rowCount).toBe(100_000);
  expect(process.memoryUsage().heapUsed - before).toBeGreaterThan(24 * 1024 * 1024);
});

test('streams 100,000 rows with flat memory', async ({ tdb }) => {
  const client = await tdb.db.connect();
  try {
    const rows = streamQuery<{ n: number; pad: string }>(client,
      `SELECT g AS n, repeat('x', 200) AS pad FROM generate_series(1, 100000) g`, [], 500);
    let count = 0;
    let sum = 0;
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'vitest runs with --expose-gc').toBeTypeOf('function');
    gc!();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    for await (const r of rows) {
      count++;
      sum += r.n;
      if (count % 10_000 === 0) {
        // Live heap only: collect first, so garbage awaiting collection does not count.
        gc!();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    }
    expect(count).toBe(100_000);
    expect(sum).toBe((100_000 * 100_001) / 2);
    // Materialising the whole result keeps > 24 MB alive (test above); a cursor keeps only one
    // 500-row batch (~150 KB) alive.
    expect(peak - baseline).toBeLessThan(8 * 1024 * 1024);
  } finally {
    client.release();
  }
});

test('a query that fails mid-stream rejects instead of hanging', async ({ tdb }) => {
  const client = await tdb.db.connect();
  try {
    // Division by zero on row 2,500: the error arrives after rows were streamed.
    const rows = streamQuery<{ n: number }>(client, 'SELECT 1 / (2500 - g) AS n FROM generate_series(1, 5000) g', [], 100);
    let seen = 0;
    const run = (async () => { for await (const _ of rows) seen++; })();
    await expect(Promise.race([run, new Promise((_, rej) => setTimeout(() => rej(new Error('hung')), 5000))])).rejects.toThrow(/division by zero/);
    expect(seen).toBeGreaterThan(0);
  } finally {
    client.release(true);
  }
});
