import { createHash } from 'node:crypto';
import pg from 'pg';
import type { PoolClient, QueryConfig, QueryResultRow } from 'pg';
import { currentQueryContext } from './context.ts';

// Bigint ids and counts come back as strings from pg by default; ids stay strings at the edge
// (JSON has no bigint), numeric stays a string (exact money). int8 sums become numbers here only
// where callers cast them explicitly.

export type PoolOptions = {
  /** Connection string of the writer (primary). */
  url: string;
  /** Optional read replica; reads go there unless the context asks for read-your-writes. */
  readUrl?: string | undefined;
  /** Pool size per pool. Default 20. */
  max?: number;
  /** statement_timeout in ms. Default 30 000. */
  statementTimeoutMs?: number;
  /** idle_in_transaction_session_timeout in ms. Default 60 000. */
  idleInTransactionTimeoutMs?: number;
  /** How long to wait for a new connection. Default 5 000. */
  connectTimeoutMs?: number;
  /** How long an idle client is kept. Default 30 000. */
  idleTimeoutMs?: number;
  /** application_name shown in pg_stat_activity. */
  applicationName: string;
  /** Queries slower than this are reported through onSlowQuery. Default 200 ms. */
  slowQueryMs?: number;
  /**
   * Run parameterized statements as named (server-side prepared) statements, so Postgres parses
   * and plans each distinct text once per connection instead of on every execution. Default true;
   * turn it off behind a pooler that cannot keep them (PgBouncer in transaction mode before 1.21).
   */
  preparedStatements?: boolean;
  /** At most this many distinct statement texts are prepared per process (dynamic SQL past it runs unnamed). Default 500. */
  preparedStatementsMax?: number;
  /** Called after every query with its duration; for metrics. */
  onQuery?: (e: QueryEvent) => void;
  /** Called for queries slower than slowQueryMs; for logging with the request id. */
  onSlowQuery?: (e: QueryEvent) => void;
};

export type QueryEvent = {
  pool: 'writer' | 'reader';
  operation: string;
  text: string;
  /** Bound parameters (for replaying a request's queries in benchmarks; never log them). */
  values?: readonly unknown[] | undefined;
  durationMs: number;
  requestId?: string | undefined;
  error?: unknown;
};

export type Queryable = {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
};

export type PoolStats = { name: 'writer' | 'reader'; total: number; idle: number; waiting: number; max: number };

export type Db = {
  /** Query on the writer. */
  query: Queryable['query'];
  /** Query on the reader (the writer when no replica is configured or read-your-writes is on). */
  read: Queryable['query'];
  /** Runs fn inside BEGIN/COMMIT on a writer client; ROLLBACK on any error. */
  tx<T>(fn: (client: Queryable & { raw: PoolClient }) => Promise<T>): Promise<T>;
  /** A checked-out writer client for COPY/cursors; the caller must release it. */
  connect(): Promise<PoolClient>;
  stats(): PoolStats[];
  /** Distinct statement texts running prepared, and how often one had to be prepared anew. */
  prepared(): { statements: number; renewals: number };
  end(): Promise<void>;
  readonly writer: pg.Pool;
  readonly reader: pg.Pool;
};

/** First SQL keyword(s) of a statement, used as a low-cardinality metric label. */
export function operationOf(text: string): string {
  const m = /^\s*(?:--[^\n]*\n\s*)*(with|select|insert|update|delete|copy|begin|commit|rollback|create|alter|drop|lock|set|savepoint|release|call|do|explain|listen|notify|truncate)\b/i.exec(text);
  return m?.[1]?.toLowerCase() ?? 'other';
}

/**
 * Names for server-side prepared statements, one per distinct statement text (a hash of it, so a
 * name never stands for two texts). Parse analysis and planning were most of Postgres's CPU for
 * the API's reads (docs/performance.md): a prepared statement skips them after its first run on a
 * connection. Only a text seen twice gets a name, so one-off SQL (a generated table name, say)
 * neither uses up the bound nor stays prepared on every connection; at most `max` texts are named
 * (per-connection plan memory stays bounded however SQL is built).
 */
export class StatementNames {
  readonly #names = new Map<string, string>();
  /** Texts seen once; forgotten wholesale when large, so it stays bounded too. */
  readonly #seenOnce = new Set<string>();
  readonly #max: number;
  /** How often a name was renewed: steady growth means prepared statements do not survive (a pooler). */
  renewals = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** The name to run `text` under, or undefined to run it unnamed. */
  nameOf(text: string): string | undefined {
    const known = this.#names.get(text);
    if (known !== undefined || this.#names.size >= this.#max) return known;
    if (!this.#seenOnce.delete(text)) {
      if (this.#seenOnce.size >= 10 * this.#max) this.#seenOnce.clear();
      this.#seenOnce.add(text);
      return undefined;
    }
    const name = `rota_${createHash('sha1').update(text).digest('base64url')}`;
    this.#names.set(text, name);
    return name;
  }

  /**
   * The statement under the current name is unusable on some connection (its result columns
   * changed with DDL, or a pooler dropped it): later runs use a fresh name, which every
   * connection prepares anew.
   */
  renew(text: string): void {
    const name = this.#names.get(text);
    if (name === undefined) return;
    const m = /^(.*?)(?:~(\d+))?$/.exec(name)!;
    this.#names.set(text, `${m[1]}~${Number(m[2] ?? 0) + 1}`);
    this.renewals++;
  }

  get size(): number {
    return this.#names.size;
  }
}

/**
 * A prepared statement that cannot run as prepared any more: "cached plan must not change result
 * type" (a table it selects `*` from changed) or "prepared statement does not exist" (the session
 * was reset under us, e.g. by a pooler).
 */
function isStalePreparedStatement(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (code === '0A000' && /cached plan must not change result type/.test(String((e as Error).message))) || code === '26000';
}

function makePool(url: string, o: PoolOptions, name: 'writer' | 'reader'): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: o.max ?? 20,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: o.idleTimeoutMs ?? 30_000,
    application_name: `${o.applicationName}:${name}`,
    statement_timeout: o.statementTimeoutMs ?? 30_000,
    idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs ?? 60_000,
  });
  // An idle client losing its connection (Postgres restart) must not crash the process; the pool
  // drops it and the next checkout reconnects.
  pool.on('error', () => {});
  return pool;
}

