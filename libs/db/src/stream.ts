import Cursor from 'pg-cursor';
import type { PoolClient, QueryResultRow } from 'pg';

/**
 * Streams a query's rows through a server-side cursor, `batchSize` rows at a time, so memory
 * stays flat whatever the result size. The client stays checked out until iteration ends.
 */
export async function* streamQuery<R extends QueryResultRow>(
  client: PoolClient,
  text: string,
  values: readonly unknown[] = [],
  batchSize = 1000,
): AsyncGenerator<R> {
  const cursor = client.query(new Cursor<R>(text, values as unknown[]));
  try {
    for (;;) {
      const rows = await cursor.read(batchSize);
      if (rows.length === 0) return;
      yield* rows;
    }
  } finally {
    await cursor.close();
  }
}
