import { isIP } from 'node:net';
import { z } from 'zod';
import { NAMESPACES, type Namespace, type NamespaceTtl } from '@rota/cache';
import { TOPIC_CHANGES, TOPIC_CHANGES_DLQ } from '@rota/domain';
import { topicReplicationOf } from '@rota/events';
import { ORIGIN_PATTERN } from './http/cors.ts';

const ttl = z.strictObject({ freshMs: z.number().int().min(1).optional(), staleMs: z.number().int().min(0).optional() });
const namespaceTtls = z.partialRecord(z.enum(NAMESPACES), ttl);

/** The built-in JWT_SECRET: public (it is in this file), so refused when NODE_ENV=production. */
export const DEV_JWT_SECRET = 'rota-local-development-secret-change-me-0123456789';
/** Published secrets: the default above and the placeholder of infra/k8s/secret.example.yaml (any `change-me` is refused too). */
const PUBLIC_JWT_SECRETS = new Set([DEV_JWT_SECRET, 'CHANGE-ME-to-at-least-32-random-characters']);

/** Express `trust proxy` presets, besides IP addresses and CIDR subnets. */
const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY → Express's `trust proxy`: `false`/`0` (the socket address is the client), `true`
 * (the left-most X-Forwarded-For: whatever the client wrote; refused in production), a hop count
 * (the address that many proxies back from the socket), or trusted addresses/subnets. Undefined
 * when the value is none of these.
 */
