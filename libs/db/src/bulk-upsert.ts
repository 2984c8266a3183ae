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
  if (typeof v === 'number') return String(v);
  let s: string;
  if (v instanceof Date) s = v.toISOString();
  else if (Array.isArray(v)) s = pgArray(v);
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  // Most values need no escaping; one test is far cheaper than four replaces (bench:bulk-upsert).
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPES, (c) => ESCAPED[c] ?? c) : s;
}

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

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

const partitioned = new Map<string, boolean>();
async function isPartitioned(client: PoolClient, table: string): Promise<boolean> {
  let p = partitioned.get(table);
  if (p === undefined) {
    const r = await client.query<{ p: boolean }>(`SELECT relkind = 'p' AS p FROM pg_class WHERE oid = $1::regclass`, [table]);
    p = r.rows[0]?.p ?? false;
    partitioned.set(table, p);
  }
  return p;
}

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
  const doUpdate = `DO UPDATE SET ${update.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}${o.onUpdateSet ? `, ${o.onUpdateSet}` : ''}
       WHERE (${update.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${update.map((c) => `EXCLUDED.${c}`).join(', ')})`;
  let inserted: number;
  let updated: number;
  if (!(await isPartitioned(client, o.table))) {
    // One pass; xmax = 0 tells a fresh insert from an update.
    const res = await client.query<{ inserted: string; updated: string }>(
      `WITH up AS (
         INSERT INTO ${o.table} AS t (${cols}) SELECT ${cols} FROM ${staging}
         ON CONFLICT ${target} ${update.length === 0 ? 'DO NOTHING' : doUpdate}
         RETURNING (xmax = 0) AS ins
       ) SELECT count(*) FILTER (WHERE ins) AS inserted, count(*) FILTER (WHERE NOT ins) AS updated FROM up`,
    );
    inserted = Number(res.rows[0]?.inserted ?? 0);
    updated = Number(res.rows[0]?.updated ?? 0);
  } else {
    // Postgres refuses system columns (xmax) in RETURNING of a partitioned table. The transaction's
    // own insert/update counters of the leaf partitions, read before and after, give the same two
    // numbers in one pass over the rows.
    const counters = async (): Promise<{ ins: number; upd: number }> => {
      const r = await client.query<{ ins: string; upd: string }>(
        `SELECT coalesce(sum(pg_stat_get_xact_tuples_inserted(relid)), 0) AS ins,
                coalesce(sum(pg_stat_get_xact_tuples_updated(relid)), 0) AS upd
           FROM pg_partition_tree($1::regclass) WHERE isleaf`, [o.table]);
      return { ins: Number(r.rows[0]?.ins ?? 0), upd: Number(r.rows[0]?.upd ?? 0) };
    };
    const before = await counters();
    await client.query(
      `INSERT INTO ${o.table} AS t (${cols}) SELECT ${cols} FROM ${staging}
       ON CONFLICT ${target} ${update.length === 0 ? 'DO NOTHING' : doUpdate}`);
    const after = await counters();
    inserted = after.ins - before.ins;
    updated = after.upd - before.upd;
  }
  await client.query(`DROP TABLE ${staging}`);
  return { inserted, updated, unchanged: staged - inserted - updated };
}
