import type { Queryable } from '@rota/db';

/**
 * A new hourly rate or pay multiplier re-prices the labour cost of the shifts it applies to from
 * today on (today in the employee's or template's department's time zone): rostered shifts are
 * costed at the new rate, while days before keep the rate that applied then — also when they are
 * recomputed later (a corrected past shift), since the change is recorded with the day it applies
 * from (migration 0012: the stats price each shift at the rate in force on its day), and every
 * department is refreshed from that same day.
 * Runs inside the writer's transaction, before the UPDATE of the rate; the refreshes after it.
 */

/**
 * Records a change of rate before it is written: the rate in force until now (from -infinity, if
 * nothing was recorded yet; else the open row is closed) and `value` from today in the owner's
 * department's time zone, or from the latest recorded change if that is later (a move to a
 * department whose date is behind). A second change on one day replaces the first. Rows hold for
 * [valid_from, valid_until) and never overlap (the tables' exclusion constraints hold it too).
 * Returns the day the new value applies from, or undefined when the value does not change. The
 * owner's row is locked first (FOR UPDATE), so concurrent changes of one owner apply in turn.
 */
async function keepHistory(q: Queryable, o: { history: string; key: string; column: string; owner: string; id: string; value: string | number }): Promise<string | undefined> {
  // The lock in a statement of its own: a statement that waits for a row lock keeps its snapshot
  // from before the wait, so it would not see the rows the previous holder recorded. Then one
  // statement at a time, in order, so the exclusion constraint never sees two open rows.
  await q.query(`SELECT 1 FROM ${o.owner} WHERE id = $1 FOR UPDATE`, [o.id]);
  const cur = await q.query<{ value: string; today: string; recorded: boolean }>(
    `SELECT o.${o.column}::text AS value,
            greatest((now() AT TIME ZONE d.timezone)::date,
                     (SELECT max(h.valid_from) FROM ${o.history} h WHERE h.${o.key} = o.id))::text AS today,
            EXISTS (SELECT 1 FROM ${o.history} h WHERE h.${o.key} = o.id) AS recorded
       FROM ${o.owner} o JOIN departments d ON d.id = o.department_id
      WHERE o.id = $1 AND o.${o.column} <> $2::numeric`, [o.id, o.value]);
  const c = cur.rows[0];
  if (!c) return undefined;
  if (!c.recorded) {
    await q.query(`INSERT INTO ${o.history} (${o.key}, valid_from, valid_until, ${o.column}) VALUES ($1, '-infinity', $2, $3)`, [o.id, c.today, c.value]);
  } else {
    await q.query(`UPDATE ${o.history} SET valid_until = $2 WHERE ${o.key} = $1 AND valid_until = 'infinity' AND valid_from < $2`, [o.id, c.today]);
  }
  await q.query(
    `INSERT INTO ${o.history} (${o.key}, valid_from, valid_until, ${o.column}) VALUES ($1, $2, 'infinity', $3)
     ON CONFLICT (${o.key}, valid_from) DO UPDATE SET ${o.column} = excluded.${o.column}`, [o.id, c.today, o.value]);
  return c.today;
}

export function keepRateHistory(q: Queryable, employeeId: string, hourlyRate: string): Promise<string | undefined> {
  return keepHistory(q, { history: 'employee_rate_history', key: 'employee_id', column: 'hourly_rate', owner: 'employees', id: employeeId, value: hourlyRate });
}

export function keepPayMultiplierHistory(q: Queryable, templateId: string, payMultiplier: number): Promise<string | undefined> {
  return keepHistory(q, { history: 'template_pay_multiplier_history', key: 'template_id', column: 'pay_multiplier', owner: 'shift_templates', id: templateId, value: payMultiplier });
}

/** Refreshes the stats of the given ranges; returns the departments refreshed. */
async function refreshRanges(q: Queryable, ranges: { department_id: string; from: string; to: string }[]): Promise<string[]> {
  for (const r of ranges) await q.query('SELECT rota_refresh_daily_stats($1, $2, $3)', [r.department_id, r.from, r.to]);
  return ranges.map((r) => r.department_id);
}

/**
 * The employee's shifts from `from` (the day keepRateHistory recorded the change for) on, in
 * whichever departments they are (shifts_employee_date): every department is refreshed from the
 * same day the history switches on, whatever its own time zone.
 */
export async function repriceEmployee(q: Queryable, employeeId: string, from: string): Promise<string[]> {
  const r = await q.query<{ department_id: string; from: string; to: string }>(
    `SELECT s.department_id, min(s.date)::text AS "from", max(s.date)::text AS "to"
       FROM shifts s
      WHERE s.employee_id = $1 AND s.date >= $2::date AND s.status <> 'cancelled'
      GROUP BY s.department_id`, [employeeId, from]);
  return refreshRanges(q, r.rows);
}

/** The template's shifts from `from` (the day keepPayMultiplierHistory recorded) on (shifts_department_date). */
export async function repriceTemplate(q: Queryable, departmentId: string, templateId: string, from: string): Promise<string[]> {
  const r = await q.query<{ department_id: string; from: string; to: string }>(
    `SELECT s.department_id, min(s.date)::text AS "from", max(s.date)::text AS "to"
       FROM shifts s
      WHERE s.department_id = $1 AND s.template_id = $2 AND s.date >= $3::date AND s.status <> 'cancelled'
      GROUP BY s.department_id`,
    [departmentId, templateId, from]);
  return refreshRanges(q, r.rows);
}
