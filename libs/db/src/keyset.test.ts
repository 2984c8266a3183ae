import { describe, expect, test as base } from 'vitest';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import { CursorError, decodeCursor, encodeCursor, keysetClause, pageOf, type SortColumn } from './keyset.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

type Row = { id: string; last_name: string; hire_date: string; created_at: string };

const SORTS: Record<string, SortColumn[]> = {
  lastNameAsc: [{ sql: 'last_name', direction: 'asc', type: 'text' }, { sql: 'id', direction: 'asc', type: 'bigint' }],
  hireDateDesc: [{ sql: 'hire_date', direction: 'desc', type: 'date' }, { sql: 'id', direction: 'desc', type: 'bigint' }],
  // mixed directions exercise the OR-chain form
  createdAtDescIdAsc: [{ sql: 'created_at', direction: 'desc', type: 'timestamptz' }, { sql: 'id', direction: 'asc', type: 'bigint' }],
};

async function insertEmployees(tdb: TestDatabase, dept: string, from: number, n: number): Promise<void> {
  await tdb.db.query(
    `INSERT INTO employees (email, first_name, last_name, department_id, hire_date, created_at)
     SELECT 'e' || g || '@x.io', 'F', 'L' || (g % 37), $1, date '2020-01-01' + (g % 50),
            timestamptz '2024-01-01' + (g % 11) * interval '1 microsecond'
       FROM generate_series($2::int, $3::int) g`, [dept, from, from + n - 1]);
}

async function readAll(tdb: TestDatabase, sortName: string, limit: number, during?: (page: number) => Promise<void>): Promise<string[]> {
  const sort = SORTS[sortName]!;
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const after = cursor ? decodeCursor(cursor, sortName, sort.length) : undefined;
    const k = keysetClause(sort, after, 1);
    const r = await tdb.db.query<Row>(
      `SELECT id, last_name, hire_date::text AS hire_date, created_at::text AS created_at FROM employees
        WHERE ${k.where} AND email NOT LIKE 'late%' ORDER BY ${k.orderBy} LIMIT ${limit + 1}`, k.params);
    const p = pageOf(r.rows, limit, (row) => sort.map((c) => (row as Record<string, string>)[c.sql]!), sortName);
    seen.push(...p.data.map((x) => x.id));
    await during?.(page);
    if (!p.nextCursor) break;
    cursor = p.nextCursor;
  }
  return seen;
}

describe('keyset pagination', () => {
  test.for(Object.keys(SORTS))('returns every row exactly once under concurrent inserts (%s)', async (sortName, { tdb }) => {
    {
      const d = await tdb.db.query<{ id: string }>(`INSERT INTO departments (name) VALUES ('d') RETURNING id`);
      const dept = d.rows[0]!.id;
      await insertEmployees(tdb, dept, 1, 1000);
      let late = 0;
      // Rows inserted while paging are excluded from the check by their email, but they shift
      // positions around the cursor; an OFFSET-based pager would skip or repeat rows here.
      const seen = await readAll(tdb, sortName, 37, async () => {
        await tdb.db.query(
          `INSERT INTO employees (email, first_name, last_name, department_id, hire_date)
           SELECT 'late' || $2 || '-' || g || '@x.io', 'F', 'L' || (g % 37), $1, date '2020-01-01' + (g % 50)
             FROM generate_series(1, 7) g`, [dept, late++]);
      });
      expect(seen.length).toBe(1000);
      expect(new Set(seen).size).toBe(1000);
    }
  });

  test('rejects tampered cursors and cursors of another sort', () => {
    expect(() => decodeCursor('not base64 json', 'a', 2)).toThrow(CursorError);
    const c = encodeCursor(['x', 1], 'lastNameAsc');
    expect(() => decodeCursor(c, 'hireDateDesc', 2)).toThrow(/another sort/);
    expect(() => decodeCursor(c, 'lastNameAsc', 3)).toThrow(CursorError);
    expect(decodeCursor(c, 'lastNameAsc', 2)).toEqual(['x', 1]);
  });

  test('same-direction sorts use a row comparison the index can serve', () => {
    const k = keysetClause(SORTS['lastNameAsc']!, ['Smith', '10'], 3);
    expect(k.where).toBe('(last_name, id) > ($3::text, $4::bigint)');
    expect(k.orderBy).toBe('last_name ASC, id ASC');
  });
});
