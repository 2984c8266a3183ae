// Every index of the schema and the named query it exists for (SPEC §2: "every index exists for a
// named query, and the project documents the pair query → index → plan"). indexes.test.ts seeds a
// dataset, EXPLAINs each query and asserts the plan uses the index; it also fails when the
// database has an index that is neither here nor in INDEX_EXEMPTIONS. docs/indexes.md is written
// from this list (ROTA_WRITE_INDEX_DOCS=1 pnpm exec vitest run libs/db/src/indexes.test.ts).

export type IndexQuery = {
  /** The index the query is for. */
  index: string;
  table: string;
  /** Stable name of the query (feature.operation), as the docs and reviews refer to it. */
  name: string;
  /** Who runs it (endpoint, worker step). */
  usedBy: string;
  /** The query, parameterised like the application runs it. */
  sql: string;
  /** SQL returning one row whose columns are $1, $2, … for the EXPLAIN, picked from the seeded data. */
  params?: string;
  /**
   * The table stays small (reference data, or empty in the seed): at that size a sequential scan is
   * cheapest and Postgres rightly takes it, so the test asserts the index with enable_seqscan off —
   * it proves the index serves the query once the table grows.
   */
  small?: boolean;
  /**
   * Like `small`, for a table that is not small in production but is in the test's dataset, with
   * the reason (e.g. a GIN lookup costs more than scanning 80 pages of 3,000 employees).
   */
  forcedBecause?: string;
  /** Every column the query reads is in the index (key or INCLUDE): the plan must be an index-only scan. */
  indexOnly?: boolean;
};

const GIN_SKILLS = 'at the test\'s 3,000 employees (80 pages) a scan costs less than the GIN lookup; with the 20,000-employee seed the planner takes the index by itself';
const GIN_SEARCH = 'a %term% trigram lookup is costed at about 1,100 whatever the table size, a scan at about 45 per 1,000 employees: the planner takes the index by itself from roughly 25,000 employees (checked: scan at 3,000 and 20,000)';

