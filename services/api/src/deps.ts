import type { Db } from '@rota/db';
import type { Logger, Registry } from '@rota/telemetry';
import type { RedisClient } from '@rota/cache';
import type { ApiConfig } from './config.ts';
import type { ResponseCache } from './http/cached.ts';
import type { LoginLimiter } from './auth/login-limiter.ts';
import type { Authenticator } from './auth/authenticate.ts';
import type { ReadYourWrites } from './auth/read-your-writes.ts';
import type { TokenSettings } from './auth/tokens.ts';
import type { GenerationQueue } from './generation/queue.ts';

/** Everything a route may use, built once in main.ts and passed down. */
export type Deps = {
  config: ApiConfig;
  db: Db;
  redis: RedisClient;
  cache: ResponseCache;
  logger: Logger;
  registry: Registry;
  loginLimiter: LoginLimiter;
  auth: Authenticator;
  tokens: TokenSettings;
  generation: GenerationQueue;
  /** Present when reads go to a replica (DATABASE_READ_URL): pins a writer's follow-up reads to the writer. */
  readYourWrites?: ReadYourWrites;
};
