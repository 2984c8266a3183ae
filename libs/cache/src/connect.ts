import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';

/** A client of one Redis node or of a Redis Cluster; every Rota service takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: `REDIS_URL`, and `REDIS_CLUSTER` (the URL is then one node of a Cluster). */
export type RedisTarget = { url: string; cluster?: boolean };

/**
 * Opens a client for `target` with `options` (ioredis's, as for a single node). With
 * `cluster`, the URL is a seed node — any node, or a cluster's configuration endpoint — from which
 * ioredis learns the slot map (CLUSTER SLOTS) and the other nodes, and it follows MOVED / ASK
 * redirections from then on. The URL's username, password and TLS (`rediss:`) and `options`
 * (timeouts, retries per request, offline queue, reconnect strategy) apply to every node's
 * connection; a Cluster has no databases besides 0, so a URL naming another one is refused.
 *
 * Every key Rota writes is Cluster-safe: a cache namespace's keys share the `{<ns>}` hash tag
 * (libs/cache keys.ts) and a queue's keys the `{<QUEUE_PREFIX>}` one (`queueKeyPrefix` in
 * @rota/generation), so no script or multi-key command spans two slots.
 */
export function createRedisClient(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  if (target.cluster !== true) return new Redis(target.url, options);
  const url = new URL(target.url);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new TypeError(`REDIS_URL: a Redis Cluster seed must be redis:// or rediss://, got ${url.protocol}`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && db !== '0') throw new TypeError(`REDIS_URL: a Redis Cluster has only database 0, the URL names ${db}`);
  const nodeOptions: RedisOptions = { ...options };
  if (url.username) nodeOptions.username = decodeURIComponent(url.username);
  if (url.password) nodeOptions.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') nodeOptions.tls ??= {};
  const clusterOptions: ClusterOptions = {
    redisOptions: nodeOptions,
    // Cluster-level twins of the node options: a fail-fast client must not queue while the
    // cluster itself (re)connects either, and it reconnects on the same schedule.
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    lazyConnect: options.lazyConnect ?? false,
    ...(options.retryStrategy ? { clusterRetryStrategy: options.retryStrategy } : {}),
  };
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], clusterOptions);
}

/**
 * A new connection to the same Redis (node or Cluster) as `client`, with `overrides` of its node
 * options — e.g. a subscriber that waits for Redis where the original fails fast.
 */
export function duplicateClient(client: RedisClient, overrides: RedisOptions): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate(undefined, {
      redisOptions: { ...client.options.redisOptions, ...overrides },
      ...(overrides.enableOfflineQueue !== undefined ? { enableOfflineQueue: overrides.enableOfflineQueue } : {}),
      ...(overrides.lazyConnect !== undefined ? { lazyConnect: overrides.lazyConnect } : {}),
    });
  }
  return client.duplicate(overrides);
}