export const INDEX_QUERIES: readonly IndexQuery[] = [
  // departments
  { index: 'departments_path_gist', table: 'departments', name: 'departments.subtree', usedBy: 'GET /v1/departments/tree?rootId, employees ?includeSubdepartments, manager scope checks',
    sql: `SELECT d.id, d.name, d.parent_id FROM departments d WHERE d.path <@ (SELECT path FROM departments WHERE id = $1)`,
    params: `SELECT id FROM departments WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1`, small: true },
  { index: 'departments_parent_active', table: 'departments', name: 'departments.children', usedBy: 'GET /v1/departments?parentId&active, DELETE (children check)',
    sql: `SELECT id, name FROM departments WHERE parent_id = $1 AND active = true AND id > $2 ORDER BY id LIMIT 50`,
    params: `SELECT parent_id, 0 FROM departments WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1`, small: true },
  { index: 'departments_active', table: 'departments', name: 'departments.listActive', usedBy: 'GET /v1/departments?active',
    sql: `SELECT id, name FROM departments WHERE active = $1 AND id > $2 ORDER BY id LIMIT 50`,
    // active = true is nearly every row: the primary key in id order is as good; the index is for the inactive list.
    params: `SELECT false, 0`, small: true },
  { index: 'rota_time_zones_pkey', table: 'rota_time_zones', name: 'timezones.isKnown', usedBy: 'rota_is_timezone() in the departments trigger (every insert and time-zone change)',
    sql: `SELECT EXISTS (SELECT 1 FROM rota_time_zones WHERE name = $1)`, params: `SELECT 'Europe/London'` },
  // contracts
  { index: 'contracts_name_key', table: 'contracts', name: 'contracts.byName', usedBy: 'contract lookup by name (seed, admin tools)',
    sql: `SELECT id FROM contracts WHERE name = $1`, params: `SELECT name FROM contracts ORDER BY id LIMIT 1`, small: true },
  // employees
  { index: 'employees_email_lower', table: 'employees', name: 'employees.byEmail', usedBy: 'POST /v1/auth/token, POST /v1/employees (uniqueness)',
    sql: `SELECT id, role, department_id, password_hash, active FROM employees WHERE lower(email) = lower($1)`,
    params: `SELECT upper(email) FROM employees ORDER BY id DESC LIMIT 1` },
  { index: 'employees_department_active', table: 'employees', name: 'employees.listByDepartment', usedBy: 'GET /v1/employees?departmentId&active (sort lastName)',
    sql: `SELECT id, first_name, last_name FROM employees WHERE department_id = $1 AND active = true AND (last_name, id) > ($2, $3)
          ORDER BY last_name, id LIMIT 50`,
    params: `SELECT department_id, '', 0 FROM employees WHERE role = 'employee' ORDER BY id LIMIT 1` },
  { index: 'employees_role_active', table: 'employees', name: 'employees.listByRole', usedBy: 'GET /v1/employees?role&active',
    sql: `SELECT id, first_name, last_name FROM employees WHERE role = $1 AND active = true AND id > $2 ORDER BY id LIMIT 50`,
    params: `SELECT 'manager', 0` },
  { index: 'employees_created_at', table: 'employees', name: 'employees.listByCreatedAt', usedBy: 'GET /v1/employees?sort=createdAt',
    sql: `SELECT id, first_name, last_name, created_at FROM employees WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT 50`,
    params: `SELECT '-infinity'::timestamptz, 0` },
  { index: 'employees_last_name', table: 'employees', name: 'employees.listByLastName', usedBy: 'GET /v1/employees?sort=lastName (no department filter)',
    sql: `SELECT id, first_name, last_name FROM employees WHERE (last_name, id) > ($1, $2) ORDER BY last_name, id LIMIT 50`,
    params: `SELECT '', 0` },
  { index: 'employees_hire_date', table: 'employees', name: 'employees.listByHireDate', usedBy: 'GET /v1/employees?sort=hireDate',
    sql: `SELECT id, first_name, last_name, hire_date FROM employees WHERE (hire_date, id) > ($1, $2) ORDER BY hire_date, id LIMIT 50`,
    params: `SELECT '-infinity'::date, 0` },
  { index: 'employees_skills', table: 'employees', name: 'employees.bySkills', usedBy: 'GET /v1/employees?skill=… (all given skills), solver candidate filter',
    sql: `SELECT id, first_name, last_name FROM employees WHERE skills @> $1::text[] ORDER BY id LIMIT 50`,
    params: `SELECT ARRAY['triage', 'pharmacy', 'driving']`, forcedBecause: GIN_SKILLS },
  { index: 'employees_search', table: 'employees', name: 'employees.search', usedBy: 'GET /v1/employees?q= (name/e-mail substring, trigram)',
    sql: `SELECT id, first_name, last_name, email FROM employees
          WHERE (first_name || ' ' || last_name || ' ' || email) ILIKE '%' || $1 || '%'
          ORDER BY similarity(first_name || ' ' || last_name || ' ' || email, $1) DESC, id LIMIT 50`,
    params: `SELECT 'nakamura'`, forcedBecause: GIN_SEARCH },
  { index: 'employee_rules_pkey', table: 'employee_rules', name: 'rules.forEmployee', usedBy: 'GET /v1/employees/:id/work-rules, solver input',
    sql: `SELECT * FROM employee_rules WHERE employee_id = $1`, params: `SELECT employee_id FROM employee_rules ORDER BY 1 LIMIT 1`, small: true },
  // department history
  { index: 'dept_history_employee', table: 'department_assignment_history', name: 'history.byEmployee', usedBy: 'GET /v1/employees/:id/department-history',
    sql: `SELECT id, from_department_id, to_department_id, changed_by, changed_at, reason FROM department_assignment_history
          WHERE employee_id = $1 ORDER BY changed_at DESC, id DESC LIMIT 50`,
    params: `SELECT employee_id FROM department_assignment_history WHERE from_department_id IS NOT NULL ORDER BY id LIMIT 1` },
  { index: 'dept_history_to_department', table: 'department_assignment_history', name: 'history.intoDepartment', usedBy: 'department history (arrivals), analytics of moves',
    sql: `SELECT employee_id, from_department_id, changed_at FROM department_assignment_history WHERE to_department_id = $1
          ORDER BY changed_at DESC LIMIT 50`,
    params: `SELECT to_department_id FROM department_assignment_history ORDER BY id LIMIT 1` },
  { index: 'dept_history_from_department', table: 'department_assignment_history', name: 'history.outOfDepartment', usedBy: 'department history (departures), DELETE /v1/departments FK check',
    sql: `SELECT employee_id, to_department_id, changed_at FROM department_assignment_history WHERE from_department_id = $1
          ORDER BY changed_at DESC LIMIT 50`,
    params: `SELECT from_department_id FROM department_assignment_history WHERE from_department_id IS NOT NULL ORDER BY id LIMIT 1` },
  // api keys
  { index: 'api_keys_prefix_key', table: 'api_keys', name: 'apiKeys.byPrefix', usedBy: 'API-key authentication (Bearer rk_<prefix>…)',
    sql: `SELECT id, key_hash, role, department_id, scopes FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL`,
    params: `SELECT prefix FROM api_keys ORDER BY id LIMIT 1`, small: true },
  // shift templates and successions
  { index: 'shift_templates_department_id_code_key', table: 'shift_templates', name: 'templates.byCode', usedBy: 'POST/PATCH shift templates (code unique per department), demand PUT by template code',
    sql: `SELECT id, start_time, end_time, required_skills FROM shift_templates WHERE department_id = $1 AND code = $2`,
    params: `SELECT department_id, code FROM shift_templates ORDER BY id LIMIT 1`, small: true },
  { index: 'template_successions_department', table: 'template_successions', name: 'successions.byDepartment', usedBy: 'solver input, manual shift validation',
    sql: `SELECT from_template_id, to_template_id FROM template_successions WHERE department_id = $1`,
    params: `SELECT department_id FROM template_successions ORDER BY 1 LIMIT 1`, small: true },
  { index: 'employee_shift_limits_pkey', table: 'employee_shift_limits', name: 'limits.forEmployee', usedBy: 'GET /v1/employees/:id/work-rules, manual shift validation',
    sql: `SELECT template_id, max_shifts FROM employee_shift_limits WHERE employee_id = $1`,
    params: `SELECT employee_id FROM employee_shift_limits ORDER BY 1 LIMIT 1`, small: true },
  // availability, time off, requests
  { index: 'availability_employee', table: 'availability', name: 'availability.forEmployee', usedBy: 'GET /v1/employees/:id/availability, manual shift validation',
    sql: `SELECT weekday, start_time, end_time FROM availability WHERE employee_id = $1 ORDER BY weekday`,
    params: `SELECT employee_id FROM availability ORDER BY id LIMIT 1` },
  { index: 'time_off_employee', table: 'time_off', name: 'timeOff.forEmployeeInRange', usedBy: 'GET /v1/employees/:id/time-off?from&to, manual shift validation',
    sql: `SELECT id, start_date, end_date, status FROM time_off WHERE employee_id = $1 AND start_date <= $3 AND end_date >= $2`,
    params: `SELECT employee_id, start_date, start_date + 30 FROM time_off ORDER BY id LIMIT 1` },
  { index: 'shift_requests_employee', table: 'shift_requests', name: 'requests.forEmployeeInRange', usedBy: 'GET /v1/employees/:id/shift-requests?from&to',
    sql: `SELECT id, date, kind, template_id, weight FROM shift_requests WHERE employee_id = $1 AND date BETWEEN $2 AND $3 ORDER BY date`,
    params: `SELECT employee_id, date, date + 30 FROM shift_requests ORDER BY id LIMIT 1` },
  // demand
  { index: 'demand_pkey', table: 'demand', name: 'demand.forDepartmentInRange', usedBy: 'GET /v1/departments/:id/demand?from&to, solver input',
    sql: `SELECT date, template_id, required, weight_under, weight_over FROM demand WHERE department_id = $1 AND date BETWEEN $2 AND $3
          ORDER BY date, template_id`,
    params: `SELECT department_id, min(date), min(date) + 27 FROM demand GROUP BY 1 ORDER BY 1 LIMIT 1` },
  // generation runs
  { index: 'employee_rate_history_employee_id_daterange_excl', table: 'employee_rate_history', name: 'stats.hourlyRateOn', usedBy: 'daily stats refresh (the rate in force on a shift\'s day), PATCH /v1/employees/:id hourlyRate',
    sql: `SELECT h.hourly_rate FROM employee_rate_history h WHERE h.employee_id = $1 AND daterange(h.valid_from, h.valid_until) @> $2::date`,
    params: `SELECT id, current_date FROM employees ORDER BY id LIMIT 1`, small: true },
  { index: 'template_pay_multiplier_history_template_id_daterange_excl', table: 'template_pay_multiplier_history', name: 'stats.payMultiplierOn', usedBy: 'daily stats refresh (the multiplier in force on a shift\'s day), PATCH /v1/departments/:id/shift-templates/:templateId payMultiplier',
    sql: `SELECT h.pay_multiplier FROM template_pay_multiplier_history h WHERE h.template_id = $1 AND daterange(h.valid_from, h.valid_until) @> $2::date`,
    params: `SELECT id, current_date FROM shift_templates ORDER BY id LIMIT 1`, small: true },
  { index: 'generation_idempotency_keys_pkey', table: 'generation_idempotency_keys', name: 'runs.byIdempotencyKey', usedBy: 'POST /v1/schedule-generations (Idempotency-Key replay, created or deduplicated)',
    sql: `SELECT run_id, request_hash FROM generation_idempotency_keys WHERE requested_by = $1 AND idempotency_key = $2`,
    params: `SELECT 'user:1'::text, 'key-1'::text`, small: true },
  { index: 'generation_runs_live', table: 'generation_runs', name: 'runs.liveForPeriod', usedBy: 'POST /v1/schedule-generations (deduplication of a queued/running run)',
    sql: `SELECT id FROM generation_runs WHERE department_id = $1 AND period_start = $2 AND period_end = $3 AND status IN ('queued', 'running')`,
    params: `SELECT department_id, period_start, period_end FROM generation_runs ORDER BY id LIMIT 1`, small: true },
  { index: 'generation_runs_department', table: 'generation_runs', name: 'runs.listByDepartment', usedBy: 'run history per department',
    sql: `SELECT id, status, created_at FROM generation_runs WHERE department_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50`,
    params: `SELECT department_id FROM generation_runs ORDER BY id LIMIT 1`, small: true },
  // schedules
  { index: 'schedules_period', table: 'schedules', name: 'schedules.overlappingRange', usedBy: 'GET /v1/schedules?from&to',
    sql: `SELECT id, department_id, period_start, period_end, status FROM schedules WHERE period_start <= $2 AND period_end >= $1 AND period_start >= $1 - 365`,
    params: `SELECT max(period_start), max(period_start) + 6 FROM schedules`, small: true },
  { index: 'schedules_department_status', table: 'schedules', name: 'schedules.listByDepartmentStatus', usedBy: 'GET /v1/schedules?departmentId&status (newest period first)',
    sql: `SELECT id, period_start, period_end, status FROM schedules WHERE department_id = $1 AND status = $2
          ORDER BY period_start DESC, id DESC LIMIT 50`,
    params: `SELECT department_id, 'archived' FROM schedules WHERE status = 'archived' ORDER BY id LIMIT 1`, small: true },
  { index: 'schedules_published', table: 'schedules', name: 'schedules.recentlyPublished', usedBy: 'GET /v1/schedules?status=published (newest first)',
    sql: `SELECT id, department_id, published_at FROM schedules WHERE status = 'published' ORDER BY published_at DESC, id DESC LIMIT 50`, small: true },
  { index: 'schedules_live_period', table: 'schedules', name: 'schedules.liveForPeriod', usedBy: 'generation result write (one live schedule per department and period)',
    sql: `SELECT id, version, status FROM schedules WHERE department_id = $1 AND period_start = $2 AND period_end = $3 AND status <> 'archived'`,
    params: `SELECT department_id, period_start, period_end FROM schedules ORDER BY id LIMIT 1`, small: true },
  // shifts (partitioned: the plan names each partition's index; the test maps them to the parent)
  { index: 'shifts_pkey', table: 'shifts', name: 'shifts.byId', usedBy: 'PATCH/DELETE /v1/shifts/:id (probes each monthly partition\'s index)',
    sql: `SELECT id, schedule_id, employee_id, date, status FROM shifts WHERE id = $1`, params: `SELECT max(id) FROM shifts` },
  { index: 'shifts_natural_key', table: 'shifts', name: 'shifts.upsertArbiter', usedBy: 'generation result write: bulk upsert ON CONFLICT ON CONSTRAINT shifts_natural_key',
    sql: `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at)
          SELECT schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at FROM shifts WHERE false
          ON CONFLICT ON CONSTRAINT shifts_natural_key DO NOTHING` },
  { index: 'shifts_employee_date', table: 'shifts', name: 'shifts.byEmployeeInRange', usedBy: 'GET /v1/employees/:id/shifts?from&to, manual shift validation (one a day, rest)',
    sql: `SELECT id, schedule_id, template_id, date, starts_at, ends_at FROM shifts WHERE employee_id = $1 AND date BETWEEN $2 AND $3 ORDER BY date`,
    params: `SELECT employee_id, date, date + 27 FROM shifts WHERE employee_id IS NOT NULL ORDER BY id LIMIT 1` },
  { index: 'shifts_schedule_date', table: 'shifts', name: 'shifts.bySchedule', usedBy: 'GET /v1/schedules/:id/shifts (keyset on date, id), export, stale-shift delete',
    sql: `SELECT id, employee_id, template_id, date, starts_at, ends_at FROM shifts WHERE schedule_id = $1 AND (date, id) > ($2, $3)
          ORDER BY date, id LIMIT 500`,
    params: `SELECT schedule_id, '-infinity'::date, 0 FROM shifts ORDER BY id LIMIT 1` },
  { index: 'shifts_department_date', table: 'shifts', name: 'shifts.byDepartmentInRange', usedBy: 'rota_refresh_daily_stats, department roster',
    sql: `SELECT id, employee_id, template_id, date FROM shifts WHERE department_id = $1 AND date BETWEEN $2 AND $3`,
    params: `SELECT department_id, date, date + 6 FROM shifts ORDER BY id LIMIT 1` },
  // outbox
  { index: 'outbox_pending', table: 'outbox', name: 'outbox.pending', usedBy: 'outbox relay: next batch to publish',
    sql: `SELECT id, type, partition_key, envelope FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 100` },
  { index: 'outbox_published_at', table: 'outbox', name: 'outbox.prunePublished', usedBy: 'outbox relay: delete published rows older than the retention',
    sql: `DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1`, params: `SELECT now() - interval '13 days'` },
  // analytics
  { index: 'department_daily_stats_pkey', table: 'department_daily_stats', name: 'stats.byDepartmentInRange', usedBy: 'GET /v1/analytics/departments/:id/daily?from&to, refresh (delete of the range)',
    sql: `SELECT date, scheduled_minutes, labour_cost, head_count, demand_slots, covered_slots FROM department_daily_stats
          WHERE department_id = $1 AND date BETWEEN $2 AND $3 ORDER BY date`,
    params: `SELECT department_id, min(date), min(date) + 27 FROM department_daily_stats GROUP BY 1 ORDER BY 1 LIMIT 1`, indexOnly: true },
  { index: 'department_daily_stats_pkey', table: 'department_daily_stats', name: 'stats.subtreeTotals', usedBy: 'GET /v1/analytics/overview?from&to&departmentId (a subtree: every department below it, summed)',
    sql: `SELECT sum(demand_slots), sum(covered_slots), sum(scheduled_minutes), sum(labour_cost), sum(overtime_minutes), sum(shift_count), sum(open_shifts)
            FROM department_daily_stats WHERE department_id IN (SELECT d.id FROM departments d WHERE d.path <@ $1::ltree) AND date BETWEEN $2 AND $3`,
    params: `SELECT d.path, min(s.date), min(s.date) + 27 FROM department_daily_stats s JOIN departments d ON d.id = s.department_id GROUP BY d.path ORDER BY d.path LIMIT 1`, indexOnly: true },
  { index: 'department_daily_stats_date', table: 'department_daily_stats', name: 'stats.overviewInRange', usedBy: 'GET /v1/analytics/overview?from&to (all departments)',
    sql: `SELECT department_id, sum(scheduled_minutes), sum(labour_cost), sum(demand_slots), sum(covered_slots) FROM department_daily_stats
          WHERE date BETWEEN $1 AND $2 GROUP BY department_id`,
    params: `SELECT max(date) - 6, max(date) FROM department_daily_stats` },
];

