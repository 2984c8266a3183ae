import { mkdtemp, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { TEST_ADMIN_URL, uniqueName } from '@rota/testkit';
import { dropDatabase, ensureDatabase } from './admin.ts';
import { MIGRATIONS_DIR, loadMigrations, migrate } from './migrate.ts';

function urlFor(name: string): string {
  const u = new URL(TEST_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

describe('migrate', () => {
  test('applies every migration to an empty database, then nothing on a second run', async () => {
    const name = uniqueName('rota_mig');
    const url = urlFor(name);
    await ensureDatabase(url);
    try {
      const all = await loadMigrations();
      expect(await migrate(url)).toEqual(all.map((m) => m.version));
      expect(await migrate(url)).toEqual([]);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const t = await c.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN
        ('departments','employees','shifts','schedules','outbox','generation_runs','demand','department_daily_stats')`);
      await c.end();
      expect(t.rows[0].n).toBe(8);
    } finally {
      await dropDatabase(TEST_ADMIN_URL, name);
    }
  });

  test('refuses to run when an applied migration was edited', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rota-mig-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    const name = uniqueName('rota_mig');
    const url = urlFor(name);
    await ensureDatabase(url);
    try {
      await migrate(url, { dir });
      const first = (await loadMigrations(dir))[0]!;
      await writeFile(join(dir, `${String(first.version).padStart(4, '0')}_${first.name}.sql`), `${first.sql}\n-- edited\n`);
      await expect(migrate(url, { dir })).rejects.toThrow(/was edited after it ran/);
    } finally {
      await dropDatabase(TEST_ADMIN_URL, name);
    }
  });

  test('rejects badly named migration files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rota-mig-'));
    await writeFile(join(dir, '1_bad.sql'), 'SELECT 1');
    await expect(loadMigrations(dir)).rejects.toThrow(/must look like 0001_name.sql/);
  });
});
