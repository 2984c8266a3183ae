/**
 * pnpm import:curtois <file> [--department-name NAME] [--start YYYY-MM-DD] [--timezone TZ]
 *
 * Loads a Curtois & Qu instance into a new department of DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/rota) and prints the department id and the period to submit
 * a generation for. The period starts on the given Monday (default: next week's Monday, UTC).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createDb } from '@rota/db';
import { importCurtois } from '../curtois.ts';
import { addDays, isoWeekday } from '../time.ts';

function nextMonday(now = new Date()): string {
  const today = now.toISOString().slice(0, 10);
  return addDays(today, 8 - isoWeekday(today));
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'department-name': { type: 'string' },
    start: { type: 'string' },
    timezone: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const file = positionals[0];
if (values.help || !file) {
  console.error('usage: pnpm import:curtois <file> [--department-name NAME] [--start YYYY-MM-DD (a Monday)] [--timezone TZ]');
  process.exit(values.help ? 0 : 2);
}
const start = values.start ?? nextMonday();
if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || isoWeekday(start) !== 1) {
  console.error(`--start must be a Monday (YYYY-MM-DD), got ${start}`);
  process.exit(2);
}
const db = createDb({ url: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/rota', applicationName: 'rota-import-curtois', max: 2 });
try {
  const name = values['department-name'] ?? `Curtois ${basename(file).replace(/\.txt$/, '')}`;
  const r = await importCurtois(db, readFileSync(file, 'utf8'), { departmentName: name, periodStart: start, ...(values.timezone ? { timezone: values.timezone } : {}) });
  console.log(`imported ${file} into department ${r.departmentId} ("${name}"): ${r.employees} employees, ${r.templates} shift templates, ${r.demandRows} demand rows`);
  console.log(`submit: POST /v1/schedule-generations {"departmentId":"${r.departmentId}","periodStart":"${r.periodStart}","periodEnd":"${r.periodEnd}"}`);
  console.log(JSON.stringify(r));
} finally {
  await db.end();
}
