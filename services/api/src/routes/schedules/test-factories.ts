/** Test factories for schedules and shifts (straight SQL, like the harness's own factories). */
import type { TestApi } from '../../testing.ts';

export async function makeSchedule(api: TestApi, o: { departmentId: string; start: string; end: string; status?: 'draft' | 'published' | 'archived' }): Promise<string> {
  const status = o.status ?? 'draft';
  const r = await api.tdb.db.query<{ id: string }>(
    `INSERT INTO schedules (department_id, period_start, period_end, status, published_at)
     VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'draft' THEN NULL ELSE now() END) RETURNING id`, [o.departmentId, o.start, o.end, status]);
  await api.tdb.db.query('SELECT rota_ensure_shift_partitions($1, $2)', [o.start, o.end]);
  return r.rows[0]!.id;
}

/** A shift with times computed from the template in the department's zone, as the API does. */
export async function makeShift(api: TestApi, o: { scheduleId: string; employeeId: string | null; templateId: string; date: string; status?: string; openSlot?: number }): Promise<string> {
  const r = await api.tdb.db.query<{ id: string }>(
    `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at, status)
     SELECT s.id, s.department_id, $2, t.id, $4::date, $6,
            ($4::date + t.start_time) AT TIME ZONE d.timezone,
            ($4::date + CASE WHEN t.end_time <= t.start_time THEN 1 ELSE 0 END + t.end_time) AT TIME ZONE d.timezone, $5
       FROM schedules s JOIN departments d ON d.id = s.department_id JOIN shift_templates t ON t.id = $3
      WHERE s.id = $1 RETURNING id`,
    [o.scheduleId, o.employeeId, o.templateId, o.date, o.status ?? 'scheduled', o.employeeId === null ? (o.openSlot ?? 1) : 0]);
  return r.rows[0]!.id;
}

export async function refreshStats(api: TestApi, departmentId: string, from: string, to: string): Promise<void> {
  await api.tdb.db.query('SELECT rota_refresh_daily_stats($1, $2, $3)', [departmentId, from, to]);
}
