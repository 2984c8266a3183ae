import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { describe, expect } from 'vitest';
import { createCache } from './cache.ts';
import type { GetOrLoadRequest } from './cache.ts';
import { etagOf } from './entry.ts';
import { entryKey, NAMESPACE_SCOPE, scopes, versionKey } from './keys.ts';
import { defineScripts } from './scripts.ts';
import { TEST_REDIS_URL, deferred, metricValue, test as cacheTest } from './testing.ts';

/** A loader that counts its calls and returns `<name>:<n>`, optionally after `delayMs`. */
function counter(name: string, delayMs = 0) {
  const c = {
    calls: 0,
    load: async (): Promise<string> => {
      const n = ++c.calls;
      if (delayMs > 0) await sleep(delayMs);
      return `${name}:${n}`;
    },
  };
  return c;
}

const dept7List = (load: () => Promise<Buffer | string>): GetOrLoadRequest => ({
  ns: 'employees',
  key: { departmentId: 7, includeSubdepartments: true },
  scopes: [scopes.subtree(7)],
  load,
});

// Every guarantee holds alike whether hits come from Redis or from an in-process copy.
const MODES = [
  ['every entry copied in process', { minEntryBytes: 1 }],
  ['no in-process copies', { maxBytes: 0 }],
] as const;

