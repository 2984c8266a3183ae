import { setFlagsFromString } from 'node:v8';
import { Redis } from 'ioredis';
import { coalesceWrites, createRedisClient, fastCommandTimers } from '@rota/cache';
import { createKafka, createOutboxRelay, parseBrokers, topicReplicationOf } from '@rota/events';
import { createInstrumentedDb, createLogger, createRegistry } from '@rota/telemetry';
import { createServer } from './app.ts';
import { createAuthenticator } from './auth/authenticate.ts';
import { forgetChannel, shareForgets } from './auth/shared-forget.ts';
import { createLoginLimiter } from './auth/login-limiter.ts';
import { createReadYourWrites } from './auth/read-your-writes.ts';
import { buildResponseCache } from './cache.ts';
import { loadApiConfig } from './config.ts';
import type { Deps } from './deps.ts';
import { passThroughCache } from './http/cached.ts';
import { createBullGenerationQueue } from './generation/queue.ts';

// Count Buffers' off-heap memory toward V8's global heap limit instead of its own small trigger:
// responses of tens of KB (36 KB employee pages at 1,000 req/s) otherwise start a full
// mark-compact every ~0.25 s on "external memory pressure" — pauses of 3–20 ms each. Measured
// with bench/api's 36 KB hits at 1,000 req/s: 14 → 5 mark-compacts in 5 s, p99 21–33 → 15–20 ms.
// (Not accepted in NODE_OPTIONS; V8 reads it when it next computes its limits.)
setFlagsFromString('--external-memory-accounted-in-global-limit');

const config = loadApiConfig();
const logger = createLogger('api', config.LOG_LEVEL);
const registry = createRegistry('api');
const db = createInstrumentedDb({
  url: config.DATABASE_URL,
  readUrl: config.DATABASE_READ_URL,
  max: config.DATABASE_POOL_MAX,
  idleTimeoutMs: config.DATABASE_POOL_IDLE_TIMEOUT_MS,
  statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
  slowQueryMs: config.DATABASE_SLOW_QUERY_MS,
  preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
  applicationName: 'rota-api',
}, registry, logger);

// The cache client fails fast (no offline queue, short timeout): a slow Redis must never hold a
// request; the breaker in @rota/cache then routes reads to Postgres.
const redis = createRedisClient({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER }, {
  commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  retryStrategy: (times) => Math.min(times * 200, 2000),
});
redis.on('error', (err) => logger.debug({ err: err.message }, 'redis connection error'));
// Coalescing patches a single connection's socket writes; a Cluster client sends as ioredis does.
if (config.REDIS_COALESCE_WRITES && redis instanceof Redis) coalesceWrites(redis);
// Every cache read is a Redis command with a timeout: ioredis clears its timer in a way V8 makes slow.
if (!fastCommandTimers()) logger.info('ioredis is not the version fastCommandTimers knows; its command timers are left as they are');

const responseCache = config.CACHE_ENABLED
  ? buildResponseCache({
    redis, prefix: config.REDIS_KEY_PREFIX, registry, logger, timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, namespaces: config.CACHE_NAMESPACE_TTLS,
    rebumpAfterMs: config.DATABASE_READ_URL ? config.DATABASE_READ_MAX_LAG_MS : 0,
    localCopies: { maxBytes: config.CACHE_LOCAL_COPY_MAX_BYTES, minEntryBytes: config.CACHE_LOCAL_COPY_MIN_BYTES },
  })
  : passThroughCache;
// CACHE_INVALIDATE_ON_WRITE=false leaves invalidation to the Kafka path alone (its tests, bench).
const cache = config.CACHE_INVALIDATE_ON_WRITE ? responseCache : { ...responseCache, invalidate: async () => {} };

// The outbox relay runs in every API process; an advisory lock elects the one that publishes
// (docs/events.md). Writes never wait for it: they only insert outbox rows.
const relay = config.RELAY_ENABLED
  ? createOutboxRelay({
    databaseUrl: config.RELAY_DATABASE_URL ?? config.DATABASE_URL,
    db,
    kafka: createKafka({ brokers: parseBrokers(config.KAFKA_BROKERS), clientId: 'rota-api-relay', logger }),
    topic: config.KAFKA_TOPIC_CHANGES,
    dlqTopic: config.KAFKA_TOPIC_DLQ,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replication: topicReplicationOf(config.KAFKA_TOPIC_REPLICATION_FACTOR, config.KAFKA_TOPIC_MIN_INSYNC_REPLICAS).replication,
    batchSize: config.RELAY_BATCH_SIZE,
    pollMs: config.RELAY_POLL_MS,
    sessionIdleTimeoutMs: config.RELAY_SESSION_IDLE_TIMEOUT_MS,
    stepDownAfterMs: config.RELAY_STEP_DOWN_AFTER_MS,
    kafkaCallTimeoutMs: config.RELAY_KAFKA_CALL_TIMEOUT_MS,
    pruneChunkSize: config.RELAY_PRUNE_CHUNK_SIZE,
    retentionHours: config.OUTBOX_RETENTION_HOURS,
    registry,
    logger,
  })
  : undefined;
relay?.start();
const tokens = { secret: config.JWT_SECRET, ttlSeconds: config.JWT_TTL_SECONDS, issuer: config.JWT_ISSUER };
// A revoked key or a deactivated user is forgotten by every instance at once (Redis pub/sub).
const auth = shareForgets(createAuthenticator(db, tokens), { redis, channel: forgetChannel(config.REDIS_KEY_PREFIX), logger });
const deps: Deps = {
  config, db, redis, cache, logger, registry, tokens, auth,
  loginLimiter: createLoginLimiter({ redis, prefix: config.REDIS_KEY_PREFIX, perAccount: config.LOGIN_MAX_PER_ACCOUNT, perIp: config.LOGIN_MAX_PER_IP, windowSeconds: config.LOGIN_WINDOW_SECONDS }),
  generation: createBullGenerationQueue({ redis: { url: config.REDIS_URL, cluster: config.REDIS_CLUSTER }, prefix: config.QUEUE_PREFIX, logger, registry }),
  ...(config.DATABASE_READ_URL
    ? { readYourWrites: createReadYourWrites({ redis, prefix: config.REDIS_KEY_PREFIX, windowMs: config.READ_YOUR_WRITES_MS, logger }) }
    : {}),
};

const server = createServer(deps, { readiness: relay ? [() => relay.readiness()] : [] }).listen(config.PORT, config.HOST, () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  logger.info({ port }, 'api listening');
});
server.keepAliveTimeout = 65_000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'api shutting down');
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await deps.generation.close();
  await relay?.stop();
  auth.close();
  redis.disconnect();
  await db.end();
  logger.info('api stopped');
  // Everything was closed deliberately; do not wait for stray client timers.
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
