import { migrate } from '../migrate.ts';
import { ensureDatabase } from '../admin.ts';

const url = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/rota';
try {
  await ensureDatabase(url);
  const ran = await migrate(url, { log: (m) => console.log(m) });
  console.log(ran.length ? `migrated: ${ran.length} migration(s) applied` : 'migrated: already up to date');
} catch (e) {
  console.error(`migrate failed: ${(e as Error).message}`);
  process.exitCode = 1;
}
