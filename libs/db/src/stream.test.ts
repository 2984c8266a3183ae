import { expect, test as base } from 'vitest';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import { streamQuery } from './stream.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

test('a plain query of the same rows does grow the heap (the check below is meaningful)', async ({ tdb }) => {
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
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    for await (const r of rows) {
      count++;
      sum += r.n;
      if (count % 2_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    expect(count).toBe(100_000);
    expect(sum).toBe((100_000 * 100_001) / 2);
    // Materialising the whole result costs ~60 MB of heap (measured with a plain query); a
    // cursor keeps only one 500-row batch (~150 KB) alive, plus garbage awaiting collection.
    expect(peak - baseline).toBeLessThan(24 * 1024 * 1024);
  } finally {
    client.release();
  }
});
