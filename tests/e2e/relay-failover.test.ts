// Two API processes, each with a relay: SIGKILL of the leader between its Kafka send and marking the
// rows loses nothing, and the standby takes over within 5 s; a leader whose process freezes (its
// session left open) loses leadership after RELAY_SESSION_IDLE_TIMEOUT_MS.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordEvent } from '@rota/events';
import { startHarness, waitFor, type Harness } from './harness.ts';
import { consumeAll, outboxEventIds, pendingOutbox } from './helpers.ts';

let h: Harness;

beforeAll(async () => {
  // Small batches, so the leader is busy for a while and the kill lands inside the stream.
  h = await startHarness({ apiReplicas: 2, invalidator: false, worker: false, apiEnv: { RELAY_BATCH_SIZE: '10', RELAY_POLL_MS: '200', RELAY_SESSION_IDLE_TIMEOUT_MS: '3000' } });
}, 180_000);

afterAll(async () => {
  await h?.close();
}, 60_000);

it('the standby publishes everything after the leader is killed mid-stream', { timeout: 120_000 }, async () => {
  const leader = await waitFor('a relay leader', () => h.relayLeader(), 20_000, 100);
  const standby = h.apis.find((a) => a !== leader)!;
  expect(await standby.metric('outbox_relay_leader')).toBe(0);

  const total = 1500;
  await h.tdb.db.tx(async (q) => {
    for (let i = 0; i < total; i++) {
      await recordEvent(q, {
        type: 'employee.updated', aggregate: { type: 'employee', id: String(i + 1) },
        departmentIds: [String(1 + (i % 12))], ancestorDepartmentIds: [], employeeIds: [String(i + 1)], payload: { seq: i },
      });
    }
  });
  // Pin the leader mid-batch: a row lock makes its UPDATE (after Kafka acknowledged the batch)
  // wait, so the kill lands between "sent" and "marked published" — the case that must not lose.
  const locker = await h.tdb.db.connect();
  await locker.query('BEGIN');
  // (FOR UPDATE on an OFFSET query would lock every skipped row too, hence the subquery.)
  await locker.query('SELECT id FROM outbox WHERE id = (SELECT id FROM outbox ORDER BY id OFFSET $1 LIMIT 1) FOR UPDATE', [total - 200]);
  const waitingRelay = async (notPid?: number): Promise<number | undefined> => {
    const r = await h.tdb.db.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'rota-outbox-relay'
          AND wait_event_type = 'Lock' AND pid <> coalesce($1::int, 0)`, [notPid ?? null]);
    return r.rows[0]?.pid;
  };
  const blockedPid = await waitFor('leader blocked after its Kafka send', () => waitingRelay(), 30_000, 10);
  const left = await pendingOutbox(h);
  expect(left).toBeGreaterThan(0);
  expect(left).toBeLessThan(total);
  await leader.kill('SIGKILL');
  const killedAt = Date.now();

  await waitFor('standby leads', async () => (await standby.metric('outbox_relay_leader')) === 1, 5_000, 50);
  const takeoverMs = Date.now() - killedAt;
  expect(takeoverMs).toBeLessThan(5_000);
  // The new leader re-sends the unmarked batch and waits on the same row; then let it go.
  await waitFor('standby re-sent the batch', () => waitingRelay(blockedPid), 10_000, 20);
  await locker.query('ROLLBACK');
  locker.release();
  await waitFor('outbox drained', async () => (await pendingOutbox(h)) === 0, 30_000, 50);

  const ids = await outboxEventIds(h);
  expect(ids).toHaveLength(total);
  const seen = new Set<string>();
  await consumeAll(h.kafkaBrokers, h.topic, (ms) => {
    for (const m of ms) if (m.headers['event-id']) seen.add(m.headers['event-id']);
    return ids.every((id) => seen.has(id));
  }, 60_000);
  expect(ids.filter((id) => !seen.has(id))).toEqual([]);
  // At-least-once: the batch sent but not marked when the leader died was sent again.
  const duplicates = (await h.endOffsets()) - total;
  expect(duplicates).toBeGreaterThanOrEqual(1);
  console.info(`relay fail-over: take-over ${takeoverMs} ms, ${left} rows pending at the kill, ${duplicates} duplicate records`);

  // The killed process comes back as a standby: still exactly one leader.
  leader.start();
  await leader.waitReady();
  await new Promise((r) => setTimeout(r, 1500));
  expect((await leader.metric('outbox_relay_leader')) + (await standby.metric('outbox_relay_leader'))).toBe(1);
});

it('a frozen leader (process stopped, session open) hands leadership over after the idle timeout', { timeout: 60_000 }, async () => {
  const leader = await waitFor('a relay leader', () => h.relayLeader(), 20_000, 100);
  const standby = h.apis.find((a) => a !== leader && a.running)!;
  process.kill(leader.pid!, 'SIGSTOP');
  const frozenAt = Date.now();
  let takeoverMs: number;
  try {
    await waitFor('standby leads', async () => (await standby.metric('outbox_relay_leader')) === 1, 15_000, 50);
    takeoverMs = Date.now() - frozenAt;
    // An event written now is published by the new leader.
    await h.tdb.db.tx(async (q) => {
      await recordEvent(q, { type: 'employee.updated', aggregate: { type: 'employee', id: '1' }, departmentIds: ['1'], ancestorDepartmentIds: [], employeeIds: ['1'], payload: {} });
    });
    await waitFor('outbox drained', async () => (await pendingOutbox(h)) === 0, 10_000, 50);
  } finally {
    process.kill(leader.pid!, 'SIGCONT');
  }
  // 3 s idle timeout, then the standby's next lock attempt (every second) wins (~4 s; a loaded
  // CI machine gets slack).
  expect(takeoverMs).toBeGreaterThanOrEqual(2_500);
  expect(takeoverMs).toBeLessThan(10_000); // not hours: TCP alone would keep the session
  console.info(`relay fail-over of a frozen leader: take-over ${takeoverMs} ms`);
  // Thawed, it finds its session gone and becomes a standby: one leader again.
  await waitFor('one leader', async () => (await leader.metric('outbox_relay_leader')) + (await standby.metric('outbox_relay_leader')) === 1, 10_000, 100);
  expect(await standby.metric('outbox_relay_leader')).toBe(1);
});

it("RELAY_DATABASE_URL gives the relay its own way to Postgres (past a pooler in DATABASE_URL)", { timeout: 60_000 }, async () => {
  // Here: the same database through the Unix socket, which pg_stat_activity shows without a client address.
  const viaSocket = new URL(h.tdb.url);
  viaSocket.searchParams.set('host', '/var/run/postgresql');
  const api = await h.addApi({ RELAY_DATABASE_URL: viaSocket.toString() });
  const sessions = async () => (await h.tdb.db.query<{ app: string; socket: boolean }>(
    `SELECT application_name AS app, client_addr IS NULL AS socket FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE 'rota-%' AND pid <> pg_backend_pid()`)).rows;
  await waitFor('its relay session', async () => (await sessions()).some((x) => x.app === 'rota-outbox-relay' && x.socket), 15_000, 100);
  // Its pool still goes through DATABASE_URL (TCP), and so do the other instances' relays.
  expect((await sessions()).filter((x) => x.app === 'rota-outbox-relay' && !x.socket)).toHaveLength(2);
  expect((await api.metric('outbox_relay_leader')) + (await h.apis[0]!.metric('outbox_relay_leader')) + (await h.apis[1]!.metric('outbox_relay_leader'))).toBe(1);
});
