import type { Queryable } from '@rota/db';

/**
 * A new hourly rate or pay multiplier re-prices the labour cost of the shifts it applies to from
 * today on (today in each shift's department's time zone): rostered shifts are costed at the new
 * rate, while days before today keep the cost they were computed at (what those shifts cost when
 * they were worked).
 * Runs inside the writer's transaction; returns the departments whose stats were refreshed.
 */
async function refreshRanges(q: Queryable, ranges: { department_id: string; from: string; to: string }[]): Promise<string[]> {
  for (const r of ranges) await q.query('SELECT rota_refresh_daily_stats($1, $2, $3)', [r.department_id, r.from, r.to]);
  return ranges.map((r) => r.department_id);
}

/** The employee's shifts from today on, in whichever departments they are (shifts_employee_date). */
export async function repriceEmployee(q: Queryable, employeeId: string): Promise<string[]> {
  const r = await q.query<{ department_id: string; from: string; to: string }>(
    `SELECT s.department_id, min(s.date)::text AS "from", max(s.date)::text AS "to"
       FROM shifts s JOIN departments d ON d.id = s.department_id
      WHERE s.employee_id = $1 AND s.date >= (now() AT TIME ZONE d.timezone)::date AND s.status <> 'cancelled'
      GROUP BY s.department_id`, [employeeId]);
  return refreshRanges(q, r.rows);
}

/** The template's shifts from today on (shifts_department_date). */
export async function repriceTemplate(q: Queryable, departmentId: string, templateId: string): Promise<string[]> {
  const r = await q.query<{ department_id: string; from: string; to: string }>(
    `SELECT s.department_id, min(s.date)::text AS "from", max(s.date)::text AS "to"
       FROM shifts s JOIN departments d ON d.id = s.department_id
      WHERE s.department_id = $1 AND s.template_id = $2 AND s.date >= (now() AT TIME ZONE d.timezone)::date AND s.status <> 'cancelled'
      GROUP BY s.department_id`,
    [departmentId, templateId]);
  return refreshRanges(q, r.rows);
}