describe.each(MODES)('cache-aside (%s)', (_mode, localCopies) => {
  const test = cacheTest.override({ localCopies });
  test('miss, then hit, then stale served while one background refresh replaces it', async ({ makeCache, registry }) => {
    const cache = makeCache({ namespaces: { employees: { freshMs: 1_000, staleMs: 10_000 } } });
    const l = counter('v');

    const first = await cache.getOrLoad(dept7List(l.load));
    expect(first.status).toBe('MISS');
    expect(first.body.toString()).toBe('v:1');
    await cache.settled();

    const hit = await cache.getOrLoad(dept7List(l.load));
    expect(hit).toMatchObject({ status: 'HIT', etag: first.etag });
    expect(hit.body.toString()).toBe('v:1');
    expect(l.calls).toBe(1);

    await sleep(1_100);
    const stale = await Promise.all([1, 2, 3].map(() => cache.getOrLoad(dept7List(l.load))));
    expect(stale.map((r) => r.status)).toEqual(['STALE', 'STALE', 'STALE']);
    expect(stale.map((r) => r.body.toString())).toEqual(['v:1', 'v:1', 'v:1']);
    await cache.settled();
    expect(l.calls).toBe(2); // one refresh for three stale reads

    const refreshed = await cache.getOrLoad(dept7List(l.load));
    expect(refreshed.status).toBe('HIT');
    expect(refreshed.body.toString()).toBe('v:2');
    expect(await metricValue(registry, 'cache_requests_total', { namespace: 'employees', result: 'stale' })).toBe(3);
    expect(await metricValue(registry, 'cache_refreshes_total', { trigger: 'stale' })).toBe(1);
  });

  test('large entries (40 KB) hit with their exact bytes and are invalidated like small ones', async ({ makeCache }) => {
    const cache = makeCache();
    const big = (tag: string): string => `${tag}:${'x'.repeat(40_000)}`;
    const first = await cache.getOrLoad(dept7List(async () => big('v1')));
    expect(first.status).toBe('MISS');
    await cache.settled();
    const hit = await cache.getOrLoad(dept7List(async () => big('never')));
    expect(hit.status).toBe('HIT');
    expect(hit.body.toString()).toBe(big('v1'));
    expect(hit.etag).toBe(etagOf(Buffer.from(big('v1'))));
    await cache.bump('employees', [scopes.subtree(7)]);
    const after = await cache.getOrLoad(dept7List(async () => big('v2')));
    expect(after.status).toBe('MISS');
    expect(after.body.toString()).toBe(big('v2'));
  });

  test('a bump makes the next read a miss with new data, and leaves other scopes alone', async ({ makeCache }) => {
    const cache = makeCache();
    const l7 = counter('d7');
    const l8 = counter('d8');
    const dept8 = (): GetOrLoadRequest => ({ ns: 'employees', key: { departmentId: 8 }, scopes: [scopes.department(8)], load: l8.load });
    await cache.getOrLoad(dept7List(l7.load));
    await cache.getOrLoad(dept8());
    await cache.settled();

    await cache.bump('employees', scopes.departmentChange(9, [1, 7]));

    const after = await cache.getOrLoad(dept7List(l7.load));
    expect(after.status).toBe('MISS');
    expect(after.body.toString()).toBe('d7:2');
    expect((await cache.getOrLoad(dept8())).status).toBe('HIT');
    await cache.settled();
    expect((await cache.getOrLoad(dept7List(l7.load))).status).toBe('HIT');
  });

  test('a fill that raced a bump is refused by Redis and never served', async ({ makeCache, redis, prefix, registry }) => {
    const cache = makeCache();
    const gate = deferred<string>();
    let calls = 0;
    const slowOld = async (): Promise<string> => {
      calls++;
      return gate.promise; // "SELECT" that started before the change committed
    };
    const racing = cache.getOrLoad(dept7List(slowOld));
    // The read (and the recorded versions) happened once the loader runs; a loaded machine may take a while.
    for (let i = 0; i < 500 && calls === 0; i++) await sleep(5);
    expect(calls).toBe(1);
    await cache.bump('employees', [scopes.subtree(7)]);
    gate.resolve('old');

    const raced = await racing;
    expect(raced).toMatchObject({ status: 'MISS' });
    expect(raced.body.toString()).toBe('old'); // that caller started before the bump: fine
    await cache.settled();

    const key = entryKey('employees', { departmentId: 7, includeSubdepartments: true }, [scopes.subtree(7)], prefix);
    expect(await redis.exists(key)).toBe(0);
    expect(await metricValue(registry, 'cache_fills_total', { result: 'rejected' })).toBe(1);

    const next = await cache.getOrLoad(dept7List(async () => 'new'));
    expect(next.status).toBe('MISS');
    expect(next.body.toString()).toBe('new');
  });

  test('once the counters exist, a large fill is staged by a plain SET and placed by a guarded RENAME: same entry, same PX, nothing left behind', async ({ makeCache, redis, prefix, registry }) => {
    const cache = makeCache({ namespaces: { employees: { freshMs: 1, staleMs: 60_000 } } });
    // Which command carried each body to Redis.
    const carriers = new Map<string, string>();
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string; args: unknown[] }, stream?: never) => {
      for (const a of command.args) if (Buffer.isBuffer(a) && /(first|second)$/.test(a.toString())) carriers.set(/(first|second)$/.exec(a.toString())![1]!, command.name);
      return send(command as never, stream);
    }) as typeof redis.sendCommand;
    const key = entryKey('employees', { departmentId: 7, includeSubdepartments: true }, [scopes.subtree(7)], prefix);
    const counters = [versionKey('employees', NAMESPACE_SCOPE, prefix), versionKey('employees', scopes.subtree(7), prefix)];
    const big = 'x'.repeat(5000); // above the batched fills' bound: the body never passes through Lua
    await cache.getOrLoad(dept7List(async () => `${big}first`)); // creates the counters (script path)
    await cache.settled();
    await sleep(5); // stale: the next read refreshes in the background over existing counters
    expect((await cache.getOrLoad(dept7List(async () => `${big}second`))).status).toBe('STALE');
    await cache.settled();
    const versions = (await redis.mget(...counters)).join(',');
    const raw = (await redis.getBuffer(key))!;
    expect(raw.toString('latin1', 0, raw.indexOf(10))).toMatch(new RegExp(`^r2 ${versions} \\d+ \\d+ "`));
    expect(raw.subarray(raw.indexOf(10) + 1).toString()).toBe(`${big}second`);
    expect(await redis.pttl(key)).toBeGreaterThan(59_000);
    expect(await redis.keys(`${prefix}:*:fill:*`)).toEqual([]);
    expect(await metricValue(registry, 'cache_fills_total', { result: 'stored' })).toBe(2);
    expect(carriers.get('first')).toMatch(/^eval(sha)?$/); // EVAL after a NOSCRIPT on a fresh Redis
    expect(carriers.get('second')).toBe('set');
  });

  test('small fills of concurrent misses go to Redis as one script call, each guarded on its own', async ({ makeCache, redis, registry }) => {
    const cache = makeCache();
    const list = (d: number, load: () => Promise<string>): GetOrLoadRequest => ({ ns: 'employees', key: { departmentId: d }, scopes: [scopes.department(d)], load });
    for (const d of [1, 2, 3]) await cache.getOrLoad(list(d, async () => `d${d}:1`)); // creates the counters
    await cache.settled();
    await cache.flushNamespace('employees'); // all three are misses again, over existing counters
    const sent: string[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string; args: unknown[] }, stream?: never) => {
      sent.push(command.name);
      return send(command as never, stream);
    }) as typeof redis.sendCommand;
    const gate = deferred<void>();
    // Three loads finish in the same turn of the event loop; department 3's scope moves first.
    const results = Promise.all([1, 2, 3].map((d) => cache.getOrLoad(list(d, async () => { await gate.promise; return `d${d}:2`; }))));
    await sleep(20);
    await cache.bump('employees', [scopes.department(3)]);
    sent.length = 0;
    gate.resolve();
    expect((await results).map((r) => r.status)).toEqual(['MISS', 'MISS', 'MISS']);
    await cache.settled();
    expect(sent).toEqual([expect.stringMatching(/^eval(sha)?$/)]); // one call carried all three fills
    expect(await metricValue(registry, 'cache_fills_total', { result: 'stored' })).toBe(5);
    expect(await metricValue(registry, 'cache_fills_total', { result: 'rejected' })).toBe(1);
    const reads = await Promise.all([1, 2, 3].map((d) => cache.getOrLoad(list(d, async () => `d${d}:3`))));
    expect(reads.map((r) => `${r.status} ${r.body.toString()}`)).toEqual(['HIT d1:2', 'HIT d2:2', 'MISS d3:3']);
  });

  test('a burst of small fills is sent in calls of at most 64 fills', async ({ makeCache, redis, registry }) => {
    const cache = makeCache();
    const list = (d: number): GetOrLoadRequest => ({ ns: 'employees', key: { departmentId: d }, scopes: [scopes.department(1)], load: async () => `d${d}` });
    await cache.getOrLoad(list(0)); // creates the counters
    await cache.settled();
    // Fills per script call: its key count over the three keys of a fill (entry, namespace and department counters).
    const perCall: number[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string; args: unknown[] }, stream?: never) => {
      if (/^eval(sha)?$/.test(command.name)) perCall.push(Number(command.args[1]) / 3);
      return send(command as never, stream);
    }) as typeof redis.sendCommand;
    const ids = Array.from({ length: 70 }, (_, i) => i + 1);
    await Promise.all(ids.map((d) => cache.getOrLoad(list(d))));
    await cache.settled();
    expect(perCall.reduce((a, b) => a + b, 0)).toBe(70);
    expect(Math.max(...perCall)).toBeLessThanOrEqual(64);
    expect(perCall.length).toBeLessThanOrEqual(5); // batched, not one call per fill
    expect(await metricValue(registry, 'cache_fills_total', { result: 'stored' })).toBe(71);
  });

  test('a staged value that expired before its placement (a PX of 1 ms on a slow machine) is no error', async ({ redis, prefix }) => {
    defineScripts(redis);
    const place = (redis as unknown as { rotaCachePlace(n: number, ...a: string[]): Promise<number> }).rotaCachePlace.bind(redis);
    const v = versionKey('employees', scopes.subtree(7), prefix);
    await redis.set(v, '17');
    const staged = `${prefix}:{employees}:e:x:fill:t:1`;
    await redis.set(staged, 'r2 17 0 0 "e"\nbody', 'PX', 1);
    await sleep(10);
    expect(await place(3, staged, `${prefix}:{employees}:e:x`, v, '17')).toBe(2);
    await redis.set(staged, 'r2 17 0 0 "e"\nbody', 'PX', 60_000);
    expect(await place(3, staged, `${prefix}:{employees}:e:x`, v, '17')).toBe(1);
    expect(await redis.get(`${prefix}:{employees}:e:x`)).toBe('r2 17 0 0 "e"\nbody');
    expect(await redis.exists(staged)).toBe(0);
  });

  test('a staged fill that raced a bump is refused: the entry is not replaced and the staged value is gone', async ({ makeCache, redis, prefix, registry }) => {
    const cache = makeCache();
    const key = entryKey('employees', { departmentId: 7, includeSubdepartments: true }, [scopes.subtree(7)], prefix);
    await cache.getOrLoad(dept7List(async () => 'before'));
    await cache.settled();
    await cache.bump('employees', [scopes.subtree(7)]); // every counter exists now; the entry is out of date
    const before = await redis.getBuffer(key);
    const gate = deferred<string>();
    let calls = 0;
    const racing = cache.getOrLoad(dept7List(async () => { calls++; return gate.promise; }));
    for (let i = 0; i < 500 && calls === 0; i++) await sleep(5);
    expect(calls).toBe(1);
    await cache.bump('employees', [scopes.subtree(7)]);
    gate.resolve('raced');
    expect((await racing).body.toString()).toBe('raced'); // that caller started before the bump: fine
    await cache.settled();

    expect(await redis.getBuffer(key)).toEqual(before);
    expect(await redis.keys(`${prefix}:*:fill:*`)).toEqual([]);
    expect(await metricValue(registry, 'cache_fills_total', { result: 'rejected' })).toBe(1);
    const next = await cache.getOrLoad(dept7List(async () => 'new'));
    expect(next).toMatchObject({ status: 'MISS' });
    expect(next.body.toString()).toBe('new');
  });

  test('an entry recorded under old versions is never served even if it lands', async ({ makeCache, redis, prefix }) => {
    const cache = makeCache();
    await cache.getOrLoad(dept7List(async () => 'old'));
    await cache.settled();
    const key = entryKey('employees', { departmentId: 7, includeSubdepartments: true }, [scopes.subtree(7)], prefix);
    const oldBytes = await redis.getBuffer(key);
    expect(oldBytes).not.toBeNull();

    await cache.bump('employees', [scopes.subtree(7)]);
    await redis.set(key, oldBytes!, 'PX', 60_000); // a writer without the guard slipped it in

    const r = await cache.getOrLoad(dept7List(async () => 'new'));
    expect(r.status).toBe('MISS');
    expect(r.body.toString()).toBe('new');
  });

  test('a stale entry whose scope moved is a miss, not stale', async ({ makeCache }) => {
    const cache = makeCache({ namespaces: { employees: { freshMs: 100, staleMs: 10_000 } } });
    await cache.getOrLoad(dept7List(async () => 'old'));
    await cache.settled();
    await sleep(150);
    await cache.bump('employees', [scopes.subtree(7)]);
    const r = await cache.getOrLoad(dept7List(async () => 'new'));
    expect(r.status).toBe('MISS');
    expect(r.body.toString()).toBe('new');
  });

  test('a lost version counter (eviction) turns entries into misses, never into hits', async ({ makeCache, redis, prefix }) => {
    const cache = makeCache();
    await cache.getOrLoad(dept7List(async () => 'old'));
    await cache.settled();
    await redis.del(versionKey('employees', scopes.subtree(7), prefix));
    const r = await cache.getOrLoad(dept7List(async () => 'new'));
    expect(r.status).toBe('MISS');
    expect(r.body.toString()).toBe('new');
  });

  test('bumping a counter that does not exist yet still invalidates', async ({ makeCache }) => {
    const cache = makeCache();
    await cache.getOrLoad(dept7List(async () => 'old'));
    await cache.settled();
    // the namespace scope exists (fill created it); the unrelated scope does not: bump both ways
    await cache.bump('employees', ['never-seen', scopes.subtree(7)]);
    expect((await cache.getOrLoad(dept7List(async () => 'new'))).body.toString()).toBe('new');
  });

  test('single flight: concurrent misses on one key run one load', async ({ makeCache }) => {
    const cache = makeCache();
    const l = counter('sf', 50);
    const results = await Promise.all(Array.from({ length: 25 }, () => cache.getOrLoad(dept7List(l.load))));
    expect(l.calls).toBe(1);
    expect(new Set(results.map((r) => r.body.toString()))).toEqual(new Set(['sf:1']));
    expect(new Set(results.map((r) => r.etag)).size).toBe(1);
    expect(results.every((r) => r.status === 'MISS')).toBe(true);
    await cache.settled();
    expect((await cache.getOrLoad(dept7List(l.load))).status).toBe('HIT');
    expect(l.calls).toBe(1);
  });

  test('a caller that saw an invalidation does not join a load started before it', async ({ makeCache }) => {
    const cache = makeCache();
    const gate = deferred<string>();
    const early = cache.getOrLoad(dept7List(() => gate.promise));
    await sleep(20);
    await cache.bump('employees', [scopes.subtree(7)]);
    const late = cache.getOrLoad(dept7List(async () => 'new'));
    const lateBody = await Promise.race([late.then((r) => r.body.toString()), sleep(500).then(() => 'still waiting')]);
    gate.resolve('old');
    expect(lateBody).toBe('new');
    expect((await early).body.toString()).toBe('old');
    await cache.settled();
    const now = await cache.getOrLoad(dept7List(async () => 'unexpected'));
    expect(now).toMatchObject({ status: 'HIT' });
    expect(now.body.toString()).toBe('new');
  });

  test('XFetch refreshes a hot key before it expires, while still answering HIT', async ({ makeCache, registry }) => {
    // loadMs ≈ 40, beta 1000: an early refresh is due with probability ~98 % per hit.
    const cache = makeCache({ earlyRefreshBeta: 1000, namespaces: { employees: { freshMs: 2_000, staleMs: 0 } } });
    const l = counter('x', 40);
    await cache.getOrLoad(dept7List(l.load));
    await cache.settled();
    const statuses: string[] = [];
    for (let i = 0; i < 10 && l.calls < 2; i++) {
      statuses.push((await cache.getOrLoad(dept7List(l.load))).status);
      await cache.settled();
    }
    expect(l.calls).toBe(2);
    expect(statuses.every((s) => s === 'HIT')).toBe(true);
    expect(await metricValue(registry, 'cache_refreshes_total', { trigger: 'early' })).toBe(1);
    expect((await cache.getOrLoad(dept7List(l.load))).body.toString()).toBe('x:2');
  });

  test('without early refresh (beta 0) a hot key is not reloaded before expiry', async ({ makeCache }) => {
    const cache = makeCache({ earlyRefreshBeta: 0 });
    const l = counter('x', 40);
    await cache.getOrLoad(dept7List(l.load));
    await cache.settled();
    for (let i = 0; i < 10; i++) await cache.getOrLoad(dept7List(l.load));
    await cache.settled();
    expect(l.calls).toBe(1);
  });

  test('ETag depends on the bytes only', async ({ makeCache }) => {
    const cache = makeCache();
    const a = await cache.getOrLoad({ ns: 'schedules', key: 'a', scopes: [scopes.schedule(1)], load: async () => '{"x":1}' });
    const b = await cache.getOrLoad({ ns: 'departments', key: 'b', scopes: [scopes.all], load: async () => Buffer.from('{"x":1}') });
    const c = await cache.getOrLoad({ ns: 'schedules', key: 'c', scopes: [scopes.schedule(1)], load: async () => '{"x":2}' });
    await cache.settled();
    const aHit = await cache.getOrLoad({ ns: 'schedules', key: 'a', scopes: [scopes.schedule(1)], load: async () => 'other' });
    expect(aHit.status).toBe('HIT');
    expect(a.etag).toBe(b.etag);
    expect(aHit.etag).toBe(a.etag);
    expect(a.etag).toBe(etagOf(Buffer.from('{"x":1}')));
    expect(c.etag).not.toBe(a.etag);
    expect(a.etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
  });

  test('hits return the exact bytes, binary included', async ({ makeCache }) => {
    const cache = makeCache();
    const bytes = Buffer.from([0, 10, 13, 32, 255, 254, 10, 0, 0x72, 0x31]);
    await cache.getOrLoad({ ns: 'analytics', key: 'bin', scopes: [], load: async () => bytes });
    await cache.settled();
    const hit = await cache.getOrLoad({ ns: 'analytics', key: 'bin', scopes: [], load: async () => 'x' });
    expect(hit.status).toBe('HIT');
    expect(Buffer.compare(hit.body, bytes)).toBe(0);
  });

  test('invalidate bumps several namespaces at once; flushNamespace empties one', async ({ makeCache }) => {
    const cache = makeCache();
    const emp = (v: string): GetOrLoadRequest => ({ ns: 'employees', key: 'e42', scopes: [scopes.employee(42)], load: async () => v });
    const acc = (v: string): GetOrLoadRequest => ({ ns: 'access', key: 'p42', scopes: [scopes.employee(42)], load: async () => v });
    const tpl = (v: string): GetOrLoadRequest => ({ ns: 'templates', key: 't7', scopes: [scopes.department(7)], load: async () => v });
    await Promise.all([cache.getOrLoad(emp('1')), cache.getOrLoad(acc('1')), cache.getOrLoad(tpl('1'))]);
    await cache.settled();

    await cache.invalidate([
      { ns: 'employees', scopes: [scopes.employee(42)] },
      { ns: 'access', scopes: [scopes.employee(42)] },
    ]);
    expect((await cache.getOrLoad(emp('2'))).status).toBe('MISS');
    expect((await cache.getOrLoad(acc('2'))).status).toBe('MISS');
    expect((await cache.getOrLoad(tpl('2'))).status).toBe('HIT');

    await cache.flushNamespace('templates');
    const t = await cache.getOrLoad(tpl('3'));
    expect(t.status).toBe('MISS');
    expect(t.body.toString()).toBe('3');
  });

  test('a loader error reaches every waiting caller and is not cached', async ({ makeCache }) => {
    const cache = makeCache();
    let calls = 0;
    const failing = async (): Promise<string> => {
      calls++;
      await sleep(20);
      throw new Error('db down');
    };
    const results = await Promise.allSettled([1, 2, 3].map(() => cache.getOrLoad(dept7List(failing))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(calls).toBe(1);
    await cache.settled();
    const ok = await cache.getOrLoad(dept7List(async () => 'ok'));
    expect(ok).toMatchObject({ status: 'MISS' });
  });

  test('the same parameters in another order are the same entry', async ({ makeCache }) => {
    const cache = makeCache();
    await cache.getOrLoad({ ns: 'employees', key: { a: 1, b: 'x', c: undefined }, scopes: [scopes.all], load: async () => '1' });
    await cache.settled();
    const r = await cache.getOrLoad({ ns: 'employees', key: { b: 'x', a: 1 }, scopes: [scopes.all], load: async () => '2' });
    expect(r.status).toBe('HIT');
  });

  test('two caches can share a registry and a client', async ({ redis, registry, prefix }) => {
    const one = createCache({ redis, registry, keyPrefix: prefix, timeoutMs: 2_000, breaker: { name: 'redis-cache-a' } });
    const two = createCache({ redis, registry, keyPrefix: prefix, timeoutMs: 2_000, breaker: { name: 'redis-cache-b' } });
    try {
      await one.getOrLoad(dept7List(async () => 'x'));
      await one.settled();
      expect((await two.getOrLoad(dept7List(async () => 'y'))).status).toBe('HIT');
      expect(await metricValue(registry, 'cache_requests_total', { namespace: 'employees' })).toBe(2);
      expect(await metricValue(registry, 'circuit_breaker_events_total', { name: 'redis-cache-b', event: 'success' })).toBe(1);
      expect(await metricValue(registry, 'circuit_breaker_state', { name: 'redis-cache-a' })).toBe(0);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('a malformed scope bypasses the cache instead of failing the request', async ({ makeCache }) => {
    const cache = makeCache();
    const r = await cache.getOrLoad({ ns: 'employees', key: 'k', scopes: ['bad scope{'], load: async () => 'x' });
    expect(r.status).toBe('BYPASS');
    expect(r.body.toString()).toBe('x');
  });
});

describe('in-process copies of large entries', () => {
  const test = cacheTest;
  const big = (tag: string): string => `${tag}:${'x'.repeat(20_000)}`;
  const key = (prefix: string): string => entryKey('employees', { departmentId: 7, includeSubdepartments: true }, [scopes.subtree(7)], prefix);

  test('a hit reads only the counters from Redis and serves the copy; small entries are not copied', async ({ makeCache, redis, prefix, registry }) => {
    const cache = makeCache();
    await cache.getOrLoad(dept7List(async () => big('v1'))); // the fill keeps a copy
    await cache.settled();
    await cache.getOrLoad({ ns: 'employees', key: 'small', scopes: [scopes.all], load: async () => 'tiny' });
    await cache.settled();
    expect(await metricValue(registry, 'cache_local_copy_bytes')).toBeGreaterThanOrEqual(20_000);
    expect(await metricValue(registry, 'cache_local_copy_bytes')).toBeLessThan(21_000);

    const commands: string[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string; args: unknown[] }, stream?: never) => {
      commands.push(`${command.name} ${command.args.map(String).join(' ')}`);
      return send(command as never, stream);
    }) as typeof redis.sendCommand;
    const hit = await cache.getOrLoad(dept7List(async () => 'never'));
    expect(hit.status).toBe('HIT');
    expect(hit.body.toString()).toBe(big('v1'));
    expect(hit.etag).toBe(etagOf(Buffer.from(big('v1'))));
    // The copy holds its own bytes, not a slice of Node's shared Buffer pool.
    expect(hit.body.buffer.byteLength).toBe(hit.body.length);
    expect(commands).toEqual([`mget ${versionKey('employees', NAMESPACE_SCOPE, prefix)} ${versionKey('employees', scopes.subtree(7), prefix)}`]);
    expect(await metricValue(registry, 'cache_local_copy_reads_total', { result: 'hit' })).toBe(1);
    expect(await metricValue(registry, 'cache_requests_total', { result: 'hit' })).toBe(1);
  });

  test('a bump by another pod (another client and cache) stops the copy at once; its fill is then read from Redis, not loaded again', async ({ makeCache, redis, prefix, registry }) => {
    const mine = makeCache();
    const other = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const theirs = makeCache({ redis: other, registry: new Registry() });
      await theirs.getOrLoad(dept7List(async () => big('v1')));
      await theirs.settled();
      expect((await mine.getOrLoad(dept7List(async () => 'never'))).body.toString()).toBe(big('v1')); // copied
      const fromCopy = await mine.getOrLoad(dept7List(async () => 'never'));
      expect(fromCopy.body.toString()).toBe(big('v1'));
      // The copy holds its own bytes, not a slice of the client's read buffer (which may hold more).
      expect(fromCopy.body.buffer.byteLength).toBe(fromCopy.body.length);
      await theirs.bump('employees', [scopes.subtree(7)]);
      const after = await mine.getOrLoad(dept7List(async () => big('v2')));
      expect(after.status).toBe('MISS');
      expect(after.body.toString()).toBe(big('v2'));
      expect(await metricValue(registry, 'cache_local_copy_reads_total', { result: 'dropped' })).toBe(1);
      await mine.settled();

      await theirs.bump('employees', [scopes.subtree(7)]);
      await theirs.getOrLoad(dept7List(async () => big('v3'))); // their miss, their fill
      await theirs.settled();
      let loads = 0;
      const r = await mine.getOrLoad(dept7List(async () => { loads++; return 'never'; }));
      expect(r).toMatchObject({ status: 'HIT' });
      expect(r.body.toString()).toBe(big('v3'));
      expect(loads).toBe(0);
      expect(await redis.exists(key(prefix))).toBe(1);
    } finally {
      other.disconnect();
    }
  });

  test('a delayed fill that raced an invalidation leaves no copy behind', async ({ makeCache, registry }) => {
    const cache = makeCache();
    await cache.getOrLoad(dept7List(async () => big('v1')));
    await cache.settled();
    await cache.bump('employees', [scopes.subtree(7)]); // every counter exists: the next fill would keep a copy
    const gate = deferred<string>();
    let calls = 0;
    const racing = cache.getOrLoad(dept7List(async () => { calls++; return gate.promise; }));
    for (let i = 0; i < 500 && calls === 0; i++) await sleep(5);
    await cache.bump('employees', [scopes.subtree(7)]);
    gate.resolve(big('raced'));
    expect((await racing).body.toString()).toBe(big('raced'));
    await cache.settled();
    expect(await metricValue(registry, 'cache_fills_total', { result: 'rejected' })).toBe(1);
    expect(await metricValue(registry, 'cache_local_copy_bytes')).toBe(0);
    const next = await cache.getOrLoad(dept7List(async () => big('new')));
    expect(next.status).toBe('MISS');
    expect(next.body.toString()).toBe(big('new'));
    await cache.settled();
    // That fill's versions were known: its copy answers the next hit.
    expect((await cache.getOrLoad(dept7List(async () => 'never'))).body.toString()).toBe(big('new'));
    expect(await metricValue(registry, 'cache_local_copy_reads_total', { result: 'hit' })).toBe(1);
  });

  test('a copy is served only while fresh: after that the stale entry comes from Redis and is refreshed', async ({ makeCache, registry }) => {
    const cache = makeCache({ namespaces: { employees: { freshMs: 1_200, staleMs: 10_000 } } });
    await cache.getOrLoad(dept7List(async () => big('v1'))); // copied (fresh for ~1.2 s)
    await cache.settled();
    expect((await cache.getOrLoad(dept7List(async () => 'never'))).status).toBe('HIT');
    expect(await metricValue(registry, 'cache_local_copy_reads_total', { result: 'hit' })).toBe(1);
    await sleep(1_300);
    const stale = await cache.getOrLoad(dept7List(async () => big('v2')));
    expect(stale.status).toBe('STALE');
    expect(stale.body.toString()).toBe(big('v1'));
    await cache.settled();
    const fresh = await cache.getOrLoad(dept7List(async () => 'never'));
    expect(fresh).toMatchObject({ status: 'HIT' });
    expect(fresh.body.toString()).toBe(big('v2'));
    expect(await metricValue(registry, 'cache_local_copy_reads_total', { result: 'hit' })).toBe(2); // the refresh's own copy
  });

  test('copies are bounded by their total bytes, least recently used first', async ({ makeCache, registry }) => {
    const cache = makeCache({ localCopies: { maxBytes: 70_000 } });
    const read = (d: number, v: string): Promise<unknown> =>
      cache.getOrLoad({ ns: 'employees', key: { d }, scopes: [scopes.department(d)], load: async () => big(v) });
    await read(0, 'counters'); // creates the namespace counter; each department's own is created below
    for (let d = 1; d <= 5; d++) await cache.bump('employees', [scopes.department(d)]);
    for (let d = 1; d <= 5; d++) await read(d, `d${d}`);
    await cache.settled();
    const bytes = await metricValue(registry, 'cache_local_copy_bytes');
    expect(bytes).toBeGreaterThan(60_000); // three of 20 KB
    expect(bytes).toBeLessThanOrEqual(70_000);
    for (let d = 3; d <= 5; d++) await read(d, 'never');
    expect(await metricValue(registry, 'cache_local_copy_reads_total', { result: 'hit' })).toBe(3);
    await read(1, 'never'); // evicted: read from Redis (and copied again)
    expect(await metricValue(registry, 'cache_local_copy_reads_total', { result: 'hit' })).toBe(3);
    expect(await metricValue(registry, 'cache_requests_total', { result: 'hit' })).toBe(4);
  });

  test('maxBytes 0 keeps no copies', async ({ makeCache, registry }) => {
    const cache = makeCache({ localCopies: { maxBytes: 0 } });
    await cache.getOrLoad(dept7List(async () => big('v1')));
    await cache.settled();
    for (let i = 0; i < 3; i++) expect((await cache.getOrLoad(dept7List(async () => 'never'))).status).toBe('HIT');
    expect(await metricValue(registry, 'cache_local_copy_reads_total')).toBe(0);
    expect(() => makeCache({ localCopies: { maxBytes: -1 } })).toThrow(RangeError);
  });
});
