export { createCache, CacheUnavailableError } from './cache.ts';
export type {
  BreakerOptions,
  Cache,
  CachedResponse,
  CacheLogger,
  CacheOptions,
  CacheStatus,
  GetOrLoadRequest,
  Peeked,
  PeekState,
  PreparedRead,
  InvalidationTarget,
  LocalCopyOptions,
  Observed,
} from './cache.ts';
export { etagOf } from './entry.ts';
export type { ReadResult } from './scripts.ts';
export {
  DEFAULT_KEY_PREFIX,
  NAMESPACE_SCOPE,
  canonicalKey,
  entryKey,
  scopes,
  versionKey,
} from './keys.ts';
export type { CacheKey } from './keys.ts';
export { BREAKER_EVENTS, deferredInc, instrumentBreaker } from './metrics.ts';
export type { BreakerLogger, BreakerState } from './metrics.ts';
export { DEFAULT_NAMESPACE_TTLS, NAMESPACES, isNamespace } from './namespaces.ts';
export type { Namespace, NamespaceTtl } from './namespaces.ts';
export { coalesceWrites } from './coalesce.ts';
export { fastCommandTimers } from './command-timers.ts';
export { createRedisClient, duplicateClient } from './connect.ts';
export type { RedisClient, RedisTarget } from './connect.ts';
