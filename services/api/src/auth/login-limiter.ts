import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';

export type LoginLimiter = {
  /** Seconds to wait when the account or the IP has used up its failed attempts, else 0. Counts nothing. */
  blocked(email: string, ip: string): Promise<number>;
  /** Counts one failed attempt against the account and the IP. */
  failed(email: string, ip: string): Promise<void>;
  /** Clears the account's failures after a successful login (the IP's stay: one good password must not reset them). */
  reset(email: string): Promise<void>;
};

export type LoginLimiterOptions = { redis: Redis; prefix: string; perAccount: number; perIp: number; windowSeconds: number };

/**
 * Failed logins per account and per IP, fixed windows in Redis shared by every API instance.
 * Only failures count: at shift start hundreds of employees log in from one shop's NAT address,
 * and successful logins must not use up that address's budget. When Redis is down an in-memory
 * limiter of the same size takes over (per instance), so login stays protected.
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
  const waitOf = (r: RateLimiterRes | null, points: number): number =>
    r !== null && r.consumedPoints >= points ? Math.max(1, Math.ceil(r.msBeforeNext / 1000)) : 0;
  const overLimit = (e: unknown): void => {
    // A rejected consume past the limit is still counted; nothing else is expected.
    if (!(e instanceof RateLimiterRes)) throw e;
  };
  return {
    async blocked(email, addr) {
      const [a, i] = await Promise.all([account.get(email.toLowerCase()), ip.get(addr)]);
      return Math.max(waitOf(a, o.perAccount), waitOf(i, o.perIp));
    },
    async failed(email, addr) {
      await Promise.all([account.consume(email.toLowerCase()).catch(overLimit), ip.consume(addr).catch(overLimit)]);
    },
    async reset(email) {
      await account.delete(email.toLowerCase()).catch(() => false);
    },
  };
}
