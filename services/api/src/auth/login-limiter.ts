import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';

export type LoginLimiter = {
  /** Counts one attempt; returns seconds to wait when over the limit, else 0. */
  consume(email: string, ip: string): Promise<number>;
  /** Clears the account counter after a successful login. */
  reset(email: string): Promise<void>;
};

export type LoginLimiterOptions = { redis: Redis; prefix: string; perAccount: number; perIp: number; windowSeconds: number };

/**
 * Per-account and per-IP fixed windows in Redis, shared by every API instance. When Redis is down
 * an in-memory limiter of the same size takes over (per instance), so login stays protected.
 */
export function createLoginLimiter(o: LoginLimiterOptions): LoginLimiter {
  const make = (key: string, points: number): RateLimiterRedis => new RateLimiterRedis({
    storeClient: o.redis,
    keyPrefix: `${o.prefix}:login:${key}`,
    points,
    duration: o.windowSeconds,
    useRedisPackage: false,
    insuranceLimiter: new RateLimiterMemory({ points, duration: o.windowSeconds }),
  });
  const account = make('account', o.perAccount);
  const ip = make('ip', o.perIp);
  const waitOf = (e: unknown): number => {
    if (e instanceof RateLimiterRes) return Math.max(1, Math.ceil(e.msBeforeNext / 1000));
    throw e;
  };
  return {
    async consume(email, addr) {
      const results = await Promise.allSettled([account.consume(email.toLowerCase()), ip.consume(addr)]);
      let wait = 0;
      for (const r of results) if (r.status === 'rejected') wait = Math.max(wait, waitOf(r.reason));
      return wait;
    },
    async reset(email) {
      await account.delete(email.toLowerCase()).catch(() => false);
    },
  };
}
