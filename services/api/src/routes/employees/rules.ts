import { z } from 'zod';
import type { Queryable } from '@rota/db';
import { AppError } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { idParam, idsParams } from '../../http/validate.ts';
import { employeeWrite, sendEmployeeRead, type Target } from './access.ts';

/** Rule fields: API name → column. Shared by contracts (defaults) and employee_rules (overrides). */
const FIELDS = {
  maxMinutesPerPeriod: 'max_minutes_per_period',
  minMinutesPerPeriod: 'min_minutes_per_period',
  maxMinutesPerWeek: 'max_minutes_per_week',
  minMinutesPerWeek: 'min_minutes_per_week',
  maxConsecutiveDays: 'max_consecutive_days',
  minConsecutiveDays: 'min_consecutive_days',
  minConsecutiveDaysOff: 'min_consecutive_days_off',
  maxWeekendsPerPeriod: 'max_weekends_per_period',
  minRestMinutes: 'min_rest_minutes',
} as const;
type Field = keyof typeof FIELDS;
type Rules = Record<Field, number | null>;
type SentRules = { [K in Field]?: number | null | undefined };
const NAMES = Object.keys(FIELDS) as Field[];

/**
 * Rules of an employee without a contract: the column defaults of `contracts` (0001_core.sql),
 * i.e. exactly what a contract created without values would hold.
 */
const NO_CONTRACT: Rules = {
  maxMinutesPerPeriod: 10560, minMinutesPerPeriod: 0, maxMinutesPerWeek: null, minMinutesPerWeek: null,
  maxConsecutiveDays: 6, minConsecutiveDays: 1, minConsecutiveDaysOff: 1, maxWeekendsPerPeriod: 4, minRestMinutes: 660,
};

const MINUTES_CAP = 527_040; // a leap year of minutes
const minutes = z.number().int('must be an integer').min(0, 'must be at least 0').max(MINUTES_CAP);
const days = z.number().int('must be an integer').min(1, 'must be at least 1').max(366);
const putBody = z.strictObject({
  maxMinutesPerPeriod: minutes.nullable().optional(),
  minMinutesPerPeriod: minutes.nullable().optional(),
  maxMinutesPerWeek: minutes.max(10_080, 'a week has 10080 minutes').nullable().optional(),
  minMinutesPerWeek: minutes.max(10_080, 'a week has 10080 minutes').nullable().optional(),
  maxConsecutiveDays: days.nullable().optional(),
  minConsecutiveDays: days.nullable().optional(),
  minConsecutiveDaysOff: days.nullable().optional(),
  maxWeekendsPerPeriod: z.number().int('must be an integer').min(0, 'must be at least 0').max(53).nullable().optional(),
  minRestMinutes: minutes.max(10_080).nullable().optional(),
  /** Max shifts per template per period (0 = never); replaces the current list. */
  shiftLimits: z.array(z.strictObject({ templateId: idParam, maxShifts: z.number().int('must be an integer').min(0, 'must be at least 0').max(1000) })).max(500).optional(),
});

const rulesSchema = z.object(Object.fromEntries(NAMES.map((n) => [n, z.number().nullable()])) as Record<Field, z.ZodNullable<z.ZodNumber>>);
const workRulesSchema = z.object({
  contract: z.object({ id: z.string(), name: z.string() }).nullable(),
  effective: rulesSchema.describe('override ?? contract ?? default; null = no limit'),
  overrides: rulesSchema,
  shiftLimits: z.array(z.object({ templateId: z.string(), code: z.string(), name: z.string(), maxShifts: z.number() })),
});

type RulesRow = { contract_id: string | null; contract_name: string | null; contract: Rules | null; overrides: Rules | null; limits: { templateId: string; code: string; name: string; maxShifts: number }[] };

const rulesJson = (alias: string): string => `json_build_object(${NAMES.map((n) => `'${n}', ${alias}.${FIELDS[n]}`).join(', ')})`;

async function loadRules(q: Queryable, employeeId: string): Promise<RulesRow> {
  const r = await q.query<RulesRow>(
    `SELECT e.contract_id, c.name AS contract_name,
            CASE WHEN c.id IS NULL THEN NULL ELSE ${rulesJson('c')} END AS contract,
            CASE WHEN r.employee_id IS NULL THEN NULL ELSE ${rulesJson('r')} END AS overrides,
            coalesce((SELECT json_agg(json_build_object('templateId', l.template_id::text, 'code', t.code, 'name', t.name, 'maxShifts', l.max_shifts) ORDER BY t.code)
                        FROM employee_shift_limits l JOIN shift_templates t ON t.id = l.template_id WHERE l.employee_id = e.id), '[]') AS limits
       FROM employees e
       LEFT JOIN contracts c ON c.id = e.contract_id
       LEFT JOIN employee_rules r ON r.employee_id = e.id
      WHERE e.id = $1`, [employeeId]);
  return r.rows[0]!;
}

