import { performance } from 'node:perf_hooks';
import { Cluster, type Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import CircuitBreaker from 'opossum';
import type { Registry } from 'prom-client';
import type { HistogramChild } from '@rota/telemetry';
import { decodeEntry, etagOf, shouldRefreshEarly } from './entry.ts';
import type { DecodedEntry, EntryMeta } from './entry.ts';
import { DEFAULT_KEY_PREFIX, NAMESPACE_SCOPE, entryKey, entryScopes, validatePrefix, versionKey } from './keys.ts';
import type { CacheKey } from './keys.ts';
import { cacheMetrics, deferredInc, instrumentBreaker } from './metrics.ts';
import type { BreakerLogger, BreakerState, CacheMetrics } from './metrics.ts';
import { DEFAULT_NAMESPACE_TTLS, NAMESPACES } from './namespaces.ts';
import type { Namespace, NamespaceTtl } from './namespaces.ts';
import { defineScripts } from './scripts.ts';
import type { Scripts } from './scripts.ts';

export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/** pino's Logger satisfies this. */
export type CacheLogger = BreakerLogger;

export type BreakerOptions = {
  /** Breaker name in metrics and logs. Default `redis-cache`; unique per registry. */
  name?: string;
  /** How long the breaker stays open before letting one probe through. Default 2000 ms. */
  resetTimeoutMs?: number;
  /** Failure percentage in the rolling window that opens the breaker. Default 50. */
  errorThresholdPercentage?: number;
  /** Calls in the rolling window before the percentage is judged. Default 10. */
  volumeThreshold?: number;
  /** Length of the rolling window. Default 10 000 ms. */
  rollingCountTimeoutMs?: number;
};

export type CacheOptions = {
  /**
   * The caller's ioredis client (or Cluster); the cache never connects or quits it. Recommended
   * client options for a cache: `commandTimeout` ≈ the timeout below, `maxRetriesPerRequest: 1`,
   * `enableOfflineQueue: false` (fail fast while disconnected instead of queueing).
   */
  redis: Redis | Cluster;
  /** Registry the metrics are registered on (shared registries are fine). */
  registry: Registry;
  /** Redis failures (warn) and breaker state changes (warn/info). Default: silent. */
  logger?: CacheLogger;
  /** First part of every key. Default `rota`; tests pass a unique one. */
  keyPrefix?: string;
  /** Overrides of the per-namespace windows; default {@link DEFAULT_NAMESPACE_TTLS}. */
  namespaces?: Partial<Record<Namespace, Partial<NamespaceTtl>>>;
  /**
   * Timeout of every cache call to Redis, enforced here even if the client has none. Default
   * 50 ms: a same-zone Redis answers in < 1 ms, so 50 ms means it is in trouble, and a request
   * should then go to Postgres instead of waiting. A single-node client whose `commandTimeout` is
   * at most this enforces it already (each call's commands run in parallel), and the breaker
   * keeps no timer of its own then.
   */
  timeoutMs?: number;
  /** XFetch early-refresh aggressiveness; 0 disables it. Default 1. */
  earlyRefreshBeta?: number;
  breaker?: BreakerOptions;
  /** In-process copies of large entries (see {@link LocalCopyOptions}). Default on. */
  localCopies?: LocalCopyOptions;
};

/**
 * In-process copies of large entries. A copy is served only after the entry's scope counters,
 * read from Redis by the same request, still equal the versions it was filled under — the very
 * condition under which the Redis entry itself would be served — so a hit costs a read of the
 * counters (a few bytes) instead of the whole body, and the body is not copied into a new Buffer
 * on every hit. A copy is served only while fresh; near or past its fresh window, and whenever
 * its versions moved, the read goes to Redis as without copies. With Redis unreachable nothing is
 * served from a copy (BYPASS to the loader, as always).
 */
export type LocalCopyOptions = {
  /** Total bytes of bodies kept (least recently used go first); 0 disables copies. Default 64 MiB. */
  maxBytes?: number;
  /** Smaller bodies are not copied: for them the counters are most of the read anyway. Default 8 KiB. */
  minEntryBytes?: number;
};

export type GetOrLoadRequest = {
  ns: Namespace;
  /**
   * What identifies the response in `ns`: every parameter that changes the bytes, including the
   * caller's visibility (e.g. a manager's subtree root) — never a token or secret.
   */
  key: CacheKey;
  /** Scopes the response depends on (see `scopes`); the namespace scope is implied. */
  scopes: readonly string[];
  /** Produces the exact response bytes. Its errors reach the caller and are never cached. */
  load: () => Promise<Buffer | string>;
};

export type CachedResponse = {
  /** Exact bytes; on a hit a zero-copy slice of the Redis reply. */
  body: Buffer;
  status: CacheStatus;
  /** Strong, quoted ETag of `body`, e.g. `"q2Xy…"`. */
  etag: string;
};

export type InvalidationTarget = { ns: Namespace; scopes: readonly string[] };

/**
 * A read's Redis keys, computed once by {@link Cache.prepare}: hashing the key costs more than the
 * rest of a hit, so a caller that repeats a read (the API's hot path) keeps this.
 */
export type PreparedRead = { readonly ns: Namespace; readonly entryKey: string; readonly versionKeys: readonly string[] };

/**
 * What {@link Cache.peek} saw when it could not serve a hit. Passed back to getOrLoad, it saves
 * the second Redis read (or, after a Redis failure, a second timeout).
 */
export type PeekState = {
  readonly entryKey: string;
  /** What the read saw; undefined when Redis failed (getOrLoad then bypasses at once). */
  readonly read?: Observed;
  /** The entry was fresh but XFetch picked this read to refresh it early. */
  readonly refreshEarly?: boolean;
};

export type Peeked = { hit: CachedResponse; state?: undefined } | { hit?: undefined; state: PeekState };

export type Cache = {
  /**
   * Never rejects because of Redis: a Redis problem turns into a direct load (BYPASS). With
   * `prepared` (from prepare() for the same ns, key and scopes) the keys are not hashed again; with
   * `peeked` (from peek() of the same entry) Redis is not read again.
   */
  getOrLoad(req: GetOrLoadRequest & { prepared?: PreparedRead; peeked?: PeekState }): Promise<CachedResponse>;
  /** The Redis keys of a read. Throws TypeError on a malformed scope. */
  prepare(ns: Namespace, key: CacheKey, scopes: readonly string[]): PreparedRead;
  /**
   * One Redis round trip, no loader: `hit` when the entry is current and fresh (counted as a hit),
   * else the state for getOrLoad to go on from (nothing counted). Never rejects.
   */
  peek(read: PreparedRead): Promise<Peeked>;
  /**
   * Bumps the version counters of `scopes` in `ns`: every entry depending on one of them stops
   * being served. THROWS {@link CacheUnavailableError} when Redis fails, times out or the breaker
   * is open — the invalidator must then hold its Kafka offsets and retry. Replays are harmless.
   */
  bump(ns: Namespace, scopes: readonly string[]): Promise<void>;
  /** Several namespaces at once, one round trip (one script per namespace). Throws like bump. */
  invalidate(targets: readonly InvalidationTarget[]): Promise<void>;
  /** Invalidates every entry of a namespace (bumps the implied namespace scope). Throws like bump. */
  flushNamespace(ns: Namespace): Promise<void>;
  readonly breakerState: BreakerState;
  /** Resolves when background refreshes and fills started so far have finished. */
  settled(): Promise<void>;
  /** Waits for background work, stops refreshing and shuts the breaker down; the client stays open. */
  close(): Promise<void>;
};

export class CacheUnavailableError extends Error {
  override readonly name = 'CacheUnavailableError';
}

/**
 * What one read saw: the current version of each scope ('' where the counter does not exist) and
 * the entry, from Redis or from the in-process copy whose versions were just read.
 */
export type Observed = {
  readonly versions: string[];
  readonly entry: DecodedEntry | undefined;
  /** The entry was stored under exactly these versions (its scopes were not invalidated since). */
  readonly current: boolean;
  /** The in-process copy of this same entry was picked (XFetch) for an early refresh. */
  readonly refreshDue?: boolean;
};

/**
 * Bodies below this are filled in batches through Lua (see #fillBatched); larger ones alone, the
 * body by a plain SET (a value handed to a script is copied into Lua: 134 µs of Redis CPU for 36 KB).
 */
const BATCHED_FILL_MAX_BYTES = 4096;
/** At most this many fills per script call, so one call never holds Redis for long (≤ 256 KB of bodies). */
const FILLS_PER_CALL = 64;
/** Entry keys with a single-flight slot; beyond this the slots are forgotten wholesale. */
const MAX_FLIGHT_SLOTS = 10_000;

type PendingFill = { ctx: LoadContext; meta: EntryMeta; body: Buffer; done: () => void };

/** A copy that would be fresh for less than this is not kept. */
const MIN_COPY_TTL_MS = 1_000;

type Loaded = { body: Buffer; etag: string; loadMs: number };
/**
 * An entry key's single-flight slot: the load in flight for it (undefined when none) and the
 * versions (comma-joined) it was started under.
 */
type FlightSlot = { versions: string; result: Promise<Loaded> | undefined };
/** A namespace's small fills waiting for the end of this event-loop turn (see #fillBatched). */
type FillQueue = { batch: PendingFill[] | undefined };
type LoadContext = {
  ns: Namespace;
  entryKey: string;
  versionKeys: readonly string[];
  versions: string[];
  load: () => Promise<Buffer | string>;
};

/**
 * A single-node client's per-command timeout (ioredis `commandTimeout`), Infinity when it has
 * none. Not a Cluster's: its commands may wait for a slot map or follow redirections before a
 * node's timer starts.
 */
function clientCommandTimeout(redis: Redis | Cluster): number {
  if (redis instanceof Cluster) return Infinity;
  const t = redis.options.commandTimeout;
  return typeof t === 'number' && t > 0 ? t : Infinity;
}

function isRejection(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EOPENBREAKER';
}

class RedisCache implements Cache {
  readonly #prefix: string;
  readonly #ttl: Record<Namespace, NamespaceTtl>;
  readonly #beta: number;
  readonly #scripts: Scripts;
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  readonly #metrics: CacheMetrics;
  /** Deferred increments of the per-read outcomes (see deferredInc). */
  readonly #counted = { requests: new Map<Namespace, Map<string, () => void>>(), fills: new Map<Namespace, Map<string, () => void>>(), local: new Map<Namespace, Map<string, () => void>>() };
  readonly #loadChildren = new Map<Namespace, HistogramChild>();
  readonly #logger: CacheLogger | undefined;
  /**
   * Single-flight slots by entry key (see #flight).
   *
   * Long-lived tables and a request's objects (docs/performance.md item 35): a Map that entries
   * enter and leave all the time reallocates its table every few operations, V8 allocates the new
   * table in old space like the Map, and the table left behind — garbage only for the next
   * mark-compact — still points at what it held, which the scavenger then treats as live: a
   * miss's whole graph (its load, body, promises) was promoted that way, forcing a mark-compact
   * every few seconds under load. So nothing here comes and goes per request: a slot stays for
   * its key and only its fields change, a namespace's fill queue likewise, and background work is
   * counted instead of kept in a Set.
   */
  readonly #flights = new Map<string, FlightSlot>();
  /** Flights (loads with their fills) not yet settled, and who waits for none to be left. */
  #background = 0;
  #settledWaiters: (() => void)[] = [];
  /** By namespace, created once each (never deleted: no table churn per turn). */
  readonly #fillQueues = new Map<Namespace, FillQueue>();
  /** In-process copies of large entries by entry key; undefined when disabled. */
  readonly #copies: LRUCache<string, DecodedEntry> | undefined;
  readonly #minCopyBytes: number;
  #forgetCopyBytes = (): void => {};
  #closed = false;

  constructor(opts: CacheOptions) {
    this.#prefix = opts.keyPrefix ?? DEFAULT_KEY_PREFIX;
    validatePrefix(this.#prefix);
    const ttl = {} as Record<Namespace, NamespaceTtl>;
    for (const ns of NAMESPACES) {
      const o = opts.namespaces?.[ns];
      ttl[ns] = {
        freshMs: o?.freshMs ?? DEFAULT_NAMESPACE_TTLS[ns].freshMs,
        staleMs: o?.staleMs ?? DEFAULT_NAMESPACE_TTLS[ns].staleMs,
      };
      if (!(ttl[ns].freshMs > 0) || !(ttl[ns].staleMs >= 0)) throw new RangeError(`invalid cache TTL for ${ns}`);
    }
    this.#ttl = ttl;
    this.#beta = opts.earlyRefreshBeta ?? 1;
    this.#logger = opts.logger;
    this.#scripts = defineScripts(opts.redis);
    this.#metrics = cacheMetrics(opts.registry);
    const b = opts.breaker ?? {};
    const timeoutMs = opts.timeoutMs ?? 50;
    this.#breaker = new CircuitBreaker((op: () => Promise<unknown>) => op(), {
      name: b.name ?? 'redis-cache',
      // A client whose own command timeout is at most ours already fails every call in time (and
      // the breaker counts that failure): a second timer per call would only cost CPU.
      timeout: clientCommandTimeout(opts.redis) <= timeoutMs ? false : timeoutMs,
      resetTimeout: b.resetTimeoutMs ?? 2000,
      errorThresholdPercentage: b.errorThresholdPercentage ?? 50,
      volumeThreshold: b.volumeThreshold ?? 10,
      rollingCountTimeout: b.rollingCountTimeoutMs ?? 10_000,
      // Percentiles make opossum keep and sort every call's latency of the window on each failure
      // and snapshot: 4 ms per sort at 40k calls/window under bench:api load, stalling the loop.
      rollingPercentilesEnabled: false,
    });
    instrumentBreaker(this.#breaker, opts.registry, opts.logger);
    const maxCopyBytes = opts.localCopies?.maxBytes ?? 64 * 1024 * 1024;
    this.#minCopyBytes = Math.max(1, opts.localCopies?.minEntryBytes ?? 8 * 1024);
    if (!(maxCopyBytes >= 0) || !(this.#minCopyBytes >= 1)) throw new RangeError('invalid localCopies options');
    this.#copies = maxCopyBytes > 0
      ? new LRUCache<string, DecodedEntry>({ maxSize: maxCopyBytes, sizeCalculation: (e, k) => e.body.length + k.length })
      : undefined;
    const copies = this.#copies;
    if (copies !== undefined) this.#forgetCopyBytes = this.#metrics.addLocalBytes(() => copies.calculatedSize);
  }

  get breakerState(): BreakerState {
    return this.#breaker.opened ? 'open' : this.#breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  /** Every Redis call goes through here: breaker + timeout. */
  #redis<T>(op: () => Promise<T>): Promise<T> {
    return this.#breaker.fire(op) as Promise<T>;
  }

  /** Deferred increment of one label set of a cache counter (see deferredInc). */
  #inc(counter: 'requests' | 'fills' | 'local', ns: Namespace, result: string): void {
    // Nested maps of constant strings: no key is built per call (a hit counts twice).
    let byNs = this.#counted[counter].get(ns);
    if (byNs === undefined) this.#counted[counter].set(ns, (byNs = new Map()));
    let inc = byNs.get(result);
    if (inc === undefined) byNs.set(result, (inc = deferredInc(this.#metrics[counter], { namespace: ns, result })));
    inc();
  }

  /** The load-duration series of a namespace, resolved once. */
  #loadDuration(ns: Namespace): HistogramChild {
    let child = this.#loadChildren.get(ns);
    if (child === undefined) this.#loadChildren.set(ns, (child = this.#metrics.loadDuration.labels({ namespace: ns })));
    return child;
  }

  #count(ns: Namespace, result: 'hit' | 'miss' | 'stale' | 'bypass'): void {
    this.#inc('requests', ns, result);
  }

  #countFill(ns: Namespace, result: 'stored' | 'rejected' | 'error'): void {
    this.#inc('fills', ns, result);
  }

  #failed(operation: 'read' | 'fill' | 'bump', err: unknown, ns?: Namespace): void {
    this.#metrics.errors.inc({ operation });
    // Open-breaker rejections are counted, not logged: the breaker logged when it opened.
    if (!isRejection(err)) this.#logger?.warn({ err, operation, namespace: ns }, 'cache redis call failed');
  }

  prepare(ns: Namespace, key: CacheKey, declared: readonly string[]): PreparedRead {
    return {
      ns,
      entryKey: entryKey(ns, key, declared, this.#prefix),
      versionKeys: entryScopes(declared).map((s) => versionKey(ns, s, this.#prefix)),
    };
  }

  /**
   * One Redis round trip. With a copy of the entry in process (fresh, not yet due for an early
   * refresh) only the counters are read, and the copy is the entry when they still hold its
   * versions; otherwise — or if they moved — the entry and its counters are read from Redis (a
   * second round trip only right after an invalidation). Rejects when Redis fails.
   */
  async #observe(p: PreparedRead): Promise<Observed> {
    const copy = this.#copies?.get(p.entryKey);
    let due = false;
    if (copy !== undefined) {
      due = shouldRefreshEarly(copy.freshUntil - Date.now(), copy.loadMs, this.#beta);
      if (!due) {
        const versions = await this.#redis(() => this.#scripts.versions(p.versionKeys));
        if (versions.join(',') === copy.versions) {
          this.#inc('local', p.ns, 'hit');
          return { versions, entry: copy, current: true };
        }
      }
      // Moved, or due for an early refresh: Redis may hold a newer entry (another pod's).
      this.#copies!.delete(p.entryKey);
      this.#inc('local', p.ns, 'dropped');
    }
    const read = await this.#redis(() => this.#scripts.read(p.entryKey, p.versionKeys));
    const entry = read.entry === null ? undefined : decodeEntry(read.entry);
    const current = entry !== undefined && entry.versions === read.versions.join(',');
    if (current) {
      // The copy was due for an early refresh and Redis holds the same fill: refresh it now (the
      // draw already made), rather than drawing again.
      if (due && entry.freshUntil === copy!.freshUntil && entry.etag === copy!.etag) return { versions: read.versions, entry, current, refreshDue: true };
      this.#keepCopy(p.entryKey, entry);
    }
    return { versions: read.versions, entry, current };
  }

  /** Keeps an in-process copy of a current entry that is large enough and fresh for a while yet. */
  #keepCopy(entryKey: string, entry: DecodedEntry): void {
    if (this.#copies === undefined || entry.body.length < this.#minCopyBytes) return;
    const ttl = entry.freshUntil - Date.now();
    if (ttl < MIN_COPY_TTL_MS) return;
    // A body read from Redis is a slice of the client's read buffer, and a loaded one may sit in
    // Node's shared 64 KB Buffer pool: either would pin more memory than the copy's own bytes. Keep
    // bytes of its own (alloc, not from: Buffer.from copies into the pool), so the bytes counted
    // are the bytes held.
    let kept = entry;
    if (entry.body.byteOffset !== 0 || entry.body.buffer.byteLength !== entry.body.length) {
      kept = { ...entry, body: Buffer.alloc(entry.body.length) };
      entry.body.copy(kept.body);
    }
    this.#copies.set(entryKey, kept, { ttl });
  }

  /** What was read, against the current versions: fresh (ms left), stale, or no usable entry. */
  #judge(read: Observed): { entry: DecodedEntry; freshRemaining: number } | undefined {
    const entry = read.entry;
    // A counter that does not exist ('') never matches: entries always record real versions.
    if (entry === undefined || !read.current) return undefined;
    return { entry, freshRemaining: entry.freshUntil - Date.now() };
  }

  async peek(p: PreparedRead): Promise<Peeked> {
    let read: Observed;
    try {
      read = await this.#observe(p);
    } catch (err) {
      this.#failed('read', err, p.ns);
      return { state: { entryKey: p.entryKey } };
    }
    const j = this.#judge(read);
    if (j === undefined || j.freshRemaining <= 0) return { state: { entryKey: p.entryKey, read } };
    if (read.refreshDue === true || shouldRefreshEarly(j.freshRemaining, j.entry.loadMs, this.#beta)) return { state: { entryKey: p.entryKey, read, refreshEarly: true } };
    this.#count(p.ns, 'hit');
    return { hit: { body: j.entry.body, status: 'HIT', etag: j.entry.etag } };
  }

  async getOrLoad(req: GetOrLoadRequest & { prepared?: PreparedRead; peeked?: PeekState }): Promise<CachedResponse> {
    const { ns } = req;
    let ctx: LoadContext;
    let failedInPeek = false;
    try {
      const p = req.prepared ?? this.prepare(ns, req.key, req.scopes);
      const peeked = req.peeked?.entryKey === p.entryKey ? req.peeked : undefined;
      if (peeked !== undefined && peeked.read === undefined) {
        failedInPeek = true;
        throw new CacheUnavailableError('redis failed in peek');
      }
      const read = peeked?.read ?? (await this.#observe(p));
      ctx = { ns, entryKey: p.entryKey, versionKeys: p.versionKeys, versions: read.versions, load: req.load };
      const j = this.#judge(read);
      if (j !== undefined) {
        if (j.freshRemaining > 0) {
          if (peeked?.refreshEarly ?? (read.refreshDue === true || shouldRefreshEarly(j.freshRemaining, j.entry.loadMs, this.#beta))) this.#refresh(ctx, 'early');
          this.#count(ns, 'hit');
          return { body: j.entry.body, status: 'HIT', etag: j.entry.etag };
        }
        this.#refresh(ctx, 'stale');
        this.#count(ns, 'stale');
        return { body: j.entry.body, status: 'STALE', etag: j.entry.etag };
      }
    } catch (err) {
      // Redis down/slow/breaker open — or a malformed scope, which must not fail a request either.
      // (Failures seen by peek() were counted there.)
      if (!failedInPeek) this.#failed('read', err, ns);
      this.#count(ns, 'bypass');
      // Not single-flighted: joining a load that started before this request could hand it
      // data older than a write it just made; with Redis down, precision beats coalescing.
      const loaded = await this.#load(ns, req.load);
      return { body: loaded.body, status: 'BYPASS', etag: loaded.etag };
    }
    this.#count(ns, 'miss');
    const loaded = await this.#flight(ctx);
    return { body: loaded.body, status: 'MISS', etag: loaded.etag };
  }

  async #load(ns: Namespace, load: () => Promise<Buffer | string>): Promise<Loaded> {
    const start = performance.now();
    const raw = await load();
    const loadMs = performance.now() - start;
    this.#loadDuration(ns).observe(loadMs / 1000);
    const body = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    return { body, etag: etagOf(body), loadMs };
  }

  /**
   * Single flight per entry key AND versions: callers that saw the same versions share one load;
   * a caller that saw other versions (an invalidation happened in between) starts its own, so
   * nobody is handed data loaded before an invalidation it observed. The flight stays joinable
   * until its fill has landed, so callers arriving in that gap do not load again. One slot per key
   * offers the latest flight only: a caller still holding the versions of an earlier one, while a
   * newer one runs, loads alone (only around an invalidation; correct either way).
   */
  #flight(ctx: LoadContext): Promise<Loaded> {
    const versions = ctx.versions.join(',');
    let slot = this.#flights.get(ctx.entryKey);
    if (slot === undefined) {
      if (this.#flights.size >= MAX_FLIGHT_SLOTS) this.#flights.clear(); // in-flight loads keep their callers
      this.#flights.set(ctx.entryKey, (slot = { versions, result: undefined }));
    } else if (slot.result !== undefined && slot.versions === versions) {
      return slot.result;
    }
    // A load under other versions (an invalidation came between) goes on for its own callers;
    // from now on this slot offers the new one.
    const result = this.#load(ctx.ns, ctx.load);
    const s = slot;
    s.versions = versions;
    s.result = result;
    this.#background++;
    void result
      .then(
        (loaded) => this.#fill(ctx, loaded),
        () => {}, // the loader's error goes to the callers awaiting `result`
      )
      .finally(() => {
        if (s.result === result) s.result = undefined;
        if (--this.#background === 0) for (const wake of this.#settledWaiters.splice(0)) wake();
      });
    return result;
  }

  /** A load of this entry under these versions is in flight (or filling). */
  #inFlight(entryKey: string, versions: readonly string[]): boolean {
    const slot = this.#flights.get(entryKey);
    return slot?.result !== undefined && slot.versions === versions.join(',');
  }

  async #fill(ctx: LoadContext, loaded: Loaded): Promise<void> {
    const ttl = this.#ttl[ctx.ns];
    const meta = { freshUntil: Math.round(Date.now() + ttl.freshMs), loadMs: Math.ceil(loaded.loadMs), etag: loaded.etag };
    // A fill that creates counters goes at once: a read issued after it must see them.
    if (loaded.body.length < BATCHED_FILL_MAX_BYTES && !ctx.versions.includes('')) return this.#fillBatched(ctx, meta, loaded.body);
    try {
      const versions = await this.#redis(() =>
        this.#scripts.fill(ctx.entryKey, ctx.versionKeys, ctx.versions, ttl.freshMs + ttl.staleMs, meta, loaded.body));
      this.#filled(ctx, meta, loaded.body, versions);
    } catch (err) {
      this.#countFill(ctx.ns, 'error');
      this.#failed('fill', err, ctx.ns);
    }
  }

  /** A fill's outcome: stored under `versions`, or refused (undefined) because a counter moved. */
  #filled(ctx: LoadContext, meta: EntryMeta, body: Buffer, versions: string | undefined): void {
    this.#countFill(ctx.ns, versions !== undefined ? 'stored' : 'rejected');
    if (versions !== undefined) this.#keepCopy(ctx.entryKey, { ...meta, versions, body });
  }

  /**
   * A small fill waits for the rest of this turn of the event loop: the fills of one namespace
   * that finished loading meanwhile go to Redis as one script call through one breaker call, each
   * guarded as alone. Under load several misses finish per turn; each fill alone was two Redis
   * commands and a breaker call.
   */
  #fillBatched(ctx: LoadContext, meta: EntryMeta, body: Buffer): Promise<void> {
    return new Promise((done) => {
      let queue = this.#fillQueues.get(ctx.ns);
      if (queue === undefined) this.#fillQueues.set(ctx.ns, (queue = { batch: undefined }));
      let batch = queue.batch;
      if (batch === undefined || batch.length >= FILLS_PER_CALL) {
        const b: PendingFill[] = [];
        const q = queue;
        q.batch = batch = b;
        setImmediate(() => {
          if (q.batch === b) q.batch = undefined;
          void this.#sendFills(ctx.ns, b);
        });
      }
      batch.push({ ctx, meta, body, done });
    });
  }

  async #sendFills(ns: Namespace, batch: readonly PendingFill[]): Promise<void> {
    const ttl = this.#ttl[ns];
    try {
      const stored = await this.#redis(() => this.#scripts.fillMany(
        batch.map((f) => ({ entryKey: f.ctx.entryKey, versionKeys: f.ctx.versionKeys, expected: f.ctx.versions, meta: f.meta, body: f.body })),
        ttl.freshMs + ttl.staleMs));
      batch.forEach((f, i) => {
        this.#filled(f.ctx, f.meta, f.body, stored[i] === true ? f.ctx.versions.join(',') : undefined);
      });
    } catch (err) {
      for (let i = 0; i < batch.length; i++) this.#countFill(ns, 'error');
      this.#failed('fill', err, ns);
    } finally {
      for (const f of batch) f.done();
    }
  }

  #refresh(ctx: LoadContext, trigger: 'stale' | 'early'): void {
    if (this.#closed || this.#inFlight(ctx.entryKey, ctx.versions)) return;
    this.#metrics.refreshes.inc({ namespace: ctx.ns, trigger });
    this.#flight(ctx).catch((err: unknown) => {
      this.#logger?.warn({ err, namespace: ctx.ns, trigger }, 'cache background refresh failed');
    });
  }

  bump(ns: Namespace, scopes: readonly string[]): Promise<void> {
    return this.invalidate([{ ns, scopes }]);
  }

  flushNamespace(ns: Namespace): Promise<void> {
    return this.invalidate([{ ns, scopes: [NAMESPACE_SCOPE] }]);
  }

  async invalidate(targets: readonly InvalidationTarget[]): Promise<void> {
    const byNs = new Map<Namespace, Set<string>>();
    try {
      for (const t of targets) {
        let keys = byNs.get(t.ns);
        if (keys === undefined) byNs.set(t.ns, (keys = new Set()));
        for (const s of t.scopes) keys.add(versionKey(t.ns, s, this.#prefix));
      }
    } catch (err) {
      throw new CacheUnavailableError('invalid invalidation target', { cause: err });
    }
    const groups = [...byNs.values()].filter((k) => k.size > 0).map((k) => [...k]);
    if (groups.length === 0) return;
    try {
      // One script per namespace (a script may not span Cluster slots), all sent without waiting
      // for each other: one round trip of latency.
      await this.#redis(() => Promise.all(groups.map((keys) => this.#scripts.bump(keys))));
    } catch (err) {
      this.#failed('bump', err);
      throw new CacheUnavailableError('cache invalidation failed', { cause: err });
    }
  }

  async settled(): Promise<void> {
    while (this.#background > 0) await new Promise<void>((wake) => { this.#settledWaiters.push(wake); });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.settled();
    this.#breaker.shutdown();
    this.#copies?.clear();
    this.#forgetCopyBytes();
  }
}

/** Builds a cache over the caller's Redis client. Opens nothing; see {@link CacheOptions}. */
export function createCache(opts: CacheOptions): Cache {
  return new RedisCache(opts);
}
