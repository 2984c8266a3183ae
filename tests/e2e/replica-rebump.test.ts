// With API read replicas the invalidator bumps each event's scopes twice: at once, and again after
// REPLICA_REBUMP_MS (the replicas' lag bound), so an entry filled from a replica that was still
// behind the change in between is dropped too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionKey } from '@rota/cache';
import { recordEvent } from '@rota/events';
import { startHarness, waitFor, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ worker: false, apiEnv: { CACHE_INVALIDATE_ON_WRITE: 'false' }, invalidatorEnv: { REPLICA_REBUMP_MS: '1500' } });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('cache-invalidator with REPLICA_REBUMP_MS', { timeout: 60_000 }, () => {
  it('bumps the scopes again after the lag bound', async () => {
    const key = versionKey('schedules', 'dept:777', h.prefix);
    await h.tdb.db.tx(async (q) => {
      await recordEvent(q, { type: 'schedule.generated', aggregate: { type: 'schedule', id: '4242' }, departmentIds: ['777'], scheduleIds: ['4242'], payload: {} });
    });
    await waitFor('first bump', async () => (await h.redis.get(key)) !== null);
    const first = Number(await h.redis.get(key));
    const firstAt = Date.now();
    await waitFor('second bump', async () => Number(await h.redis.get(key)) === first + 1, 10_000);
    // Not the same bump seen twice: it came about the configured delay later.
    expect(Date.now() - firstAt).toBeGreaterThan(1000);
  });
});
