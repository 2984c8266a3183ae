import type { EventEmitter } from 'node:events';
import type { PoolClient, QueryResultRow } from 'pg';
import { streamQuery } from '@rota/db';

/**
 * statement_timeout for an export. A cursor's statement lasts until its last row is fetched (no
 * Sync until the cursor closes), so the pool's short default (30 s) would cut a large export to a
 * slow client off mid-stream; a stalled client is dropped by writeRows long before this.
 */
export const EXPORT_STATEMENT_TIMEOUT_MS = 15 * 60_000;

/** Rows fetched per cursor round trip. */
const BATCH = 1000;

/**
 * Runs `consume` over the rows of `text` read through a server-side cursor, in a read-only
 * transaction with its own statement timeout. The caller owns (and releases) the client; on an
 * error the transaction is left open and the caller must destroy the client (`release(true)`).
 *
 * An error from the server mid-stream (timeout, termination) rejects at once: pg-cursor's close()
 * after an error waits for a ReadyForQuery that never comes, so streamQuery's iterator would
 * otherwise never settle and the request would hang holding the connection.
 */
export async function withExportCursor<R extends QueryResultRow>(
  client: PoolClient,
  text: string,
  values: readonly unknown[],
  consume: (rows: AsyncIterable<R>) => Promise<void>,
  timeoutMs = EXPORT_STATEMENT_TIMEOUT_MS,
): Promise<void> {
  await client.query('BEGIN READ ONLY');
  await client.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
  const conn = (client as unknown as { connection: EventEmitter }).connection;
  let onError: ((msg: unknown) => void) | undefined;
  let onEnd: (() => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    onError = (msg) => reject(msg instanceof Error ? msg : new Error(String((msg as { message?: string }).message ?? msg)));
    onEnd = () => reject(new Error('Connection terminated during export'));
    conn.on('errorMessage', onError);
    conn.on('end', onEnd);
  });
  try {
    await Promise.race([consume(streamQuery<R>(client, text, values, BATCH)), failed]);
  } finally {
    conn.off('errorMessage', onError!);
    conn.off('end', onEnd!);
  }
  await client.query('COMMIT');
}
