import { createCache, type Cache, type CacheOptions } from '@rota/cache';
import type { Logger, Registry } from '@rota/telemetry';
import type { RedisClient } from '@rota/cache';
import type { ResponseCache } from './http/cached.ts';

export type ResponseCacheOptions = {
  redis: RedisClient; prefix: string; registry: Registry; logger: Logger; timeoutMs?: number; namespaces?: CacheOptions['namespaces'];
  localCopies?: CacheOptions['localCopies'];
  /**
   * With a read replica: invalidate the same scopes again this long after a write. A read that
   * missed right after the write may have loaded from a replica still behind it and filled the
   * cache under the new versions; the second bump drops such entries once the replica caught up.
   */
  rebumpAfterMs?: number;
};

/**
 * The API's cache: reads never fail because of Redis (BYPASS); its own post-commit invalidation
 * (read-your-writes) is best effort — if Redis is down the entries cannot be served anyway, and
 * the Kafka-driven invalidator bumps the same scopes when Redis is back.
 */
export function buildResponseCache(o: ResponseCacheOptions): ResponseCache & { inner: Cache } {
  const inner = createCache({ redis: o.redis, registry: o.registry, logger: o.logger, keyPrefix: o.prefix, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), ...(o.namespaces ? { namespaces: o.namespaces } : {}), ...(o.localCopies ? { localCopies: o.localCopies } : {}) });
  return {
    inner,
    getOrLoad: (read, load, hint) => inner.getOrLoad({
      ns: read.ns, key: read.key, scopes: read.scopes, load,
      ...(hint?.prepared ? { prepared: hint.prepared } : {}),
      ...(hint?.peeked ? { peeked: hint.peeked } : {}),
    }),
    prepare: (read) => inner.prepare(read.ns, read.key, read.scopes),
    peek: (read) => inner.peek(read),
    async invalidate(targets) {
      try {
        await inner.invalidate(targets);
      } catch (e) {
        o.logger.warn({ err: e }, 'post-commit cache invalidation failed; the invalidator will retry');
      }
      if (o.rebumpAfterMs) {
        setTimeout(() => {
          inner.invalidate(targets).catch((e: unknown) => o.logger.warn({ err: e }, 'delayed cache invalidation (replica lag) failed'));
        }, o.rebumpAfterMs).unref();
      }
    },
  };
}
