import { duplicateClient, type RedisClient } from '@rota/cache';
import type { Logger } from '@rota/telemetry';
import type { Authenticator } from './authenticate.ts';
import type { Principal } from './principal.ts';

export type SharedForget = Authenticator & {
  /** Resolves once this instance is subscribed (tests; the API does not wait for it). */
  readonly subscribed: Promise<void>;
  close(): void;
};

/** The Redis channel on which API instances with this key prefix share forgotten principals. */
export const forgetChannel = (keyPrefix: string): string => `${keyPrefix}:auth:forget`;

const KINDS: readonly Principal['kind'][] = ['user', 'apiKey'];

/**
 * Makes `forget` reach every API instance at once. An instance that revokes a key, deactivates
 * a user or changes their role or department forgets the principal itself and publishes
 * `{kind, id}` on a Redis channel; every instance subscribes (one connection each, resubscribed
 * by ioredis after a reconnect) and drops its memoised principal on receipt, so a revoked key or
 * a deactivated user is refused everywhere within the message's delivery (milliseconds), not the
 * memo's TTL. Redis pub/sub delivers at most once: an instance that was disconnected when the
 * message went out still forgets within the TTL (5 s), as it would without this.
 */
export function shareForgets(auth: Authenticator, o: { redis: RedisClient; channel: string; logger: Logger }): SharedForget {
  // Not the cache client's fail-fast settings: a subscription should wait for Redis, not give up.
  const subscriber = duplicateClient(o.redis, { enableOfflineQueue: true, lazyConnect: false, commandTimeout: 10_000, maxRetriesPerRequest: null });
  subscriber.on('error', (err: Error) => o.logger.debug({ err: err.message }, 'auth forget subscriber: redis connection error'));
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== o.channel) return;
    try {
      const m = JSON.parse(message) as { kind?: unknown; id?: unknown };
      if (KINDS.includes(m.kind as Principal['kind']) && typeof m.id === 'string') auth.forget(m.kind as Principal['kind'], m.id);
    } catch {
      o.logger.warn({ channel }, 'auth forget: malformed message ignored');
    }
  });
  const subscribed = subscriber.subscribe(o.channel).then(() => undefined);
  subscribed.catch((err: unknown) => o.logger.warn({ err }, 'auth forget: subscribe failed; other instances\' changes apply within the memo TTL'));
  return {
    middleware: auth.middleware,
    peek: auth.peek,
    forget(kind, id) {
      auth.forget(kind, id);
      o.redis.publish(o.channel, JSON.stringify({ kind, id })).catch((err: unknown) =>
        o.logger.warn({ err, kind, id }, 'auth forget: publish failed; other instances forget within the memo TTL'));
    },
    subscribed,
    close() {
      subscriber.disconnect();
    },
  };
}