/** Indexes that exist for integrity or plain lookups by primary key, not for a listed query. */
export const INDEX_EXEMPTIONS: ReadonlyArray<{ index: string; reason: string }> = [
  ...['departments', 'contracts', 'employees', 'department_assignment_history', 'api_keys', 'shift_templates', 'availability',
    'time_off', 'shift_requests', 'generation_runs', 'schedules', 'outbox'].map((t) => ({ index: `${t}_pkey`, reason: `primary key of ${t}: fetch by id, foreign-key target` })),
  { index: 'schema_migrations_pkey', reason: 'primary key of the migration ledger' },
  ...['employee_rate_history_pkey', 'template_pay_multiplier_history_pkey'].map((index) => ({
    index, reason: 'integrity: one row per owner and start day, the arbiter of a second change on one day (ON CONFLICT); the lookup by day uses the exclusion constraint\'s index' })),
  { index: 'shift_templates_department_id_id_key', reason: 'target of the composite foreign keys (department_id, template_id) from demand and template_successions: a template of another department cannot be referenced' },
  { index: 'template_successions_pkey', reason: 'integrity: one row per (from, to) pair; point lookups in manual shift validation' },
  { index: 'outbox_event_id_key', reason: 'integrity: an event id is written once (consumers deduplicate on it)' },
];