export function createDb(o: PoolOptions): Db {
  const writer = makePool(o.url, o, 'writer');
  const reader = o.readUrl ? makePool(o.readUrl, o, 'reader') : writer;
  const slowMs = o.slowQueryMs ?? 200;
  const names = o.preparedStatements === false ? undefined : new StatementNames(o.preparedStatementsMax ?? 500);

  /** Runs a statement, named when it has parameters; `retry`: once, unnamed, if the named one went stale. */
  async function send<R extends QueryResultRow>(
    target: pg.Pool | PoolClient,
    text: string,
    values: readonly unknown[] | undefined,
    retry: boolean,
  ): Promise<pg.QueryResult<R>> {
    const name = values?.length ? names?.nameOf(text) : undefined;
    if (name === undefined) return target.query<R>(text, values as unknown[]);
    const config: QueryConfig = { name, text, values: values as unknown[] };
    try {
      return await target.query<R>(config);
    } catch (e) {
      if (!isStalePreparedStatement(e)) throw e;
      names!.renew(text);
      // Inside a transaction the failed statement aborted it: tx() runs the transaction again.
      if (!retry) throw e;
      return target.query<R>(text, values as unknown[]);
    }
  }

  async function timed<R extends QueryResultRow>(
    name: 'writer' | 'reader',
    run: () => Promise<pg.QueryResult<R>>,
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    const ctx = currentQueryContext();
    if (ctx) ctx.queryCount++;
    const start = performance.now();
    let error: unknown;
    try {
      return await run();
    } catch (e) {
      error = e;
      throw e;
    } finally {
      const durationMs = performance.now() - start;
      const ev: QueryEvent = { pool: name, operation: operationOf(text), text, values, durationMs, requestId: ctx?.requestId, error };
      o.onQuery?.(ev);
      if (durationMs >= slowMs) o.onSlowQuery?.(ev);
    }
  }

  const query: Queryable['query'] = (text, values) =>
    timed('writer', () => send(writer, text, values, true), text, values);
  const read: Queryable['query'] = (text, values) => {
    const useWriter = reader === writer || currentQueryContext()?.readYourWrites === true;
    return useWriter ? query(text, values) : timed('reader', () => send(reader, text, values, true), text, values);
  };

  async function tx<T>(fn: (client: Queryable & { raw: PoolClient }) => Promise<T>): Promise<T> {
    try {
      return await attempt(fn);
    } catch (e) {
      // A prepared statement went stale inside the transaction (DDL since it was prepared, or the
      // session lost it): the transaction was rolled back and the statement renamed, so running
      // it once more is safe, and succeeds.
      if (names === undefined || !isStalePreparedStatement(e)) throw e;
      return attempt(fn);
    }
  }

  async function attempt<T>(fn: (client: Queryable & { raw: PoolClient }) => Promise<T>): Promise<T> {
    const client = await writer.connect();
    // One connection runs one statement at a time. Callers may still start several at once (a
    // loader's Promise.all, written for a pool): they are queued here, each sent once the one
    // before it settled, instead of in pg's own queue (deprecated; removed in pg 9). Timed from
    // its send, so db_query_duration_seconds does not count the wait.
    let last: Promise<unknown> = Promise.resolve();
    const scoped: Queryable & { raw: PoolClient } = {
      raw: client,
      query: <R extends QueryResultRow>(text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>> => {
        const run = (): Promise<pg.QueryResult<R>> => timed('writer', () => send<R>(client, text, values, false), text, values);
        const next = last.then(run, run);
        last = next.catch(() => {});
        return next;
      },
    };
    try {
      await scoped.query('BEGIN');
      const result = await fn(scoped);
      await scoped.query('COMMIT');
      client.release();
      return result;
    } catch (e) {
      // A failed ROLLBACK means the connection is broken: destroy it instead of returning it.
      const broken = await client.query('ROLLBACK').then(() => false, () => true);
      client.release(broken);
      throw e;
    }
  }

  const stat = (name: 'writer' | 'reader', p: pg.Pool): PoolStats => ({
    name, total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount, max: p.options.max ?? 10,
  });

  return {
    query,
    read,
    tx,
    connect: () => writer.connect(),
    stats: () => (reader === writer ? [stat('writer', writer)] : [stat('writer', writer), stat('reader', reader)]),
    prepared: () => ({ statements: names?.size ?? 0, renewals: names?.renewals ?? 0 }),
    end: async () => {
      await writer.end();
      if (reader !== writer) await reader.end();
    },
    writer,
    reader,
  };
}
