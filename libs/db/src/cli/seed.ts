// `pnpm seed [options]`: applies migrations, then writes a deterministic demo dataset (see --help).
// Exit codes: 0 done, 1 failed (or refused: already seeded), 2 bad arguments or environment.
import { createDb } from '../pool.ts';
import { ensureDatabase } from '../admin.ts';
import { migrate } from '../migrate.ts';
import { parseSeedArgs, SEED_USAGE, SeedUsageError } from '../seed/options.ts';
import type { SeedCliOptions } from '../seed/options.ts';
import { seedDatabase, SeedRefusedError } from '../seed/seed.ts';
import { createSeedProgress } from '../seed/progress.ts';

function parse(): SeedCliOptions | undefined {
  try {
    const o = parseSeedArgs(process.argv.slice(2), process.env);
    if (o === 'help') {
      process.stdout.write(SEED_USAGE);
      return undefined;
    }
    return o;
  } catch (e) {
    if (!(e instanceof SeedUsageError)) throw e;
    process.stderr.write(`seed: ${e.message}\nRun "pnpm seed --help" for the options.\n`);
    process.exitCode = 2;
    return undefined;
  }
}

async function main(o: SeedCliOptions): Promise<void> {
  const log = (msg: string): void => { if (!o.quiet) process.stdout.write(`${msg}\n`); };
  const target = new URL(o.databaseUrl);
  log(`seed: database ${target.host}${target.pathname}, seed ${o.seed}, ${o.employees} employees, ${o.departments} departments, ` +
    `${o.weeksHistory} weeks of history, ${o.demandDays} days of demand from ${o.anchorDate}`);
  await ensureDatabase(o.databaseUrl);
  const ran = await migrate(o.databaseUrl);
  if (ran.length) log(`seed: applied ${ran.length} migration(s)`);
  const db = createDb({ url: o.databaseUrl, applicationName: 'rota:seed', max: 1, statementTimeoutMs: 0 });
  const client = await db.connect();
  try {
    const r = await seedDatabase(client, o, createSeedProgress(process.stdout, o.quiet));
    const width = Math.max(...Object.keys(r.counts).map((k) => k.length));
    const port = process.env['PORT'] || '3000';
    const lines = [
      `seed: done in ${(r.durationMs / 1000).toFixed(1)} s (data from ${r.from} to ${r.to})`,
      ...Object.entries(r.counts).map(([table, n]) => `  ${table.padEnd(width)} ${String(n).padStart(10)}`),
      '',
      'Log in (API at http://127.0.0.1:' + port + '):',
      `  curl -s -X POST http://127.0.0.1:${port}/v1/auth/token -H 'content-type: application/json' \\`,
      `       -d '{"email":"${r.adminEmail}","password":"<ROTA_ADMIN_PASSWORD>"}'`,
      `  admin:    ${r.adminEmail} (password from ROTA_ADMIN_PASSWORD${process.env['ROTA_ADMIN_PASSWORD'] ? '' : ', default rota-admin-password'})`,
      ...(r.sampleManagerEmail ? [`  manager:  ${r.sampleManagerEmail} (password from ROTA_DEMO_PASSWORD${process.env['ROTA_DEMO_PASSWORD'] ? '' : ', default rota-demo-password'}; every manager has it)`] : []),
      ...(r.sampleEmployeeEmail ? [`  employee: ${r.sampleEmployeeEmail} (same demo password; the first employee of each department has it)`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    client.release();
    await db.end();
  }
}

const options = parse();
if (options) {
  try {
    await main(options);
  } catch (e) {
    if (e instanceof SeedRefusedError) {
      process.stderr.write(`seed: ${e.message}\n`);
    } else {
      process.stderr.write(`seed failed: ${(e as Error).message}\n`);
    }
    process.exitCode = 1;
  }
}
