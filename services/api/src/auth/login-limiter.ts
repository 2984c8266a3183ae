import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '@rota/cache';
import { DUMMY_PASSWORD_HASH, verifyPassword } from '@rota/domain';
import { AppError } from '../http/errors.ts';

export type LoginLimiter = {
  /**
   * Counts one attempt against the account and the IP before the password is checked; returns
   * seconds to wait when either is over its limit (refuse the attempt), else 0.
   */
  attempt(email: string, ip: string): Promise<number>;
  /** The password was right: the IP gets its point back and the account's failures are cleared. */
  succeeded(email: string, ip: string): Promise<void>;
};

export type LoginLimiterOptions = { redis: RedisClient; prefix: string; perAccount: number; perIp: number; windowSeconds: number };

/**
 * Failed logins per account and per IP, fixed windows in Redis shared by every API instance.
 * Only failures stay counted: at shift start hundreds of employees log in from one shop's NAT
 * address, and their successes must not use up that address's budget. An attempt is counted
 * when it starts and refunded when it succeeds — counting only after a wrong password would let
 * a burst of parallel guesses all pass the check before the first failure is recorded. When
 * Redis is down an in-memory limiter of the same size takes over (per instance).
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
  const refund = async (email: string, addr: string): Promise<void> => {
    await Promise.all([account.reward(email.toLowerCase(), 1).catch(() => undefined), ip.reward(addr, 1).catch(() => undefined)]);
  };
  return {
    async attempt(email, addr) {
      const results = await Promise.allSettled([account.consume(email.toLowerCase()), ip.consume(addr)]);
      let wait = 0;
      for (const r of results) if (r.status === 'rejected') wait = Math.max(wait, waitOf(r.reason));
      // A refused attempt checks no password, so it is no failure: a locked account hammered
      // from a shop's address must not use up that address's budget too.
      if (wait > 0) await refund(email, addr);
      return wait;
    },
    async succeeded(email, addr) {
      await Promise.all([account.delete(email.toLowerCase()).catch(() => false), ip.reward(addr, 1).catch(() => undefined)]);
    },
  };
}

/**
 * One password attempt against an account, limited per account and per IP (429 with Retry-After
 * past either): counted before the check; the caller calls `succeeded` when it accepts the
 * attempt. `hashOf` reads the stored hash after the limit check, so a refused attempt costs no
 * query; a missing account or hash is verified against a dummy hash, so timing does not tell them
 * apart. Resolves true when the password matches a real hash. Used by login and by the current-
 * password check of a password change.
 */
export async function tryPassword(
  limiter: LoginLimiter, email: string, ip: string, password: string, hashOf: () => Promise<string | null | undefined>,
): Promise<boolean> {
  const wait = await limiter.attempt(email, ip);
  if (wait > 0) throw new AppError('rate_limited', 'too many failed password attempts, try again later', { retryAfterSeconds: wait });
  const hash = await hashOf();
  const ok = await verifyPassword(password, hash ?? DUMMY_PASSWORD_HASH);
  return ok && !!hash;
}
