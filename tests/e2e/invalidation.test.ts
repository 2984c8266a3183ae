// An API write reaches the cache only through outbox → relay → Kafka → cache-invalidator (the API's
// own post-commit invalidation is switched off), and invalidates exactly the affected reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionKey } from '@rota/cache';
import { recordEvent } from '@rota/events';
import { startHarness, waitFor, type Harness } from './harness.ts';
import { cachedRead, readUntilNotHit, settle, warm } from './helpers.ts';

let h: Harness;
let token: string;
let hq: string;
let deptA: string;
let deptB: string;
let empA: string;

beforeAll(async () => {
  h = await startHarness({ apiEnv: { CACHE_INVALIDATE_ON_WRITE: 'false' } });
  token = await h.login();
  hq = h.admin.departmentId;
  const a = await h.request('POST', '/v1/departments', { token, body: { name: 'Dept A', parentId: hq } });
  const b = await h.request('POST', '/v1/departments', { token, body: { name: 'Dept B', parentId: hq } });
  expect([a.status, b.status]).toEqual([201, 201]);
  deptA = a.body.id;
  deptB = b.body.id;
  const ea = await h.request('POST', '/v1/employees', { token, body: { email: 'alice@example.com', firstName: 'Alice', lastName: 'Original', departmentId: deptA } });
  const eb = await h.request('POST', '/v1/employees', { token, body: { email: 'bob@example.com', firstName: 'Bob', lastName: 'Sibling', departmentId: deptB } });
  expect([ea.status, eb.status]).toEqual([201, 201]);
  empA = ea.body.id;
  // Setup events are delivered before the cache is warmed, so only the test's writes count.
  await settle(h);
}, 120_000);

afterAll(async () => {
  await h?.close();
});

const listA = (): string => `/v1/employees?departmentId=${deptA}`;
const listB = (): string => `/v1/employees?departmentId=${deptB}`;
const treeHq = (): string => `/v1/employees?departmentId=${hq}&includeSubdepartments=true`;

// Generous timeouts: these run next to other suites on 2 cores; the assertions are about what is
// served, not how fast.
describe('API write → outbox → Kafka → cache-invalidator', { timeout: 90_000 }, () => {
  it('invalidates the department, its ancestors and the employee, and leaves a sibling cached', async () => {
    for (const p of [listA(), listB(), treeHq(), `/v1/employees/${empA}`, `/v1/departments/${deptA}`]) await warm(h, token, p);

    // Without the invalidator nothing else invalidates: the old data stays a HIT after the write.
    // Graceful stop on SIGTERM: exit code 0 (offsets of finished work committed, group left).
    const code = await h.invalidator!.stop();
    expect(code, h.invalidator!.logs(40)).toBe(0);
    const w = await h.request('PATCH', `/v1/employees/${empA}`, { token, body: { lastName: 'Renamed' } });
    expect(w.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    const stale = await cachedRead(h, token, listA());
    expect(stale.headers.get('x-cache')).toBe('HIT');
    expect(stale.text).toContain('Original');

    h.invalidator!.start();
    await h.invalidator!.waitReady();
    for (const p of [listA(), treeHq(), `/v1/employees/${empA}`]) {
      const r = await readUntilNotHit(h, token, p);
      expect(r.headers.get('x-cache'), p).toBe('MISS');
      expect(r.text, p).toContain('Renamed');
      expect(r.text, p).not.toContain('Original');
    }
    await settle(h);
    const sibling = await cachedRead(h, token, listB());
    expect(sibling.headers.get('x-cache')).toBe('HIT');
    expect(sibling.text).toContain('Sibling');
    // employee.updated does not touch the departments namespace.
    expect((await cachedRead(h, token, `/v1/departments/${deptA}`)).headers.get('x-cache')).toBe('HIT');
  });

  it('a new employee in A shows up in A and HQ lists; B stays cached', async () => {
    for (const p of [listA(), listB(), treeHq()]) await warm(h, token, p);
    const c = await h.request('POST', '/v1/employees', { token, body: { email: 'carol@example.com', firstName: 'Carol', lastName: 'Newcomer', departmentId: deptA } });
    expect(c.status).toBe(201);
    for (const p of [listA(), treeHq()]) {
      const r = await readUntilNotHit(h, token, p);
      expect(r.text, p).toContain('Newcomer');
    }
    await settle(h);
    expect((await cachedRead(h, token, listB())).headers.get('x-cache')).toBe('HIT');
  });

  it('renaming department A refreshes department reads; the sibling employee list stays cached', async () => {
    for (const p of [listB(), `/v1/departments/${deptA}`, '/v1/departments/tree']) await warm(h, token, p);
    const r = await h.request('PATCH', `/v1/departments/${deptA}`, { token, body: { name: 'Dept A renamed' } });
    expect(r.status).toBe(200);
    for (const p of [`/v1/departments/${deptA}`, '/v1/departments/tree']) {
      const fresh = await readUntilNotHit(h, token, p);
      expect(fresh.text, p).toContain('Dept A renamed');
    }
    await settle(h);
    expect((await cachedRead(h, token, listB())).headers.get('x-cache')).toBe('HIT');
  });

  it('a schedule.generated event (as the worker writes it) bumps only its department\'s schedule scopes', async () => {
    // Written exactly as the scheduler-worker does: recordEvent inside the result transaction.
    const read = async (scope: string): Promise<string | null> => h.redis.get(versionKey('schedules', scope, h.prefix));
    const before = { a: await read(`dept:${deptA}`), b: await read(`dept:${deptB}`), tree: await read(`tree:${hq}`) };
    await h.tdb.db.tx(async (q) => {
      await recordEvent(q, {
        type: 'schedule.generated', aggregate: { type: 'schedule', id: '424242' },
        departmentIds: [deptA], scheduleIds: ['424242'], payload: { runId: 'e2e' },
      });
    });
    await waitFor('schedule scope of A bumped', async () => (await read(`dept:${deptA}`)) !== before.a);
    expect(await read('sched:424242')).not.toBeNull();
    expect(await read(`tree:${hq}`)).not.toBe(before.tree);
    await settle(h);
    expect(await read(`dept:${deptB}`)).toBe(before.b);
  });
});