function effectiveOf(contract: Rules | null, overrides: SentRules | null): Rules {
  const base = contract ?? NO_CONTRACT;
  return Object.fromEntries(NAMES.map((n) => [n, overrides?.[n] ?? base[n]])) as Rules;
}

function present(row: RulesRow): z.infer<typeof workRulesSchema> {
  const overrides = Object.fromEntries(NAMES.map((n) => [n, row.overrides?.[n] ?? null])) as Rules;
  return {
    contract: row.contract_id ? { id: row.contract_id, name: row.contract_name! } : null,
    effective: effectiveOf(row.contract, row.overrides),
    overrides,
    shiftLimits: row.limits,
  };
}

/** min ≤ max on the effective values, naming the override that breaks it. */
function checkConsistent(eff: Rules, sent: SentRules): void {
  const pairs: [Field, Field][] = [
    ['minMinutesPerPeriod', 'maxMinutesPerPeriod'], ['minMinutesPerWeek', 'maxMinutesPerWeek'], ['minConsecutiveDays', 'maxConsecutiveDays'],
  ];
  for (const [lo, hi] of pairs) {
    const a = eff[lo];
    const b = eff[hi];
    if (a !== null && b !== null && a > b) {
      const field = sent[lo] !== undefined && sent[lo] !== null ? lo : hi;
      throw new AppError('validation_failed', `${lo} (${a}) must not exceed ${hi} (${b})`, { details: [{ field: `body.${field}`, message: `${lo} must not exceed ${hi}` }] });
    }
  }
}

async function checkTemplates(q: Queryable, t: Target, limits: { templateId: string }[]): Promise<void> {
  const seen = new Set<string>();
  limits.forEach((l, i) => {
    if (seen.has(l.templateId)) throw new AppError('validation_failed', 'a template appears twice', { details: [{ field: `body.shiftLimits.${i}.templateId`, message: 'duplicate template' }] });
    seen.add(l.templateId);
  });
  if (limits.length === 0) return;
  const r = await q.query<{ id: string }>('SELECT id FROM shift_templates WHERE id = ANY($1::bigint[]) AND department_id = $2', [[...seen], t.department_id]);
  const found = new Set(r.rows.map((x) => x.id));
  const bad = limits.findIndex((l) => !found.has(l.templateId));
  if (bad >= 0) throw new AppError('validation_failed', "template is not one of the employee's department", { details: [{ field: `body.shiftLimits.${bad}.templateId`, message: "not a template of the employee's department" }] });
}

export const workRuleRoutes = [
  route({
    method: 'get',
    path: '/v1/employees/:id/work-rules',
    summary: "Effective work rules: the contract's defaults with the employee's overrides, and per-template caps",
    tag: 'employees',
    scope: 'employees:read',
    params: idsParams,
    responses: { 200: { description: 'Work rules', schema: workRulesSchema } },
    handler: async ({ req, res, params, principal, deps }) => {
      await sendEmployeeRead({ req, res, principal, deps }, params.id, 'employees.rules', null, async () => present(await loadRules({ query: deps.db.read }, params.id)));
    },
  }),
  route({
    method: 'put',
    path: '/v1/employees/:id/work-rules',
    summary: 'Replace the overrides (absent or null = use the contract) and the per-template caps (admins; managers for their subtree)',
    tag: 'employees',
    scope: 'employees:write',
    params: idsParams,
    body: putBody,
    responses: { 200: { description: 'The new work rules', schema: workRulesSchema } },
    handler: async ({ params, body, principal, deps }) => {
      const result = await employeeWrite(deps, principal, params.id, 'manage', 'employee.rules_changed', async (q, t) => {
        const { shiftLimits = [], ...sent } = body;
        const before = await loadRules(q, t.id);
        checkConsistent(effectiveOf(before.contract, sent), sent);
        await checkTemplates(q, t, shiftLimits);
        const cols = NAMES.map((n) => FIELDS[n]);
        await q.query(
          `INSERT INTO employee_rules (employee_id, ${cols.join(', ')}) VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')})
           ON CONFLICT (employee_id) DO UPDATE SET ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, updated_at = now()`,
          [t.id, ...NAMES.map((n) => sent[n] ?? null)]);
        await q.query('DELETE FROM employee_shift_limits WHERE employee_id = $1', [t.id]);
        if (shiftLimits.length) {
          await q.query(
            `INSERT INTO employee_shift_limits (employee_id, template_id, max_shifts)
             SELECT $1, x.template_id, x.max_shifts FROM unnest($2::bigint[], $3::int[]) AS x(template_id, max_shifts)`,
            [t.id, shiftLimits.map((l) => l.templateId), shiftLimits.map((l) => l.maxShifts)]);
        }
        return { result: present(await loadRules(q, t.id)), payload: { overrides: NAMES.filter((n) => sent[n] != null), shiftLimits: shiftLimits.length } };
      });
      return { json: result };
    },
  }),
];
