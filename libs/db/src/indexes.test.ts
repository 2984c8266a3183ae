import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@rota/testkit';
import { INDEX_EXEMPTIONS, INDEX_QUERIES, indexDocRowPrefix, renderIndexDoc } from './index-queries.ts';
import { seedDatabase } from './seed/seed.ts';

const DOC = fileURLToPath(new URL('../../../docs/indexes.md', import.meta.url));

type PlanNode = { 'Node Type'?: string; 'Index Name'?: string; 'Conflict Arbiter Indexes'?: string[]; Plans?: PlanNode[] };

/** Every (index, node type) pair in a plan, arbiter indexes of ON CONFLICT included. */
function indexUses(node: PlanNode, out: Array<{ index: string; node: string }> = []): Array<{ index: string; node: string }> {
  if (node['Index Name']) out.push({ index: node['Index Name'], node: node['Node Type'] ?? '?' });
  for (const a of node['Conflict Arbiter Indexes'] ?? []) out.push({ index: a, node: 'ON CONFLICT arbiter' });
  for (const p of node.Plans ?? []) indexUses(p, out);
  return out;
}

let tdb: TestDatabase;
const plans = new Map<string, string>();

beforeAll(async () => {
  tdb = await createTestDatabase({ poolMax: 2 });
  const client = await tdb.db.connect();
  try {
    await seedDatabase(client, {
      seed: 1, employees: 3000, departments: 75, weeksHistory: 8, demandDays: 365, anchorDate: '2026-03-02',
      reset: false, adminEmail: 'admin@rota.local', adminPassword: 'rota-admin-password', demoPassword: 'rota-demo-password',
    });
  } finally {
    client.release();
  }
  // Tables the seed leaves empty get rows of the shape the services write.
  await tdb.db.query(`INSERT INTO api_keys (name, prefix, key_hash, role, department_id)
    SELECT 'key ' || g, 'p' || lpad(g::text, 8, '0'), 'hash', 'manager', (SELECT min(id) FROM departments) FROM generate_series(1, 200) g`);
  await tdb.db.query(`INSERT INTO generation_runs (department_id, period_start, period_end, status, requested_by, idempotency_key, request_hash)
    SELECT d.id, '2026-03-02'::date + 28 * g, '2026-03-29'::date + 28 * g, CASE WHEN g = 0 THEN 'queued' ELSE 'succeeded' END,
           'user:1', 'key-' || d.id || '-' || g, 'h'
      FROM departments d, generate_series(0, 3) g`);
  await tdb.db.query(`INSERT INTO outbox (event_id, type, partition_key, envelope, published_at)
    SELECT gen_random_uuid(), 'test.event', '1', '{}', CASE WHEN g > 19900 THEN NULL ELSE now() - (g || ' minutes')::interval END
      FROM generate_series(1, 20000) g`);
  // Years of archived schedules: departments accumulate them, and status filters must stay indexed.
  await tdb.db.query(`INSERT INTO schedules (department_id, period_start, period_end, status, version)
    SELECT d.id, '2020-01-06'::date + 28 * g, '2020-02-02'::date + 28 * g, 'archived', 1
      FROM departments d, generate_series(0, 59) g WHERE d.id IN (SELECT department_id FROM shift_templates)`);
  await tdb.db.query('ANALYZE');
}, 180_000);

afterAll(async () => {
  await tdb?.drop();
});

describe('index → query → plan', () => {
  test('every index in the database has a named query or an explicit exemption, and nothing listed is stale', async () => {
    const r = await tdb.db.query<{ index: string }>(`
      SELECT i.indexname AS index FROM pg_indexes i JOIN pg_class t ON t.relname = i.tablename
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = i.schemaname
       WHERE i.schemaname = 'public' AND NOT t.relispartition ORDER BY 1`);
    const inDb = new Set(r.rows.map((x) => x.index));
    const listed = new Set([...INDEX_QUERIES.map((q) => q.index), ...INDEX_EXEMPTIONS.map((e) => e.index)]);
    expect([...inDb].filter((i) => !listed.has(i)), 'indexes without a documented query (add them to index-queries.ts)').toEqual([]);
    expect([...listed].filter((i) => !inDb.has(i)), 'listed indexes that do not exist').toEqual([]);
    expect(new Set(INDEX_QUERIES.map((q) => q.name)).size, 'query names are unique').toBe(INDEX_QUERIES.length);
  });

  test.each(INDEX_QUERIES.map((q) => [q.name, q] as const))('%s uses its index', async (_name, q) => {
    const client = await tdb.db.connect();
    let failed = false;
    try {
      await client.query('BEGIN');
      if (q.small || q.forcedBecause) await client.query('SET LOCAL enable_seqscan = off');
      const params: unknown[] = q.params ? (await client.query<unknown[]>({ text: q.params, rowMode: 'array' })).rows[0] ?? [] : [];
      if (q.params) expect(params.every((p) => p !== null), `sample parameters for ${q.name}`).toBe(true);
      const explained = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${q.sql}`, params);
      const uses = indexUses(explained.rows[0]!['QUERY PLAN'][0]!.Plan);
      // Partition indexes (shifts_2026_01_employee_id_date_idx) stand for their parent index.
      const roots = uses.length === 0 ? [] : (await client.query<{ root: string }>(
        `SELECT coalesce(pg_partition_root(to_regclass(n))::text, n) AS root FROM unnest($1::text[]) n`,
        [uses.map((u) => u.index)])).rows.map((x) => x.root);
      await client.query('ROLLBACK');
      const used = uses.filter((_u, i) => roots[i] === q.index);
      expect(used.length, `${q.name}: plan uses ${JSON.stringify(uses)} but not ${q.index}`).toBeGreaterThan(0);
      if (q.indexOnly) expect(used.map((u) => u.node), `${q.name}: reads only indexed columns`).toContain('Index Only Scan');
      plans.set(q.name, [...new Set(used.map((u) => u.node))].join(' + '));
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      client.release(failed); // an aborted transaction must not go back to the pool
    }
  });

  test('docs/indexes.md lists every query and exemption (regenerate with ROTA_WRITE_INDEX_DOCS=1)', async () => {
    if (process.env['ROTA_WRITE_INDEX_DOCS'] === '1' && plans.size === INDEX_QUERIES.length) {
      await writeFile(DOC, renderIndexDoc(plans));
    }
    const doc = await readFile(DOC, 'utf8');
    for (const q of INDEX_QUERIES) expect(doc, q.name).toContain(indexDocRowPrefix(q));
    for (const e of INDEX_EXEMPTIONS) expect(doc, e.index).toContain(`| \`${e.index}\` |`);
  });
});
