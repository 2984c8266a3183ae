import { describe, expect, test as base } from 'vitest';
import { testDatabase, type TestDatabase } from '@rota/testkit';
import { bulkUpsert, type BulkUpsertOptions } from './bulk-upsert.ts';

const test = base.extend<{ tdb: TestDatabase }>({ tdb: testDatabase });

// Postgres refuses xmax in RETURNING of a partitioned table ("cannot retrieve a system column in
// this context"), which bulkUpsert uses to count inserts: until it handles partitioned targets,
// the shifts scenarios are skipped. Flip this once it does.
const partitionedTargetsSupported = true;
const testPartitioned = partitionedTargetsSupported ? test : test.skip;

type ShiftRow = { employee: string | null; slot: number; day: number; status: string; startHour: number };
const SHIFT_COLUMNS = ['schedule_id', 'department_id', 'employee_id', 'template_id', 'date', 'open_slot', 'starts_at', 'ends_at', 'status', 'source'];

async function shiftFixture(tdb: TestDatabase) {
  const q = tdb.db.query;
  const dept = (await q<{ id: string }>(`INSERT INTO departments (name, timezone) VALUES ('Ward', 'UTC') RETURNING id`)).rows[0]!.id;
  const emps = (await q<{ id: string }>(`INSERT INTO employees (email, first_name, last_name, department_id)
    SELECT 'e' || g || '@x.test', 'E', 'W' || g, $1 FROM generate_series(1, 3) g RETURNING id`, [dept])).rows.map((r) => r.id);
  const tpl = (await q<{ id: string }>(`INSERT INTO shift_templates (department_id, code, name, start_time, end_time)
    VALUES ($1, 'E', 'Early', '06:00', '14:00') RETURNING id`, [dept])).rows[0]!.id;
  const sched = (await q<{ id: string }>(`INSERT INTO schedules (department_id, period_start, period_end)
    VALUES ($1, '2030-01-30', '2030-02-05') RETURNING id`, [dept])).rows[0]!.id;
  await q(`SELECT rota_ensure_shift_partitions('2030-01-01', '2030-02-28')`);
  const options = (rows: ShiftRow[]): BulkUpsertOptions<ShiftRow> => ({
    table: 'shifts',
    columns: SHIFT_COLUMNS,
    conflictColumns: ['schedule_id', 'date', 'template_id', 'employee_id', 'open_slot'],
    conflictConstraint: 'shifts_natural_key',
    onUpdateSet: 'updated_at = now()',
    rows,
    values: (r) => {
      const date = `2030-${r.day < 2 ? `01-${30 + r.day}` : `02-0${r.day - 1}`}`;
      const start = new Date(`${date}T00:00:00Z`);
      start.setUTCHours(r.startHour);
      return [sched, dept, r.employee, tpl, date, r.slot, start, new Date(start.getTime() + 8 * 3_600_000), r.status, 'generated'];
    },
  });
  // Days 0..4 cross the month boundary (two partitions); two open shifts a day (employee NULL).
  const rows: ShiftRow[] = [];
  for (let day = 0; day < 5; day++) {
    for (const e of emps) rows.push({ employee: e, slot: 0, day, status: 'scheduled', startHour: 6 });
    rows.push({ employee: null, slot: 1, day, status: 'scheduled', startHour: 6 }, { employee: null, slot: 2, day, status: 'scheduled', startHour: 6 });
  }
  return { options, rows, count: async () => Number((await q<{ n: string }>('SELECT count(*) AS n FROM shifts')).rows[0]!.n) };
}

describe('bulkUpsert into a plain table (demand)', () => {
  async function demandFixture(tdb: TestDatabase) {
    const q = tdb.db.query;
    const dept = (await q<{ id: string }>(`INSERT INTO departments (name) VALUES ('D') RETURNING id`)).rows[0]!.id;
    const tpl = (await q<{ id: string }>(`INSERT INTO shift_templates (department_id, code, name, start_time, end_time)
      VALUES ($1, 'N', 'Night', '22:00', '06:00') RETURNING id`, [dept])).rows[0]!.id;
    type D = { day: number; required: number };
    const options = (rows: D[]): BulkUpsertOptions<D> => ({
      table: 'demand',
      columns: ['department_id', 'template_id', 'date', 'required'],
      conflictColumns: ['department_id', 'date', 'template_id'],
      onUpdateSet: 'updated_at = now()',
      rows,
      values: (r) => [dept, tpl, `2030-03-${String(r.day + 1).padStart(2, '0')}`, r.required],
    });
    const rows = Array.from({ length: 20 }, (_, day) => ({ day, required: day % 4 }));
    return { options, rows };
  }

  test('a re-run of the same rows inserts and updates nothing', async ({ tdb }) => {
    const { options, rows } = await demandFixture(tdb);
    expect(await tdb.db.tx((c) => bulkUpsert(c.raw, options(rows)))).toEqual({ inserted: 20, updated: 0, unchanged: 0 });
    expect(await tdb.db.tx((c) => bulkUpsert(c.raw, options(rows)))).toEqual({ inserted: 0, updated: 0, unchanged: 20 });
  });

  test('changed rows are counted as updated, new ones as inserted', async ({ tdb }) => {
    const { options, rows } = await demandFixture(tdb);
    await tdb.db.tx((c) => bulkUpsert(c.raw, options(rows)));
    const next = rows.map((r) => (r.day < 3 ? { ...r, required: r.required + 10 } : r));
    next.push({ day: 25, required: 1 });
    expect(await tdb.db.tx((c) => bulkUpsert(c.raw, options(next)))).toEqual({ inserted: 1, updated: 3, unchanged: 17 });
    const r = await tdb.db.query<{ required: number }>(`SELECT required FROM demand WHERE date = '2030-03-01'`);
    expect(r.rows[0]!.required).toBe(10);
  });

  test('a failure after the upsert in the same transaction leaves nothing written', async ({ tdb }) => {
    const { options, rows } = await demandFixture(tdb);
    await expect(tdb.db.tx(async (c) => {
      await bulkUpsert(c.raw, options(rows));
      throw new Error('boom after the upsert');
    })).rejects.toThrow('boom after the upsert');
    expect((await tdb.db.query('SELECT 1 FROM demand')).rowCount).toBe(0);
    expect((await tdb.db.query(`SELECT 1 FROM pg_class WHERE relname LIKE 'rota_staging_%'`)).rowCount).toBe(0);
  });
});

