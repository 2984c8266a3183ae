import { createCache, createRedisClient, fastCommandTimers } from '@rota/cache';
import { createKafka, parseBrokers, topicReplicationOf } from '@rota/events';
import { createLogger, createRegistry } from '@rota/telemetry';
import { loadInvalidatorConfig } from './config.ts';
import { createInvalidator } from './invalidator.ts';
import { startLagReporter, startOpsServer } from './ops.ts';

const config = loadInvalidatorConfig();
const logger = createLogger('cache-invalidator', config.LOG_LEVEL);
const registry = createRegistry('cache-invalidator');

// Fail fast while Redis is away (no offline queue): the breaker opens, partitions pause, and the
// offsets stay where they are until Redis answers again.
const redis = createRedisClient({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER }, {
  commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  retryStrategy: (times) => Math.min(times * 100, 1000),
});
redis.on('error', (err) => logger.debug({ err: err.message }, 'redis connection error'));
// Every bump is a Redis command with a timeout: ioredis clears its timer in a way V8 makes slow.
if (!fastCommandTimers()) logger.info('ioredis is not the version fastCommandTimers knows; its command timers are left as they are');
const cache = createCache({
  redis,
  registry,
  logger,
  keyPrefix: config.REDIS_KEY_PREFIX,
  timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  earlyRefreshBeta: 0,
  breaker: { name: 'redis-invalidator', resetTimeoutMs: config.REDIS_BREAKER_RESET_MS },
});

const kafka = createKafka({ brokers: parseBrokers(config.KAFKA_BROKERS), clientId: 'rota-cache-invalidator', logger });
const invalidator = createInvalidator({
  kafka,
  cache,
  registry,
  logger,
  topic: config.KAFKA_TOPIC_CHANGES,
  dlqTopic: config.KAFKA_TOPIC_DLQ,
  groupId: config.KAFKA_GROUP_ID,
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  replication: topicReplicationOf(config.KAFKA_TOPIC_REPLICATION_FACTOR, config.KAFKA_TOPIC_MIN_INSYNC_REPLICAS).replication,
  maxChunk: config.MAX_CHUNK,
  retryInitialMs: Math.min(200, config.RETRY_MAX_MS),
  retryMaxMs: config.RETRY_MAX_MS,
  rebumpAfterMs: config.REPLICA_REBUMP_MS,
});
const lag = startLagReporter({ kafka, registry, logger, topic: config.KAFKA_TOPIC_CHANGES, groupId: config.KAFKA_GROUP_ID, intervalMs: config.LAG_REFRESH_MS });
const server = startOpsServer({
  registry,
  host: config.METRICS_HOST,
  port: config.METRICS_PORT,
  health: () => {
    const s = invalidator.status();
    return { ok: true, joined: s.joined, pausedPartitions: s.paused, consumerRestarts: s.consumerRestarts, redisBreaker: cache.breakerState };
  },
  onListening: (port) => logger.info({ port }, 'cache-invalidator metrics listening'),
});

let stopping = false;
async function shutdown(reason: string, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, 'cache-invalidator shutting down');
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  await invalidator.stop();
  await lag.stop();
  await cache.close();
  redis.disconnect();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  logger.info('cache-invalidator stopped');
  // Everything was closed deliberately; a straggling client timer (kafkajs retries) must not keep
  // the process alive until the force timer turns a clean stop into exit code 1.
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

invalidator.start().then(
  () => logger.info({ topic: config.KAFKA_TOPIC_CHANGES, group: config.KAFKA_GROUP_ID }, 'cache-invalidator consuming'),
  (err: unknown) => {
    logger.fatal({ err }, 'cache-invalidator could not start');
    void shutdown('start failed', 1);
  },
);
