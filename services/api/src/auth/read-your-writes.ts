import type { RedisClient } from '@rota/cache';
import type { Logger } from '@rota/telemetry';
import type { Principal } from './principal.ts';

/**
 * Read-your-writes with a read replica (DATABASE_READ_URL): after a principal's write commits, a
 * marker `<prefix>:ryw:<kind>:<id>` lives in Redis for `windowMs` — shared by every API pod, since
 * the follow-up read may land on another one — and while it does, that principal's requests read
 * from the writer (libs/db `readYourWrites`), so they never see the replica's lag. Everyone else
 * keeps reading the replica. If Redis cannot answer, reads go to the writer: late data is the
 * failure this exists to prevent, a busier writer is not.
 */
export type ReadYourWrites = {
  /** After a successful write by `p` (awaited before the response, so the next request sees it). */
  wrote(p: Principal): Promise<void>;
  /** Whether `p` wrote within the window. */
  recent(p: Principal): Promise<boolean>;
};

export function createReadYourWrites(o: { redis: RedisClient; prefix: string; windowMs: number; logger: Logger }): ReadYourWrites {
  const local = new Map<string, number>();
  const keyOf = (p: Principal): string => `${o.prefix}:ryw:${p.kind}:${p.id}`;
  return {
    async wrote(p) {
      const key = keyOf(p);
      if (local.size >= 100_000) local.clear();
      local.set(key, Date.now() + o.windowMs);
      try {
        await o.redis.set(key, '1', 'PX', o.windowMs);
      } catch (err) {
        o.logger.warn({ err: (err as Error).message }, 'read-your-writes marker not stored; other pods may read this write late');
      }
    },
    async recent(p) {
      const key = keyOf(p);
      if ((local.get(key) ?? 0) > Date.now()) return true;
      try {
        return (await o.redis.exists(key)) === 1;
      } catch {
        return true;
      }
    },
  };
}
