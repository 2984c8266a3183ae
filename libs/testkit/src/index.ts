export { testDatabase, createTestDatabase, TEST_ADMIN_URL } from './database.ts';
export type { TestDatabase } from './database.ts';
export { uniqueName } from './names.ts';
export { PrivateRedis, PrivateRedisCluster, freePort, freeStaticPort } from './redis-server.ts';
export { within } from './deadline.ts';
