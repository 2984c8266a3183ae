// Scenario helpers shared by the e2e tests and bench/invalidation.ts.
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { uniqueName } from '@rota/testkit';
import { waitFor, type ApiResponse, type Harness } from './harness.ts';

// Benchmarks under bench/ resolve packages through this folder.
export { versionKey } from '@rota/cache';

/** Waits until every outbox row is published and the invalidator committed everything. */
export async function settle(h: Harness, timeoutMs = 20_000): Promise<void> {
  await waitFor('outbox published', async () => {
    const r = await h.tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    return r.rows[0]!.n === 0;
  }, timeoutMs, 50);
  await waitFor('invalidator caught up', async () => {
    const [c, e] = await Promise.all([h.committedOffsets(), h.endOffsets()]);
    return c === e;
  }, timeoutMs, 100);
}

/**
 * GETs `path` until the cache answers with something other than HIT (the entry was invalidated).
 * BYPASS (the API's 50 ms Redis timeout hit on a loaded machine) says nothing either way: polled on.
 */
export async function readUntilNotHit<T = any>(h: Harness, token: string, path: string, timeoutMs = 10_000): Promise<ApiResponse<T>> {
  return waitFor(`a non-HIT read of ${path}`, async () => {
    const r = await h.request<T>('GET', path, { token });
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
    const c = r.headers.get('x-cache');
    return c === 'HIT' || c === 'BYPASS' ? undefined : r;
  }, timeoutMs, 20);
}

/** A cached read's response, retried while the cache is bypassed (see readUntilNotHit). */
export async function cachedRead<T = any>(h: Harness, token: string, path: string): Promise<ApiResponse<T>> {
  return waitFor(`a cache answer for ${path}`, async () => {
    const r = await get<T>(h, token, path);
    return r.headers.get('x-cache') === 'BYPASS' ? undefined : r;
  }, 10_000, 50);
}

/** GET that must succeed; returns the response. */
export async function get<T = any>(h: Harness, token: string, path: string): Promise<ApiResponse<T>> {
  const r = await h.request<T>('GET', path, { token });
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
  return r;
}

/**
 * Reads until the response is a HIT (the entry is cached). The fill lands just after the first
 * response is sent, so under load the second read may still miss.
 */
export async function warm(h: Harness, token: string, path: string): Promise<ApiResponse> {
  return waitFor(`GET ${path} cached`, async () => {
    const r = await get(h, token, path);
    return r.headers.get('x-cache') === 'HIT' ? r : undefined;
  }, 10_000, 20);
}

export type Consumed = { partition: number; offset: string; key: string | null; value: string | null; headers: Record<string, string> };

/** Reads a topic from the beginning with a throw-away group until `done(messages)` or timeout. */
export async function consumeAll(brokers: string, topic: string, done: (m: Consumed[]) => boolean, timeoutMs = 30_000): Promise<Consumed[]> {
  const kafka = new Kafka({ clientId: uniqueName('e2e-reader'), brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const groupId = uniqueName('e2e-reader');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const out: Consumed[] = [];
  const toConsumed = (partition: number, m: KafkaMessage): Consumed => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) {
      const one = Array.isArray(v) ? v[0] : v;
      if (one !== undefined) headers[k] = one.toString();
    }
    return { partition, offset: m.offset, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, headers };
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => { out.push(toConsumed(partition, message)); } });
    await waitFor(`messages on ${topic}`, async () => done(out), timeoutMs, 100);
    return out;
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
}

/** Event ids of every outbox row of the harness database. */
export async function outboxEventIds(h: Harness): Promise<string[]> {
  const r = await h.tdb.db.query<{ event_id: string }>('SELECT event_id::text FROM outbox ORDER BY id');
  return r.rows.map((x) => x.event_id);
}

export type Scenario = { token: string; hq: string; deptA: string; deptB: string; empA: string; empB: string; listA: string; listB: string; treeHq: string };

/** HQ with departments A and B, one employee in each, through the API; waits until delivered. */
export async function seedScenario(h: Harness): Promise<Scenario> {
  const token = await h.login();
  const hq = h.admin.departmentId;
  const mk = async (path: string, body: unknown): Promise<string> => {
    const r = await h.request('POST', path, { token, body });
    if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${r.text}`);
    return (r.body as { id: string }).id;
  };
  const deptA = await mk('/v1/departments', { name: 'Dept A', parentId: hq });
  const deptB = await mk('/v1/departments', { name: 'Dept B', parentId: hq });
  const empA = await mk('/v1/employees', { email: `a-${deptA}@example.com`, firstName: 'Alice', lastName: 'Original', departmentId: deptA });
  const empB = await mk('/v1/employees', { email: `b-${deptB}@example.com`, firstName: 'Bob', lastName: 'Sibling', departmentId: deptB });
  if (h.invalidator) await settle(h);
  return {
    token, hq, deptA, deptB, empA, empB,
    listA: `/v1/employees?departmentId=${deptA}`,
    listB: `/v1/employees?departmentId=${deptB}`,
    treeHq: `/v1/employees?departmentId=${hq}&includeSubdepartments=true`,
  };
}

/** PATCHes an employee's last name; the write must commit. */
export async function rename(h: Harness, s: Scenario, employeeId: string, lastName: string): Promise<void> {
  const r = await h.request('PATCH', `/v1/employees/${employeeId}`, { token: s.token, body: { lastName } });
  if (r.status !== 200) throw new Error(`PATCH employee: ${r.status} ${r.text}`);
}

/** Pending (unpublished) outbox rows. */
export async function pendingOutbox(h: Harness): Promise<number> {
  const r = await h.tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
  return r.rows[0]!.n;
}

/**
 * Reference data for a generation, straight in SQL (no events): one day shift type in
 * `departmentId`, `extraPeople` more employees there, and one person's demand every day from
 * `from` to `to` (ISO dates).
 */
export async function seedGenerationInput(h: Harness, departmentId: string, from: string, to: string, extraPeople = 0): Promise<void> {
  const t = await h.tdb.db.query<{ id: string }>(
    `INSERT INTO shift_templates (department_id, code, name, start_time, end_time) VALUES ($1, 'D', 'Day', '08:00', '16:00') RETURNING id`, [departmentId]);
  if (extraPeople > 0) {
    await h.tdb.db.query(
      `INSERT INTO employees (email, first_name, last_name, role, department_id, password_hash)
       SELECT 'gen' || g || '@example.com', 'Gen', 'Worker' || g, 'employee', $1, 'x' FROM generate_series(1, $2::int) g`, [departmentId, extraPeople]);
  }
  await h.tdb.db.query(
    `INSERT INTO demand (department_id, template_id, date, required)
     SELECT $1, $2, d::date, 1 FROM generate_series($3::date, $4::date, interval '1 day') d`, [departmentId, t.rows[0]!.id, from, to]);
}

/** Submits a generation through the API and waits until it has ended; returns the run as the API shows it. */
export async function runGeneration(h: Harness, token: string, body: Record<string, unknown>): Promise<{ status: string; scheduleId?: string }> {
  const sub = await h.request('POST', '/v1/schedule-generations', { token, body });
  if (sub.status !== 202) throw new Error(`POST /v1/schedule-generations: ${sub.status} ${sub.text}`);
  return waitFor('generation finished', async () => {
    const r = await h.request('GET', `/v1/schedule-generations/${sub.body.id}`, { token });
    return ['succeeded', 'failed', 'cancelled'].includes(r.body?.status) ? r.body : undefined;
  }, 90_000, 250);
}
