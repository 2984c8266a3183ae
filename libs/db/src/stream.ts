import Cursor from 'pg-cursor';
import type { PoolClient, QueryResultRow } from 'pg';

/**
 * Streams a query's rows through a server-side cursor, `batchSize` rows at a time, so memory
 * stays flat whatever the result size. The client stays checked out until iteration ends.
 * After a failed read the cursor is not closed: pg-cursor's close() waits for a server reply that
 * never comes once the query errored, which would hang the caller (and hold the connection).
 */
export async function* streamQuery<R extends QueryResultRow>(
  client: PoolClient,
  text: string,
  values: readonly unknown[] = [],
  batchSize = 1000,
): AsyncGenerator<R> {
  const cursor = client.query(new Cursor<R>(text, values as unknown[]));
  let failed = false;
  try {
    for (;;) {
      let rows: R[];
      try {
        rows = await cursor.read(batchSize);
      } catch (e) {
        failed = true;
        throw e;
      }
      if (rows.length === 0) return;
      yield* rows;
    }
  } finally {
    if (!failed) await cursor.close();
  }
}