function cell(s: string): string {
  return s.replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|');
}

/** The docs row of one entry without its plan column (the part the test keeps in sync). */
export function indexDocRowPrefix(q: IndexQuery): string {
  return `| \`${q.index}\` | ${q.table} | **${q.name}** | ${cell(q.usedBy)} | \`${cell(q.sql)}\` |`;
}

/** docs/indexes.md, with the plan nodes observed by the EXPLAIN test. */
export function renderIndexDoc(plans: ReadonlyMap<string, string>): string {
  const rows = INDEX_QUERIES.map((q) => `${indexDocRowPrefix(q)} ${cell(plans.get(q.name) ?? '?')}${
    q.small ? ' (small table: asserted with enable_seqscan off)' : q.forcedBecause ? ` (asserted with enable_seqscan off: ${cell(q.forcedBecause)})` : ''} |`);
  return `# Indexes: query → index → plan

Generated from \`libs/db/src/index-queries.ts\` by \`ROTA_WRITE_INDEX_DOCS=1 pnpm exec vitest run libs/db/src/indexes.test.ts\`;
do not edit by hand. The test (\`libs/db/src/indexes.test.ts\`) seeds 3,000 employees (\`seedDatabase\`,
seed 1, 8 weeks of history, a year of demand), runs \`ANALYZE\`, and for every row below runs
\`EXPLAIN (FORMAT JSON)\` and asserts that the plan uses the index (index scans, bitmap index scans
and ON CONFLICT arbiters count; on the partitioned \`shifts\` the per-month partition indexes are
mapped to their parent). It also fails when the database holds an index that is neither listed here
nor exempted below, so a new index cannot land without its query.

"Small table" rows are reference tables that stay small (or are empty in the seed): there Postgres
correctly prefers a sequential scan, so the test asserts the index with \`enable_seqscan = off\`.

| index | table | query | used by | SQL | plan node (seeded, analysed) |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

## Indexes without a listed query

| index | why it exists |
| --- | --- |
${INDEX_EXEMPTIONS.map((e) => `| \`${e.index}\` | ${cell(e.reason)} |`).join('\n')}

## Notes

- \`shifts_pkey\` is \`(id, date)\` because a primary key of a partitioned table must contain the
  partition key; a lookup by id alone probes the index of every monthly partition (one cheap probe
  each). Endpoints that know the date should pass it so only one partition is touched.
- \`employees_search\` is a trigram GIN over \`first_name || ' ' || last_name || ' ' || email\`; the query
  must use exactly that expression (and ILIKE/LIKE/\`%\`/similarity operators) to hit it.
- \`departments_path_gist\` answers subtree queries (\`path <@ $root_path\`) in one lookup; the root's
  path comes from the primary key first.
`;
}
