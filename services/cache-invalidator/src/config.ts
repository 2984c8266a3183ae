import { z } from 'zod';
import { TOPIC_CHANGES, TOPIC_CHANGES_DLQ } from '@rota/domain';
import { topicReplicationOf } from '@rota/events';

/** Every variable the cache-invalidator reads, with its default (docs/events.md lists them). */
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const invalidatorEnvSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: z.string().regex(/^[^\s,]+(,[^\s,]+)*$/, 'comma-separated host:port list').default('127.0.0.1:9092'),
  KAFKA_TOPIC_CHANGES: z.string().min(1).default(TOPIC_CHANGES),
  KAFKA_TOPIC_DLQ: z.string().min(1).default(TOPIC_CHANGES_DLQ),
  /** Partitions when this service has to create the topics (the relay normally does). */
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(12),
  /** Replication factor of the topics this service creates (unset: the broker's default); with it, min.insync.replicas of them. */
  KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).optional(),
  KAFKA_TOPIC_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(32).optional(),
  KAFKA_GROUP_ID: z.string().min(1).default('rota-cache-invalidator'),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** REDIS_URL is one node of a Redis Cluster (any node, or the cluster's configuration endpoint); the client discovers the rest. */
  REDIS_CLUSTER: bool.default(false),
  REDIS_KEY_PREFIX: z.string().regex(/^[a-z0-9_:-]*$/).default('rota'),
  /** Timeout of one invalidation round trip; a bump is tiny, 250 ms means Redis is in trouble. */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(1).default(250),
  /** How long the Redis breaker stays open before one probe; also the first retry delay. */
  REDIS_BREAKER_RESET_MS: z.coerce.number().int().min(50).default(1000),
  /** Longest wait between retries of a paused partition while Redis is down. */
  RETRY_MAX_MS: z.coerce.number().int().min(50).default(5000),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9466),
  METRICS_HOST: z.string().default('0.0.0.0'),
  /** How often kafka_consumer_lag is refreshed from the brokers. */
  LAG_REFRESH_MS: z.coerce.number().int().min(100).default(5000),
  /**
   * With API read replicas: invalidate each event's scopes again this long after the first time
   * (the replicas' lag bound), dropping entries an API filled from a replica still behind the
   * change. 0 (default) = no replicas, no second bump.
   */
  REPLICA_REBUMP_MS: z.coerce.number().int().min(0).default(0),
  /** Messages per Redis round trip (their invalidations are merged). */
  MAX_CHUNK: z.coerce.number().int().min(1).max(10_000).default(500),
}).superRefine((c, ctx) => {
  const { problem } = topicReplicationOf(c.KAFKA_TOPIC_REPLICATION_FACTOR, c.KAFKA_TOPIC_MIN_INSYNC_REPLICAS);
  if (problem) ctx.addIssue({ code: 'custom', path: ['KAFKA_TOPIC_MIN_INSYNC_REPLICAS'], message: problem });
});

export type InvalidatorConfig = Readonly<z.infer<typeof invalidatorEnvSchema>>;

/** Parses the environment once at boot; a bad value fails with the variable's name. */
export function loadInvalidatorConfig(env: NodeJS.ProcessEnv = process.env): InvalidatorConfig {
  const r = invalidatorEnvSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(r.data);
}
