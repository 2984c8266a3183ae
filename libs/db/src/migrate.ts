import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export type Migration = { version: number; name: string; sql: string; checksum: string };

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new MigrationError(`migration file name "${file}" must look like 0001_name.sql`);
    const sql = await readFile(`${dir}/${file}`, 'utf8');
    const version = Number(m[1]);
    if (out.some((o) => o.version === version)) throw new MigrationError(`two migrations share version ${version}`);
    out.push({ version, name: m[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return out;
}

/** Hash of all migrations: names a test template database built from exactly these files. */
export async function migrationsFingerprint(dir = MIGRATIONS_DIR): Promise<string> {
  const h = createHash('sha256');
  for (const m of await loadMigrations(dir)) h.update(`${m.version}:${m.checksum}\n`);
  return h.digest('hex').slice(0, 12);
}

/**
 * Applies pending migrations in order, each in its own transaction, under an advisory lock so
 * concurrent runners queue up. Refuses to run when an applied migration was edited or removed.
 */
export async function migrate(url: string, opts: { dir?: string; log?: (msg: string) => void } = {}): Promise<number[]> {
  const migrations = await loadMigrations(opts.dir);
  const client = new pg.Client({ connectionString: url, application_name: 'rota:migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', ['rota_migrations']);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = await client.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    for (const row of applied.rows) {
      const m = migrations.find((x) => x.version === row.version);
      if (!m) throw new MigrationError(`applied migration ${row.version} (${row.name}) is missing from ${opts.dir ?? MIGRATIONS_DIR}`);
      if (m.checksum !== row.checksum) {
        throw new MigrationError(`applied migration ${row.version}_${row.name}.sql was edited after it ran; add a new migration instead`);
      }
    }
    const done = new Set(applied.rows.map((r) => r.version));
    const ran: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${m.version}_${m.name} failed: ${(e as Error).message}`);
      }
      opts.log?.(`applied ${m.version}_${m.name}`);
      ran.push(m.version);
    }
    return ran;
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['rota_migrations']).catch(() => {});
    await client.end();
  }
}