describe('bulkUpsert into the partitioned shifts table (natural key, NULLS NOT DISTINCT)', () => {
  testPartitioned('a re-run reports 0 inserted, 0 updated, all unchanged (open shifts included)', async ({ tdb }) => {
    const f = await shiftFixture(tdb);
    expect(await tdb.db.tx((c) => bulkUpsert(c.raw, f.options(f.rows)))).toEqual({ inserted: 25, updated: 0, unchanged: 0 });
    expect(await tdb.db.tx((c) => bulkUpsert(c.raw, f.options(f.rows)))).toEqual({ inserted: 0, updated: 0, unchanged: 25 });
    expect(await f.count()).toBe(25);
  });

  testPartitioned('changed rows are counted as updated', async ({ tdb }) => {
    const f = await shiftFixture(tdb);
    await tdb.db.tx((c) => bulkUpsert(c.raw, f.options(f.rows)));
    const next = f.rows.map((r, i) => (i === 0 ? { ...r, status: 'confirmed' } : i === 1 ? { ...r, startHour: 7 } : r));
    expect(await tdb.db.tx((c) => bulkUpsert(c.raw, f.options(next)))).toEqual({ inserted: 0, updated: 2, unchanged: 23 });
    expect(await f.count()).toBe(25);
  });

  testPartitioned('a failure after the upsert in the same transaction leaves nothing written', async ({ tdb }) => {
    const f = await shiftFixture(tdb);
    await expect(tdb.db.tx(async (c) => {
      await bulkUpsert(c.raw, f.options(f.rows));
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await f.count()).toBe(0);
  });
});

describe('COPY round trip of awkward values', () => {
  test('tabs, newlines, carriage returns, backslashes, quotes, NULLs, unicode, arrays and JSON survive', async ({ tdb }) => {
    const dept = (await tdb.db.query<{ id: string }>(`INSERT INTO departments (name) VALUES ('D') RETURNING id`)).rows[0]!.id;
    const nasty = ['tab\there', 'new\nline', 'cr\rlf\r\n', 'back\\slash \\N \\t', 'quote " and \' and {braces}, commas', 'ünïcødé 🙂', '\\', ''];
    type K = { prefix: string; name: string; scopes: (string | null)[]; revoked: Date | null };
    const keys: K[] = nasty.filter((s) => s !== '').map((name, i) => ({
      prefix: `p${i}`,
      name,
      scopes: i === 0 ? [] : [...nasty, null, 'NULL'].slice(i),
      revoked: i % 2 ? new Date('2030-01-02T03:04:05.678Z') : null,
    }));
    const opts = (rows: K[]): BulkUpsertOptions<K> => ({
      table: 'api_keys',
      columns: ['prefix', 'name', 'key_hash', 'role', 'department_id', 'scopes', 'revoked_at'],
      conflictColumns: ['prefix'],
      rows,
      values: (k) => [k.prefix, k.name, 'h', 'manager', dept, k.scopes, k.revoked],
    });
    expect(await tdb.db.tx((c) => bulkUpsert(c.raw, opts(keys)))).toMatchObject({ inserted: keys.length });
    const back = await tdb.db.query<{ prefix: string; name: string; scopes: (string | null)[]; revoked_at: Date | null }>(
      'SELECT prefix, name, scopes, revoked_at FROM api_keys ORDER BY id');
    expect(back.rows.map((r) => ({ prefix: r.prefix, name: r.name, scopes: r.scopes, revoked: r.revoked_at }))).toEqual(keys);
    // The same awkward rows again compare equal, so nothing is rewritten.
    expect(await tdb.db.tx((c) => bulkUpsert(c.raw, opts(keys)))).toEqual({ inserted: 0, updated: 0, unchanged: keys.length });

    const envelope = { text: 'a\tb\nc\\d "e"', nested: { list: [1, null, 'x\r\ny'], empty: '' }, emoji: '🙂' };
    await tdb.db.tx((c) => bulkUpsert(c.raw, {
      table: 'outbox',
      columns: ['event_id', 'type', 'partition_key', 'envelope'],
      conflictColumns: ['event_id'],
      rows: [envelope],
      values: (e) => ['0190b6f0-0000-7000-8000-000000000001', 'test.event', '1', e],
    }));
    const out = await tdb.db.query<{ envelope: unknown }>('SELECT envelope FROM outbox');
    expect(out.rows[0]!.envelope).toEqual(envelope);
  });
});
