import { z } from 'zod';

/**
 * Keyset pagination over any sort tuple. The last column must be unique (normally the id) so the
 * order is total; the cursor carries the last row's sort values, base64url-encoded.
 */
export type SortColumn = {
  /** SQL expression as written in ORDER BY (a column or a trusted expression, never user text). */
  sql: string;
  direction: 'asc' | 'desc';
  /** Postgres type for the cursor parameter cast, e.g. 'text', 'date', 'timestamptz', 'bigint'. */
  type: string;
};

export class CursorError extends Error {
  override readonly name = 'CursorError';
}

const cursorSchema = z.object({ v: z.array(z.union([z.string(), z.number(), z.null()])), s: z.string() });

/** `sortKey` binds a cursor to the sort it was made for, so a cursor from another sort is refused. */
export function encodeCursor(values: readonly (string | number | null)[], sortKey: string): string {
  return Buffer.from(JSON.stringify({ v: values, s: sortKey })).toString('base64url');
}

export function decodeCursor(cursor: string, sortKey: string, arity: number): (string | number | null)[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('cursor is not valid');
  }
  const r = cursorSchema.safeParse(parsed);
  if (!r.success || r.data.v.length !== arity) throw new CursorError('cursor is not valid');
  if (r.data.s !== sortKey) throw new CursorError('cursor belongs to another sort order or filter');
  return r.data.v;
}

export type KeysetClause = { where: string; orderBy: string; params: unknown[] };

/**
 * Builds `WHERE` (rows strictly after the cursor) and `ORDER BY` for the sort tuple. When all
 * columns share one direction it emits a row comparison, which Postgres can serve from a composite
 * index; mixed directions expand into the equivalent OR chain. Parameter numbers start at
 * `firstParam`. Nulls are not supported in sort columns (sort only NOT NULL columns).
 */
export function keysetClause(
  sort: readonly SortColumn[],
  after: readonly (string | number | null)[] | undefined,
  firstParam: number,
): KeysetClause {
  const orderBy = sort.map((c) => `${c.sql} ${c.direction.toUpperCase()}`).join(', ');
  if (!after) return { where: 'TRUE', orderBy, params: [] };
  const p = (i: number): string => `$${firstParam + i}::${sort[i]!.type}`;
  const sameDirection = sort.every((c) => c.direction === sort[0]!.direction);
  if (sameDirection) {
    const op = sort[0]!.direction === 'asc' ? '>' : '<';
    const where = `(${sort.map((c) => c.sql).join(', ')}) ${op} (${sort.map((_, i) => p(i)).join(', ')})`;
    return { where, orderBy, params: [...after] };
  }
  const ors: string[] = [];
  for (let i = 0; i < sort.length; i++) {
    const eqs = sort.slice(0, i).map((c, j) => `${c.sql} = ${p(j)}`);
    const c = sort[i]!;
    eqs.push(`${c.sql} ${c.direction === 'asc' ? '>' : '<'} ${p(i)}`);
    ors.push(`(${eqs.join(' AND ')})`);
  }
  return { where: `(${ors.join(' OR ')})`, orderBy, params: [...after] };
}

/** Turns `limit + 1` fetched rows into a page and the next cursor. */
export function pageOf<R>(
  rows: readonly R[],
  limit: number,
  sortValues: (row: R) => (string | number | null)[],
  sortKey: string,
): { data: R[]; nextCursor: string | null } {
  if (rows.length <= limit) return { data: [...rows], nextCursor: null };
  const data = rows.slice(0, limit);
  return { data, nextCursor: encodeCursor(sortValues(data[data.length - 1]!), sortKey) };
}
