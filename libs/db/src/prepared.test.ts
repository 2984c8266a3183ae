import { afterEach, expect, test as base } from 'vitest';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import { createDb, StatementNames, type Db } from './pool.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

const opened: Db[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.end()));
});

/** A pool of one connection, so every statement and the check below share its session. */
function singleConnection(url: string, options: { preparedStatements?: boolean; preparedStatementsMax?: number } = {}): Db {
  const db = createDb({ url, applicationName: 'rota:test-prepared', max: 1, ...options });
  opened.push(db);
  return db;
}

const prepared = async (db: Db): Promise<string[]> =>
  (await db.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements ORDER BY statement')).rows.map((r) => r.statement);

/** Runs a statement twice: a text is prepared from its second run on (one-off SQL never is). */
const twice = async (db: Db, sql: string, values: unknown[]): Promise<void> => {
  await db.read(sql, values);
  await db.read(sql, values);
};

test('a repeated parameterized read runs as a prepared statement, parsed once per connection', async ({ tdb }) => {
  const db = singleConnection(tdb.url);
  const sql = 'SELECT g FROM generate_series(1, $1::int) g';
  expect((await db.read(sql, [3])).rows.map((r) => r['g'])).toEqual([1, 2, 3]);
  expect(await prepared(db)).toEqual([]); // seen once: unnamed
  expect((await db.read(sql, [2])).rowCount).toBe(2);
  expect(await prepared(db)).toEqual([sql]);
  expect((await db.read(sql, [1])).rowCount).toBe(1);
  expect(await prepared(db)).toEqual([sql]);
  // Statements without parameters (BEGIN, DDL, one-off admin SQL) stay unnamed.
  await db.query('SELECT 1');
  await db.query('SELECT 1');
  expect(await prepared(db)).toEqual([sql]);
  for (let i = 0; i < 2; i++) await db.tx(async (q) => { await q.query('SELECT $1::int + 1 AS n', [1]); });
  expect(await prepared(db)).toEqual(['SELECT $1::int + 1 AS n', sql].sort());
  expect(db.prepared()).toEqual({ statements: 2, renewals: 0 });
});

test('preparedStatements: false runs every statement unnamed', async ({ tdb }) => {
  const db = singleConnection(tdb.url, { preparedStatements: false });
  await twice(db, 'SELECT $1::int AS n', [1]);
  expect(await prepared(db)).toEqual([]);
});

test('at most preparedStatementsMax distinct texts are prepared; the rest run unnamed and still answer', async ({ tdb }) => {
  const db = singleConnection(tdb.url, { preparedStatementsMax: 2 });
  for (const n of [1, 2, 3, 4]) {
    for (let i = 0; i < 2; i++) expect((await db.read(`SELECT $1::int + ${n} AS n`, [1])).rows[0]!['n']).toBe(1 + n);
  }
  expect(await prepared(db)).toEqual(['SELECT $1::int + 1 AS n', 'SELECT $1::int + 2 AS n']);
});

test('one-off statements (texts never repeated) are not prepared and do not use up the bound', async ({ tdb }) => {
  const db = singleConnection(tdb.url, { preparedStatementsMax: 2 });
  for (let n = 0; n < 50; n++) await db.read(`SELECT $1::int + ${n} AS once`, [1]);
  await twice(db, 'SELECT $1::int AS repeated', [1]);
  expect(await prepared(db)).toEqual(['SELECT $1::int AS repeated']);
});

test('a statement whose result columns changed (DDL since it was prepared) is answered, then prepared anew', async ({ tdb }) => {
  const db = singleConnection(tdb.url);
  await db.query('CREATE TABLE widgets (id int PRIMARY KEY, name text)');
  await db.query(`INSERT INTO widgets VALUES (1, 'a')`);
  const sql = 'SELECT * FROM widgets WHERE id = $1';
  await twice(db, sql, [1]);
  expect((await db.read(sql, [1])).rows).toEqual([{ id: 1, name: 'a' }]);
  expect(await prepared(db)).toEqual([sql]);
  await db.query(`ALTER TABLE widgets ADD COLUMN colour text NOT NULL DEFAULT 'red'`);
  // Postgres refuses the old prepared statement ("cached plan must not change result type"); the
  // read retries unnamed and later runs use a fresh name.
  expect((await db.read(sql, [1])).rows).toEqual([{ id: 1, name: 'a', colour: 'red' }]);
  expect((await db.read(sql, [1])).rows).toEqual([{ id: 1, name: 'a', colour: 'red' }]);
  expect(await prepared(db)).toEqual([sql]);
  // Inside a transaction the failed statement aborted it: tx() runs the whole transaction again
  // (rolled back, so nothing is applied twice) and the caller never sees the error.
  await db.query('ALTER TABLE widgets ADD COLUMN size int');
  let runs = 0;
  const rows = await db.tx(async (q) => {
    runs++;
    await q.query(`UPDATE widgets SET name = name || 'x' WHERE id = $1`, [1]);
    return (await q.query(sql, [1])).rows;
  });
  expect(runs).toBe(2);
  expect(rows).toEqual([{ id: 1, name: 'ax', colour: 'red', size: null }]);
  // Any other error is not retried.
  runs = 0;
  await expect(db.tx(async (q) => { runs++; await q.query('SELECT 1 / $1::int', [0]); })).rejects.toThrow(/division by zero/);
  expect(runs).toBe(1);
});

test('a prepared statement dropped under the client (session reset by a pooler) is answered, then prepared anew', async ({ tdb }) => {
  const db = singleConnection(tdb.url);
  const sql = 'SELECT $1::int * 2 AS n';
  await twice(db, sql, [1]);
  expect((await db.read(sql, [2])).rows[0]!['n']).toBe(4);
  expect(await prepared(db)).toEqual([sql]);
  await db.query('DEALLOCATE ALL');
  expect(db.prepared()).toEqual({ statements: 1, renewals: 0 });
  expect((await db.read(sql, [3])).rows[0]!['n']).toBe(6);
  expect((await db.read(sql, [4])).rows[0]!['n']).toBe(8);
  expect(await prepared(db)).toEqual([sql]);
  // Counted for operators (db_prepared_statement_renewals_total): steady growth means a pooler loses them.
  expect(db.prepared()).toEqual({ statements: 1, renewals: 1 });
});

test('names are stable per text (from its second use), distinct across texts, and renewed on demand', () => {
  const names = new StatementNames(10);
  expect(names.nameOf('SELECT 1 WHERE $1')).toBeUndefined();
  expect(names.nameOf('SELECT 2 WHERE $1')).toBeUndefined();
  const a = names.nameOf('SELECT 1 WHERE $1');
  expect(a).toBeDefined();
  expect(names.nameOf('SELECT 1 WHERE $1')).toBe(a);
  expect(names.nameOf('SELECT 2 WHERE $1')).not.toBe(a);
  names.renew('SELECT 1 WHERE $1');
  const renewed = names.nameOf('SELECT 1 WHERE $1');
  expect(renewed).not.toBe(a);
  names.renew('SELECT 1 WHERE $1');
  expect(new Set([a, renewed, names.nameOf('SELECT 1 WHERE $1')]).size).toBe(3);
  expect(names.size).toBe(2);
});

test('statements a transaction starts at once are sent one after another, in order, none while another runs', async ({ tdb }) => {
  const db = singleConnection(tdb.url);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const out = await db.tx(async (q) => {
    const query = q.raw.query.bind(q.raw) as (...a: unknown[]) => Promise<unknown>;
    (q.raw as { query: unknown }).query = (...a: unknown[]) => {
      most = Math.max(most, ++running);
      return query(...a).finally(() => { running--; });
    };
    const started = [q.query('SELECT pg_sleep(0.05), 1 AS n'), q.query('SELECT $1::int AS n', [2]), q.query('SELECT 3 AS n')].map((p) =>
      p.then((r) => { order.push(r.rows[0]!['n'] as number); return r.rows[0]!['n']; }));
    // A failing statement aborts the transaction: the ones queued behind it fail too, as on the wire.
    const failed = q.query('SELECT 1/0');
    const after = q.query('SELECT 4 AS n');
    const results = await Promise.allSettled([...started, failed, after]);
    return results.map((r) => r.status);
  }).catch((e: unknown) => e);
  expect(out).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
  expect(order).toEqual([1, 2, 3]);
  expect(most).toBe(1);
});
