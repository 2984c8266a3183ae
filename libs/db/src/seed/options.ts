import { parseArgs } from 'node:util';
import { z } from 'zod';

/** Everything that shapes the generated data; the same options give the same rows. */
export type SeedOptions = {
  /** PRNG seed. Default 1. */
  seed: number;
  /** Employees generated (admins, one manager per department, staff). Default 2000. */
  employees: number;
  /** Departments (root, regions, sites, units; depth ≥ 3). Default: employees / 40, at least 3. */
  departments: number;
  /** Weeks of past published schedules with shifts before the anchor date. Default 8. */
  weeksHistory: number;
  /** Days of demand from the anchor date on (history days get demand too). Default 365. */
  demandDays: number;
  /** Monday the data is anchored on: history ends the day before, demand starts on it. Default: this week's Monday (UTC). */
  anchorDate: string;
};

export type SeedCliOptions = SeedOptions & {
  reset: boolean;
  quiet: boolean;
  databaseUrl: string;
  adminEmail: string;
  adminPassword: string;
  /** Password of the sample manager/employee logins printed at the end. */
  demoPassword: string;
};

/** Bad command line or environment: print the message and exit with code 2. */
export class SeedUsageError extends Error {
  override readonly name = 'SeedUsageError';
}

export const SEED_USAGE = `Usage: pnpm seed [options]

Generates a deterministic demo dataset into DATABASE_URL (migrations are applied first).

Options:
  --seed <n>            PRNG seed (default 1); same seed and anchor date -> same data
  --employees <n>       employees to generate (default 2000, 10..1000000)
  --departments <n>     departments (default employees/40, at least 3; depth >= 3)
  --weeks-history <n>   weeks of past published schedules with shifts (default 8, 0..260)
  --demand-days <n>     days of demand from the anchor date on (default 365, 1..1100)
  --anchor-date <date>  Monday the data is anchored on, YYYY-MM-DD (default: this week's Monday, UTC)
  --reset               truncate every table first (without it an already seeded database is refused)
  --quiet               no progress output
  -h, --help            show this help

Environment:
  DATABASE_URL          default postgres://postgres@127.0.0.1:5432/rota
  ROTA_ADMIN_EMAIL      first admin account (default admin@rota.local)
  ROTA_ADMIN_PASSWORD   its password (default rota-admin-password)
  ROTA_DEMO_PASSWORD    password of the sample manager/employee accounts (default rota-demo-password)
`;

/** Monday of the UTC week containing `now`, as YYYY-MM-DD. */
export function mondayOf(now: Date): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

const intArg = (flag: string, min: number, max: number) =>
  z.string()
    .regex(/^\d+$/, `${flag} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${flag} must be between ${min} and ${max}`);

const isoDate = z.string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, '--anchor-date must look like YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
    '--anchor-date is not a real date')
  .refine((s) => new Date(`${s}T00:00:00Z`).getUTCDay() === 1, '--anchor-date must be a Monday');

const emailRe = /^[^@\s]+@[^@\s]+$/;

/**
 * Parses the seed CLI's arguments and environment. Throws SeedUsageError with a one-line message
 * for an unknown flag, a missing value or a value out of range; returns 'help' for --help.
 */
export function parseSeedArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, now = new Date()): SeedCliOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      // `pnpm seed -- --employees 10` passes the `--` through; it only separates pnpm's own flags.
      args: argv.filter((a, i) => !(a === '--' && i === 0)),
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        employees: { type: 'string' },
        departments: { type: 'string' },
        'weeks-history': { type: 'string' },
        'demand-days': { type: 'string' },
        'anchor-date': { type: 'string' },
        reset: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // parseArgs messages are already precise ("Unknown option '--x'", "Option '--seed <value>' argument missing").
    throw new SeedUsageError((e as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  const v = parsed.values;
  if (v.help) return 'help';

  const schema = z.object({
    seed: intArg('--seed', 0, 2 ** 32 - 1).default(1),
    employees: intArg('--employees', 10, 1_000_000).default(2000),
    departments: intArg('--departments', 3, 10_000).optional(),
    weeksHistory: intArg('--weeks-history', 0, 260).default(8),
    demandDays: intArg('--demand-days', 1, 1100).default(365),
    anchorDate: isoDate.default(mondayOf(now)),
    databaseUrl: z.string().refine((s) => URL.canParse(s) && /^postgres(ql)?:$/.test(new URL(s).protocol),
      'DATABASE_URL must be a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/rota'),
    adminEmail: z.string().max(254).regex(emailRe, 'ROTA_ADMIN_EMAIL must be an e-mail address').default('admin@rota.local'),
    adminPassword: z.string().min(8, 'ROTA_ADMIN_PASSWORD must have at least 8 characters').default('rota-admin-password'),
    demoPassword: z.string().min(8, 'ROTA_DEMO_PASSWORD must have at least 8 characters').default('rota-demo-password'),
  });
  const r = schema.safeParse({
    seed: v.seed,
    employees: v.employees,
    departments: v.departments,
    weeksHistory: v['weeks-history'],
    demandDays: v['demand-days'],
    anchorDate: v['anchor-date'],
    databaseUrl: env['DATABASE_URL'] || undefined,
    adminEmail: env['ROTA_ADMIN_EMAIL'] || undefined,
    adminPassword: env['ROTA_ADMIN_PASSWORD'] || undefined,
    demoPassword: env['ROTA_DEMO_PASSWORD'] || undefined,
  });
  if (!r.success) throw new SeedUsageError(r.error.issues.map((i) => i.message).join('; '));
  const o = r.data;
  const departments = o.departments ?? Math.max(3, Math.round(o.employees / 40));
  // Every department gets a manager and every operational one needs staff to schedule.
  if (departments * 3 > o.employees) {
    throw new SeedUsageError(`--departments ${departments} is too many for --employees ${o.employees} (at most employees/3)`);
  }
  return {
    seed: o.seed,
    employees: o.employees,
    departments,
    weeksHistory: o.weeksHistory,
    demandDays: o.demandDays,
    anchorDate: o.anchorDate,
    reset: v.reset ?? false,
    quiet: v.quiet ?? false,
    databaseUrl: o.databaseUrl,
    adminEmail: o.adminEmail.toLowerCase(),
    adminPassword: o.adminPassword,
    demoPassword: o.demoPassword,
  };
}