function parseTrustProxy(raw: string): boolean | number | string[] | undefined {
  const v = raw.trim();
  if (v === 'false' || v === '0' || v === '') return false;
  if (v === 'true') return true;
  if (/^\d{1,2}$/.test(v)) return Number(v);
  const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const valid = (s: string): boolean => {
    if (PROXY_PRESETS.has(s)) return true;
    const [addr, bits, extra] = s.split('/');
    const family = isIP(addr ?? '');
    if (family === 0 || extra !== undefined) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  };
  return list.length > 0 && list.every(valid) ? list : undefined;
}

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Every variable the API reads, with its default. docs/configuration.md lists the same. */
export const apiEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/rota'),
  DATABASE_READ_URL: z.url().optional(),
  /** With a replica: how long after a write its author's reads stay on the writer. */
  READ_YOUR_WRITES_MS: z.coerce.number().int().min(0).default(5_000),
  /** With a replica: cache scopes a write invalidated are invalidated again this much later (entries filled from a lagging replica). */
  DATABASE_READ_MAX_LAG_MS: z.coerce.number().int().min(0).default(1_000),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(500).default(20),
  /** How long an idle pool connection is kept before it is closed (then reopened, and its statements prepared again, on demand). */
  DATABASE_POOL_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(30_000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  DATABASE_SLOW_QUERY_MS: z.coerce.number().int().min(1).default(200),
  /** Parameterized statements run prepared (parsed and planned once per connection); false behind PgBouncer < 1.21 in transaction mode. */
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** REDIS_URL is one node of a Redis Cluster (any node, or the cluster's configuration endpoint); the client discovers the rest. */
  REDIS_CLUSTER: bool.default(false),
  REDIS_KEY_PREFIX: z.string().regex(/^[a-z0-9_:-]*$/).default('rota'),
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(1).default(50),
  /** Send the cache's Redis commands of one event-loop turn in one write (see @rota/cache coalesceWrites). */
  REDIS_COALESCE_WRITES: bool.default(true),
  CACHE_ENABLED: bool.default(true),
  /** In-process copies of large cache entries, served after their versions are checked in Redis (@rota/cache); 0 disables. */
  CACHE_LOCAL_COPY_MAX_BYTES: z.coerce.number().int().min(0).default(64 * 1024 * 1024),
  /** Entries smaller than this are not copied in process. */
  CACHE_LOCAL_COPY_MIN_BYTES: z.coerce.number().int().min(1).default(8 * 1024),
  /** JSON overrides of the per-namespace windows, e.g. {"employees":{"freshMs":60000,"staleMs":60000}}. */
  CACHE_NAMESPACE_TTLS: z.string().default('{}').transform((s, ctx) => {
    try {
      // zod's optional keys are `T | undefined`; JSON never carries undefined, so this is exact.
      return namespaceTtls.parse(JSON.parse(s)) as Partial<Record<Namespace, Partial<NamespaceTtl>>>;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `must be JSON like {"employees":{"freshMs":1000}}: ${(e as Error).message}` });
      return z.NEVER;
    }
  }),
  /** `production` refuses the public development JWT secret and TRUST_PROXY=true (see refusals below). */
  NODE_ENV: z.string().default('development'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').default(DEV_JWT_SECRET),
  JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  JWT_ISSUER: z.string().default('rota'),
  LOGIN_MAX_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  LOGIN_MAX_PER_IP: z.coerce.number().int().min(1).default(50),
  LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/).default('1mb'),
  /** Which proxies in front of the API to believe about the client IP (`trust proxy`): false, a hop count, or addresses/subnets. */
  TRUST_PROXY: z.string().default('false').transform((v, ctx) => {
    const t = parseTrustProxy(v);
    if (t === undefined) {
      ctx.addIssue({ code: 'custom', message: 'false, a hop count (e.g. 1 behind one ingress), or comma-separated trusted addresses/subnets (10.0.0.0/8,loopback)' });
      return z.NEVER;
    }
    return t;
  }),
  /** Browser origins allowed to call the API cross-origin (http/cors.ts): comma-separated, or `*`; empty: CORS off. */
  CORS_ORIGINS: z.string().default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter((o) => o !== ''))
    .refine((list) => list.every((o) => o === '*' || ORIGIN_PATTERN.test(o)), 'comma-separated origins like https://app.example.com (scheme, lower-case host, optional port; no path), or *'),
  QUEUE_PREFIX: z.string().regex(/^[a-z0-9_-]+$/).default('rota'),
  GENERATION_MAX_DAYS: z.coerce.number().int().min(1).max(366).default(62),
  /** Schedule exports running at once in this process; each holds a reader connection until it ends (up to 15 min). More: 503. */
  EXPORT_MAX_CONCURRENT: z.coerce.number().int().min(1).max(500).default(4),
  // Outbox relay (libs/events, docs/events.md): runs inside every API process, one is the leader.
  KAFKA_BROKERS: z.string().regex(/^[^\s,]+(,[^\s,]+)*$/, 'comma-separated host:port list').default('127.0.0.1:9092'),
  KAFKA_TOPIC_CHANGES: z.string().min(1).default(TOPIC_CHANGES),
  KAFKA_TOPIC_DLQ: z.string().min(1).default(TOPIC_CHANGES_DLQ),
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(12),
  /** Replication factor of the topics this service creates (unset: the broker's default); with it, min.insync.replicas of them. */
  KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).optional(),
  KAFKA_TOPIC_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(32).optional(),
  RELAY_ENABLED: bool.default(true),
  /** The relay's own session (advisory lock, LISTEN): straight to Postgres, past a transaction-mode pooler in DATABASE_URL. Default DATABASE_URL. */
  RELAY_DATABASE_URL: z.url().optional(),
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  RELAY_POLL_MS: z.coerce.number().int().min(10).default(1000),
  /** Postgres ends a relay session idle this long (a frozen leader), so a standby takes over; 0 disables (libs/events RelayOptions). */
  RELAY_SESSION_IDLE_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
  /** A leader whose Kafka calls have failed this long without a break steps down so a standby can publish; 0 disables (libs/events RelayOptions). */
  RELAY_STEP_DOWN_AFTER_MS: z.coerce.number().int().min(0).default(30_000),
  /** A relay's Kafka call unanswered this long counts as failed (libs/events relay.ts kafkaCallTimeoutMs); 0 disables. */
  RELAY_KAFKA_CALL_TIMEOUT_MS: z.coerce.number().int().min(0).default(20_000),
  OUTBOX_RETENTION_HOURS: z.coerce.number().min(0).default(24),
  /** Published rows past retention deleted per statement; one chunk per relay loop turn, between batches (libs/events RelayOptions). */
  RELAY_PRUNE_CHUNK_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** false: skip the API's own post-commit invalidation (tests/benchmarks of the Kafka path). */
  CACHE_INVALIDATE_ON_WRITE: bool.default(true),
}).superRefine((c, ctx) => {
  const { problem } = topicReplicationOf(c.KAFKA_TOPIC_REPLICATION_FACTOR, c.KAFKA_TOPIC_MIN_INSYNC_REPLICAS);
  if (problem) ctx.addIssue({ code: 'custom', path: ['KAFKA_TOPIC_MIN_INSYNC_REPLICAS'], message: problem });
  if (c.NODE_ENV !== 'production') return;
  if (PUBLIC_JWT_SECRETS.has(c.JWT_SECRET) || /change-?me/i.test(c.JWT_SECRET)) {
    ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is the public development default or a placeholder; set a random secret of 32+ characters (e.g. openssl rand -base64 48) when NODE_ENV=production' });
  }
  if (c.TRUST_PROXY === true) {
    ctx.addIssue({ code: 'custom', path: ['TRUST_PROXY'], message: 'true believes the client-controlled left-most X-Forwarded-For; set the hop count of your proxies (1 behind one ingress) or their subnets when NODE_ENV=production' });
  }
});

export type ApiConfig = Readonly<z.infer<typeof apiEnvSchema>>;

/** Parses the environment once at boot; a bad value fails with the variable's name. */
export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const r = apiEnvSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(r.data);
}
