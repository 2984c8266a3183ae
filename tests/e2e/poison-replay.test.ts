// Poison messages go to the DLQ with their reason and do not block their partition; an event of a
// type the invalidator does not know (a newer writer's) is invalidated broadly instead; replaying
// the whole topic (group offsets reset to the beginning) changes nothing beyond the first delivery.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NAMESPACES, versionKey } from '@rota/cache';
import { startHarness, waitFor, type Harness } from './harness.ts';
import { consumeAll, get, rename, seedScenario, settle, warm, type Scenario } from './helpers.ts';

let h: Harness;
let s: Scenario;

beforeAll(async () => {
  h = await startHarness({ worker: false, apiEnv: { CACHE_INVALIDATE_ON_WRITE: 'false' } });
  s = await seedScenario(h);
}, 180_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

it('sends unparsable events to the DLQ with the reason and keeps consuming the partition', { timeout: 90_000 }, async () => {
  const employeeId = '987654';
  const valid = {
    id: randomUUID(), type: 'employee.updated', occurredAt: new Date().toISOString(),
    aggregate: { type: 'employee', id: employeeId },
    scopes: { departmentIds: [s.deptA], ancestorDepartmentIds: [s.hq], employeeIds: [employeeId], scheduleIds: [] },
    payload: {},
  };
  const producer = h.kafka.producer();
  await producer.connect();
  // Same key → same partition: the valid event queues up behind the two poison messages.
  await producer.send({
    topic: h.topic,
    acks: -1,
    messages: [
      { key: s.deptA, value: 'this is not json', headers: { 'event-type': 'employee.updated' } },
      { key: s.deptA, value: JSON.stringify({ ...valid, id: 'not-a-uuid', type: 'employee.exploded' }) },
      { key: s.deptA, value: JSON.stringify(valid) },
    ],
  });
  await producer.disconnect();

  const empKey = versionKey('employees', `emp:${employeeId}`, h.prefix);
  await waitFor('the valid event behind the poison was applied', async () => (await h.redis.get(empKey)) !== null, 15_000, 50);
  await settle(h);

  const dlq = await consumeAll(h.kafkaBrokers, h.dlqTopic, (ms) => ms.length >= 2, 20_000);
  expect(dlq).toHaveLength(2);
  expect(dlq[0]!.value).toBe('this is not json');
  expect(dlq[0]!.headers['x-dlq-reason']).toMatch(/^not JSON/);
  expect(dlq[1]!.headers['x-dlq-reason']).toMatch(/^invalid envelope/);
  expect(dlq[1]!.headers['x-dlq-reason']).toContain('type');
  for (const m of dlq) {
    expect(m.key).toBe(s.deptA);
    expect(m.headers['x-original-topic']).toBe(h.topic);
    expect(m.headers['x-original-offset']).toMatch(/^\d+$/);
  }
  expect(await h.invalidator!.metric('events_processed_total', { result: 'dlq' })).toBe(2);
  expect(await h.invalidator!.metric('events_processed_total', { result: 'dlq', type: 'employee.updated' })).toBe(1);
  expect(await h.invalidator!.metric('events_processed_total', { result: 'dlq', type: 'unknown' })).toBe(1);
});

it('invalidates every namespace over the scopes of an event type it does not know, without a dead letter', { timeout: 60_000 }, async () => {
  // A newer writer (rolling deploy: the API before the invalidator) emits a type this build lacks.
  const before = await warm(h, s.token, s.listA);
  const employeeId = '987655';
  const scheduleId = '987656';
  const producer = h.kafka.producer();
  await producer.connect();
  await producer.send({
    topic: h.topic,
    acks: -1,
    messages: [{
      key: s.deptA,
      headers: { 'event-type': 'employee.promoted' },
      value: JSON.stringify({
        id: randomUUID(), type: 'employee.promoted', occurredAt: new Date().toISOString(),
        aggregate: { type: 'employee', id: employeeId },
        scopes: { departmentIds: [s.deptA], ancestorDepartmentIds: [s.hq], employeeIds: [employeeId], scheduleIds: [scheduleId] },
        payload: { level: 2 },
      }),
    }],
  });
  await producer.disconnect();

  await waitFor('the unknown event was applied', async () => (await h.invalidator!.metric('events_processed_total', { result: 'fallback', type: 'unknown' })) === 1, 15_000, 50);
  for (const ns of NAMESPACES) {
    for (const scope of [`emp:${employeeId}`, `sched:${scheduleId}`, `dept:${s.deptA}`, `tree:${s.hq}`, 'all']) {
      expect(await h.redis.get(versionKey(ns, scope, h.prefix)), `${ns} ${scope}`).not.toBeNull();
    }
  }
  // The department's cached list is no longer served; it reloads with the same data.
  const after = await get(h, s.token, s.listA);
  expect(after.headers.get('x-cache')).not.toBe('HIT');
  expect(after.text).toBe(before.text);
  expect(await h.invalidator!.metric('events_processed_total', { result: 'dlq' })).toBe(2);
});

it('replaying every offset from the beginning changes nothing beyond the first delivery', { timeout: 120_000 }, async () => {
  await rename(h, s, s.empA, 'BeforeReplay');
  await rename(h, s, s.empB, 'SiblingBeforeReplay');
  await settle(h);
  const paths = [s.listA, s.listB, s.treeHq, `/v1/employees/${s.empA}`, `/v1/departments/${s.deptA}`, '/v1/departments/tree'];
  const before = new Map<string, string>();
  for (const p of paths) before.set(p, (await warm(h, s.token, p)).text);
  const outboxBefore = await h.tdb.db.query('SELECT event_id, published_at FROM outbox ORDER BY id');
  const records = await h.endOffsets();

  await h.invalidator!.stop();
  const admin = h.kafka.admin();
  await admin.connect();
  await admin.resetOffsets({ groupId: h.groupId, topic: h.topic, earliest: true });
  await admin.disconnect();
  expect(await h.committedOffsets()).toBe(0);
  h.invalidator!.start();
  await h.invalidator!.waitReady();
  await settle(h, 30_000);

  // Every record was delivered again (the new process counted them) ...
  const m = await h.invalidator!.metrics();
  const handled = ['ok', 'fallback', 'dlq'].reduce((n, result) => n + metricSum(m, result), 0);
  expect(handled).toBe(records);
  // ... and the reads return exactly what they returned before (re-loaded after a bump at most).
  for (const p of paths) {
    const r = await get(h, s.token, p);
    expect(r.text, p).toBe(before.get(p));
  }
  // No new dead letters beyond the two poison messages, whose replay lands there again (the
  // unknown type is invalidated broadly again, not dead-lettered).
  const dlq = await consumeAll(h.kafkaBrokers, h.dlqTopic, (ms) => ms.length >= 4, 20_000);
  expect(dlq).toHaveLength(4);
  expect((await h.tdb.db.query('SELECT event_id, published_at FROM outbox ORDER BY id')).rows).toEqual(outboxBefore.rows);
});

function metricSum(text: string, result: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('events_processed_total{') && line.includes(`result="${result}"`)) n += Number(line.split(' ').at(-1));
  }
  return n;
}
