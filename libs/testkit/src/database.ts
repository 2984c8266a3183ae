import pg from 'pg';
import { cloneDatabase, createDb, dropDatabase, migrate, migrationsFingerprint } from '@rota/db';
import type { Db } from '@rota/db';
import { uniqueName } from './names.ts';

/** Server used by tests; each test gets its own database cloned from a migrated template. */
export const TEST_ADMIN_URL = process.env['TEST_DATABASE_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type TestDatabase = { name: string; url: string; db: Db; drop(): Promise<void> };

function urlFor(name: string): string {
  const u = new URL(TEST_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

let templateReady: Promise<string> | undefined;

/**
 * The migrated template database, named by the migrations' fingerprint so that any change to a
 * migration builds a new one. Built once per machine; concurrent builders serialise on a lock.
 */
async function ensureTemplate(): Promise<string> {
  const name = `rota_tpl_${await migrationsFingerprint()}`;
  const admin = new pg.Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', ['rota_test_template']);
    const exists = await admin.query(
      `SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate`, [name]);
    if (!exists.rowCount) {
      const building = `${name}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${building}`);
      await migrate(urlFor(building));
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      await admin.query(`ALTER DATABASE ${name} WITH is_template true ALLOW_CONNECTIONS false`);
    }
    return name;
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', ['rota_test_template']).catch(() => {});
    await admin.end();
  }
}

/** A fresh, migrated, empty database of its own. */
export async function createTestDatabase(opts: { poolMax?: number } = {}): Promise<TestDatabase> {
  templateReady ??= ensureTemplate();
  const template = await templateReady;
  const name = uniqueName('rota_t');
  await cloneDatabase(TEST_ADMIN_URL, template, name);
  const url = urlFor(name);
  const db = createDb({ url, applicationName: 'rota-test', max: opts.poolMax ?? 5 });
  return {
    name,
    url,
    db,
    drop: async () => {
      await db.end();
      await dropDatabase(TEST_ADMIN_URL, name);
    },
  };
}

/** vitest fixture shape: `test.extend({ tdb: testDatabase })`. */
export const testDatabase = async (
  {}: object,
  use: (t: TestDatabase) => Promise<void>,
): Promise<void> => {
  const t = await createTestDatabase();
  try {
    await use(t);
  } finally {
    await t.drop();
  }
};
