import v8 from 'node:v8';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { TEST_REDIS_URL, test } from './testing.ts';

// What a request leaves in the old generation once it is over (docs/performance.md item 35). Each
// round starts from a full collection, runs the work, lets every call settle, then runs two young
// collections: whatever is still garbage in old space afterwards was either allocated there or
// kept alive through them by an old object — and is what made the API run a mark-compact every
// few seconds under load.

type Gc = (options?: { type?: 'major' | 'minor' }) => void;
const gc = (globalThis as { gc?: Gc }).gc;

function oldSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
}

/** The largest old-space growth per operation over `rounds` rounds of `ops` operations. */
async function oldBytesPerOp(rounds: number, ops: number, run: () => Promise<unknown>, settle: () => Promise<void> = async () => {}): Promise<number> {
  if (gc === undefined) throw new Error('run with --expose-gc (vitest.config.ts sets it)');
  let worst = 0;
  for (let r = 0; r < rounds; r++) {
    await settle();
    gc({ type: 'major' });
    const before = oldSpaceBytes();
    for (let i = 0; i < ops; i += 50) await Promise.all(Array.from({ length: 50 }, run));
    await settle();
    gc({ type: 'minor' });
    gc({ type: 'minor' });
    worst = Math.max(worst, (oldSpaceBytes() - before) / ops);
  }
  return worst;
}

describe('old-generation retention', () => {
  test('an ioredis command leaves nothing behind (patches/ioredis@5.11.1.patch)', async ({ prefix }) => {
    // Unpatched, `this.reject = (err) => …` in Command#initPromise was pretenured by V8: one
    // old-space closure per command holding the command, its arguments and its promise through
    // every scavenge — 950–1,570 bytes per command here; patched, 30–40.
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 1000 });
    try {
      await redis.ping();
      let i = 0;
      const perCommand = await oldBytesPerOp(3, 5000, () => redis.get(`${prefix}:${i++}`));
      expect(perCommand).toBeLessThan(200);
    } finally {
      redis.disconnect();
    }
  });

  test('a cache miss leaves little behind: no per-request entries in long-lived tables', async ({ makeCache }) => {
    // Every read misses (1 ms fresh window) and fills, 50 at once over 300 keys. With a Map of
    // flights that entries entered and left per miss (and a Set of pending work, a Map of fill
    // batches per turn), each miss left 600–890 bytes in old space; with slots that stay, 40–70.
    const cache = makeCache({ namespaces: { employees: { freshMs: 1, staleMs: 0 } } });
    const body = Buffer.alloc(500, 'x');
    let k = 0;
    const miss = (): Promise<unknown> => cache.getOrLoad({
      ns: 'employees', key: `k${k++ % 300}`, scopes: ['employee:1'],
      load: async () => { await new Promise((resolve) => setImmediate(resolve)); return Buffer.from(body); },
    });
    for (let i = 0; i < 2000; i += 50) await Promise.all(Array.from({ length: 50 }, miss)); // warm: slots, code
    const perMiss = await oldBytesPerOp(3, 3000, miss, () => cache.settled());
    expect(perMiss).toBeLessThan(200);
  });
});
