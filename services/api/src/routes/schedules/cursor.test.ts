import { describe, expect, test as base } from 'vitest';
import { createDb } from '@rota/db';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import { withExportCursor } from './cursor.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('export cursor', () => {
  test('a slow consumer outlives the pool statement timeout (a cursor statement lasts until its last fetch)', async ({ tdb }) => {
    const db = createDb({ url: tdb.url, applicationName: 'cursor-test', max: 2, statementTimeoutMs: 300 });
    try {
      const sql = 'SELECT g FROM generate_series(1, 5000) g';
      const slowly = async (rows: AsyncIterable<{ g: number }>): Promise<number> => {
        let n = 0;
        for await (const _ of rows) if (++n % 1000 === 0) await pause(150);
        return n;
      };
      // Without its own timeout the pool's 300 ms cancels the cursor half-way, and the error
      // surfaces at once (pg-cursor alone would leave the iterator pending forever) …
      const plain = await db.connect();
      await expect(withExportCursor<{ g: number }>(plain, sql, [], async (rows) => { await slowly(rows); }, 300)).rejects.toThrow(/statement timeout/);
      plain.release(true);
      // … with the export timeout it reads all 5 000 rows in about 750 ms, and the connection is clean afterwards.
      const client = await db.connect();
      try {
        let n = 0;
        await withExportCursor<{ g: number }>(client, sql, [], async (rows) => { n = await slowly(rows); });
        expect(n).toBe(5000);
        const state = await client.query<{ statement_timeout: string }>('SHOW statement_timeout');
        expect(state.rows[0]!.statement_timeout).toBe('300ms'); // SET LOCAL ended with the transaction
      } finally {
        client.release();
      }
    } finally {
      await db.end();
    }
  });

  test('stopping early closes the cursor and commits', async ({ tdb }) => {
    const client = await tdb.db.connect();
    try {
      await withExportCursor<{ g: number }>(client, 'SELECT g FROM generate_series(1, 100000) g', [], async (rows) => {
        for await (const r of rows) if (r.g === 10) break;
      });
      const tx = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_cursors`);
      expect(tx.rows[0]!.n).toBe(0);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
  });
});
