// Kafka down: writes still commit, the outbox holds every event, and after Kafka returns every
// event is delivered and every affected read invalidated. Uses a broker of its own.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metricValue, startHarness, waitFor, type Harness } from './harness.ts';
import { cachedRead, consumeAll, outboxEventIds, pendingOutbox, readUntilNotHit, rename, seedScenario, settle, type Scenario, warm } from './helpers.ts';
import { PrivateKafka } from './private-infra.ts';

let kafka: PrivateKafka;
let h: Harness;
let s: Scenario;

beforeAll(async () => {
  kafka = await PrivateKafka.create();
  await kafka.start();
  h = await startHarness({ kafkaBrokers: kafka.brokers, worker: false, apiEnv: { CACHE_INVALIDATE_ON_WRITE: 'false' } });
  s = await seedScenario(h);
}, 180_000);

afterAll(async () => {
  await h?.close();
  await kafka?.destroy();
}, 120_000);

it('keeps events in the outbox while Kafka is down and delivers all of them afterwards', { timeout: 300_000 }, async () => {
  await warm(h, s.token, s.listA);
  await warm(h, s.token, s.listB);
  await kafka.stop();

  const writes = 10;
  for (let i = 1; i <= writes; i++) await rename(h, s, s.empA, `Outage${i}`);
  expect(await pendingOutbox(h)).toBe(writes);
  // The relay notices and says so in /readyz, which stays 200: the check is not required.
  const ready = await waitFor('relay reports Kafka down', async () => {
    const r = await h.request('GET', '/readyz');
    const relay = (r.body as { checks: { name: string; ok: boolean }[] }).checks.find((c) => c.name === 'outbox-relay');
    return relay && !relay.ok ? r : undefined;
  }, 60_000, 250);
  expect(ready.status).toBe(200);
  const metrics = await h.api.metrics();
  expect(metricValue(metrics, 'outbox_pending_events')).toBe(writes);
  expect(metricValue(metrics, 'outbox_oldest_pending_age_seconds')).toBeGreaterThan(0);
  // Nothing invalidated the cached list meanwhile (the API's own invalidation is off).
  const stale = await cachedRead(h, s.token, s.listA);
  expect(stale.headers.get('x-cache')).toBe('HIT');
  expect(stale.text).toContain('Original');

  await kafka.start();
  const back = Date.now();
  await waitFor('outbox drained', async () => (await pendingOutbox(h)) === 0, 60_000, 100);
  const drainedMs = Date.now() - back;
  // Typically 9–10 s here: the consumer rejoins its group once the member it was before the
  // outage has expired (sessionTimeout 10 s). A consumer that crashed and restarted during the
  // outage can take a rebalance or two more on a loaded machine; the bound is liveness, not a target.
  const fresh = await readUntilNotHit(h, s.token, s.listA, 90_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n--- invalidator log ---\n${h.invalidator?.logs(80) ?? ''}`);
  });
  // Whatever the consumer went through during the outage, the invalidator process is still there.
  expect(h.invalidator!.running).toBe(true);
  console.info(`kafka outage: outbox drained ${drainedMs} ms and the list refreshed ${Date.now() - back} ms after the broker answered again;`
    + ` the invalidator replaced its consumer ${h.invalidator!.logged(/^consumer replaced/).length} time(s)`);
  expect(fresh.text).toContain(`Outage${writes}`);
  await settle(h, 60_000);
  expect((await cachedRead(h, s.token, s.listB)).headers.get('x-cache')).toBe('HIT');

  // Every event of the outbox is on the topic.
  const ids = new Set(await outboxEventIds(h));
  const seen = new Set<string>();
  await consumeAll(kafka.brokers, h.topic, (ms) => {
    for (const m of ms) if (m.headers['event-id']) seen.add(m.headers['event-id']);
    return [...ids].every((id) => seen.has(id));
  }, 30_000);
  expect([...ids].filter((id) => !seen.has(id))).toEqual([]);
  expect(await h.invalidator!.metric('events_processed_total', { result: 'ok' })).toBeGreaterThanOrEqual(writes);
});
