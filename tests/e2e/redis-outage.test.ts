// Redis down: the invalidator pauses and holds its offsets (never skips an event), and catches up
// when Redis is back. Uses a redis-server of its own (AOF, so a restart keeps the cached data).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './harness.ts';
import { cachedRead, get, pendingOutbox, readUntilNotHit, rename, seedScenario, settle, type Scenario, warm } from './helpers.ts';
import { PrivateRedis } from './private-infra.ts';

let redis: PrivateRedis;
let h: Harness;
let s: Scenario;

beforeAll(async () => {
  redis = await PrivateRedis.create();
  await redis.start();
  h = await startHarness({ redisUrl: redis.url, worker: false, apiEnv: { CACHE_INVALIDATE_ON_WRITE: 'false' } });
  s = await seedScenario(h);
}, 180_000);

afterAll(async () => {
  await h?.close();
  await redis?.destroy();
}, 60_000);

it('holds the offsets while Redis is down and invalidates everything once it is back', { timeout: 120_000 }, async () => {
  await warm(h, s.token, s.listA);
  await warm(h, s.token, s.listB);
  await settle(h);
  const committedBefore = await h.committedOffsets();
  const okBefore = await h.invalidator!.metric('events_processed_total', { result: 'ok' });

  await redis.kill();
  const writes = 5;
  for (let i = 1; i <= writes; i++) await rename(h, s, s.empA, `RedisDown${i}`);
  // The relay published them (Kafka is fine) ...
  await waitFor('published', async () => (await pendingOutbox(h)) === 0, 20_000, 50);
  await waitFor('on the topic', async () => (await h.endOffsets()) >= committedBefore + writes, 20_000, 100);
  // ... and the invalidator tries, fails, pauses and retries — without committing past them.
  await waitFor('invalidator retrying', async () => (await h.invalidator!.metric('events_processed_total', { result: 'retry' })) > 0, 20_000, 100);
  await new Promise((r) => setTimeout(r, 3000));
  expect(await h.committedOffsets()).toBe(committedBefore);
  expect(await h.invalidator!.metric('events_processed_total', { result: 'ok' })).toBe(okBefore);
  const lag = await waitFor('lag reported', async () => {
    const v = await h.invalidator!.metric('kafka_consumer_lag', { group: h.groupId });
    return v >= writes ? v : undefined;
  }, 10_000, 200);
  expect(lag).toBe(writes);
  // The API keeps serving, from Postgres.
  const bypass = await get(h, s.token, s.listA);
  expect(bypass.headers.get('x-cache')).toBe('BYPASS');
  expect(bypass.text).toContain(`RedisDown${writes}`);

  await redis.start();
  await settle(h, 60_000);
  expect(await h.committedOffsets()).toBe(committedBefore + writes);
  expect(await h.invalidator!.metric('events_processed_total', { result: 'ok' })).toBeGreaterThanOrEqual(okBefore + writes);
  // The entry cached before the outage survived in Redis but is not served any more.
  const fresh = await readUntilNotHit(h, s.token, s.listA, 20_000);
  expect(fresh.headers.get('x-cache')).toBe('MISS');
  expect(fresh.text).toContain(`RedisDown${writes}`);
  expect((await cachedRead(h, s.token, s.listB)).headers.get('x-cache')).toBe('HIT');
});
