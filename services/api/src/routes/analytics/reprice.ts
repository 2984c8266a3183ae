import type { Queryable } from '@rota/db';

/**
 * A new hourly rate or pay multiplier re-prices the labour cost of the shifts it applies to from
 * today on (today in each shift's department's time zone): rostered shifts are costed at the new
 * rate, while days before today keep the rate that applied then — also when they are recomputed
 * later (a corrected past shift), since the change is recorded with the day it applies from
 * (migration 0012: the stats price each shift at the rate in force on its day).
 * Runs inside the writer's transaction, before the UPDATE of the rate; the refreshes after it.
 */

/**
 * Records a change of rate before it is written: the rate in force until now (from -infinity, if
 * nothing was recorded yet; else the open row is closed at today) and `value` from today in the
 * owner's department's time zone (a second change on one day replaces the first). Nothing when the
 * value does not change. Rows hold for [valid_from, valid_until) and never overlap: "today" is
 * never before the latest recorded change (a move to a department whose date is behind), and the
 * owner's row is locked first, so concurrent changes apply one after the other.
 */
async function keepHistory(q: Queryable, o: { history: string; key: string; column: string; owner: string; id: string; value: string | number }): Promise<void> {
  await q.query(
    `WITH cur AS (
       SELECT o.id, o.${o.column} AS value,
              greatest((now() AT TIME ZONE d.timezone)::date,
                       (SELECT max(h.valid_from) FROM ${o.history} h WHERE h.${o.key} = o.id)) AS today
         FROM ${o.owner} o JOIN departments d ON d.id = o.department_id
        WHERE o.id = $1 AND o.${o.column} <> $2::numeric
          FOR UPDATE OF o
     ), first AS (
       INSERT INTO ${o.history} (${o.key}, valid_from, valid_until, ${o.column})
       SELECT id, '-infinity', today, value FROM cur WHERE NOT EXISTS (SELECT 1 FROM ${o.history} h WHERE h.${o.key} = cur.id)
       ON CONFLICT DO NOTHING
     ), closed AS (
       UPDATE ${o.history} h SET valid_until = cur.today FROM cur
        WHERE h.${o.key} = cur.id AND h.valid_until = 'infinity' AND h.valid_from < cur.today
     )
     INSERT INTO ${o.history} (${o.key}, valid_from, valid_until, ${o.column})
     SELECT id, today, 'infinity', $2::numeric FROM cur
     ON CONFLICT (${o.key}, valid_from) DO UPDATE SET ${o.column} = excluded.${o.column}`,
    [o.id, o.value]);
}

export function keepRateHistory(q: Queryable, employeeId: string, hourlyRate: string): Promise<void> {
  return keepHistory(q, { history: 'employee_rate_history', key: 'employee_id', column: 'hourly_rate', owner: 'employees', id: employeeId, value: hourlyRate });
}

export function keepPayMultiplierHistory(q: Queryable, templateId: string, payMultiplier: number): Promise<void> {
  return keepHistory(q, { history: 'template_pay_multiplier_history', key: 'template_id', column: 'pay_multiplier', owner: 'shift_templates', id: templateId, value: payMultiplier });
}

/** Refreshes the stats of the given ranges; returns the departments refreshed. */
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
