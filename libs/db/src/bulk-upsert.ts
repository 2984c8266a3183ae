import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from 'pg';

export type BulkUpsertOptions<R> = {
  /** Target table (trusted identifier). */
  table: string;
  /** Columns written, in order (trusted identifiers). */
  columns: readonly string[];
  /** Columns of the unique constraint that identifies a row. */
  conflictColumns: readonly string[];
  /** Columns updated when the row exists (default: columns minus conflictColumns). */
  updateColumns?: readonly string[];
  /** `ON CONFLICT ON CONSTRAINT name` instead of a column list (needed for NULLS NOT DISTINCT). */
  conflictConstraint?: string;
  /** Extra assignment run on update, e.g. `updated_at = now()`. */
  onUpdateSet?: string;
  rows: Iterable<R> | AsyncIterable<R>;
  /** The row's values in `columns` order. */
  values: (row: R) => readonly unknown[];
};

export type BulkUpsertResult = { inserted: number; updated: number; unchanged: number };

/** COPY text-format escaping of one value. */
export function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  let s: string;
  if (v instanceof Date) s = v.toISOString();
  else if (Array.isArray(v)) s = pgArray(v);
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

function pgArray(items: readonly unknown[]): string {
  return `{${items.map((i) => (i === null ? 'NULL' : `"${String(i).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)).join(',')}}`;
}

async function* copyLines<R>(rows: Iterable<R> | AsyncIterable<R>, values: (row: R) => readonly unknown[]): AsyncGenerator<string> {
  let batch = '';
  for await (const row of rows) {
    batch += `${values(row).map(copyValue).join('\t')}\n`;
    if (batch.length > 64 * 1024) {
      yield batch;
      batch = '';
    }
  }
  if (batch) yield batch;
}

/** COPY rows into `table` (text format) through the given client. */
export async function copyInto<R>(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  rows: Iterable<R> | AsyncIterable<R>,
  values: (row: R) => readonly unknown[],
): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(copyLines(rows, values)), stream);
  return Number(stream.rowCount ?? 0);
}

let stagingSeq = 0;

/**
 * Bulk upsert inside the caller's transaction: COPY into a temporary staging table, then one
 * INSERT … SELECT … ON CONFLICT DO UPDATE that skips rows whose values did not change. Nothing is
 * visible to others until the caller commits, and a failure leaves nothing written once the
 * caller rolls back.
 */
export async function bulkUpsert<R>(client: PoolClient, o: BulkUpsertOptions<R>): Promise<BulkUpsertResult> {
  const staging = `rota_staging_${process.pid}_${++stagingSeq}`;
  const cols = o.columns.join(', ');
  const update = o.updateColumns ?? o.columns.filter((c) => !o.conflictColumns.includes(c));
  await client.query(
    `CREATE TEMP TABLE ${staging} ON COMMIT DROP AS SELECT ${cols} FROM ${o.table} WITH NO DATA`,
  );
  const staged = await copyInto(client, staging, o.columns, o.rows, o.values);
  const target = o.conflictConstraint ? `ON CONSTRAINT ${o.conflictConstraint}` : `(${o.conflictColumns.join(', ')})`;
  const action = update.length === 0
    ? 'DO NOTHING'
    : `DO UPDATE SET ${update.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}${o.onUpdateSet ? `, ${o.onUpdateSet}` : ''}
       WHERE (${update.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${update.map((c) => `EXCLUDED.${c}`).join(', ')})`;
  const res = await client.query<{ inserted: string; updated: string }>(
    `WITH up AS (
       INSERT INTO ${o.table} AS t (${cols}) SELECT ${cols} FROM ${staging}
       ${`ON CONFLICT ${target} ${action}`}
       RETURNING (xmax = 0) AS ins
     ) SELECT count(*) FILTER (WHERE ins) AS inserted, count(*) FILTER (WHERE NOT ins) AS updated FROM up`,
  );
  await client.query(`DROP TABLE ${staging}`);
  const inserted = Number(res.rows[0]?.inserted ?? 0);
  const updated = Number(res.rows[0]?.updated ?? 0);
  return { inserted, updated, unchanged: staged - inserted - updated };
}
