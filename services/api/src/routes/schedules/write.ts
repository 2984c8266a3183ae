import { z } from 'zod';
import { invalidationsFor, recordEvent } from '@rota/events';
import { AppError } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { idsParams } from '../../http/validate.ts';
import { authorizeSchedule, loadSchedule } from './access.ts';
import { withExportCursor } from './cursor.ts';
import { CSV_COLUMNS, ICS_FOOTER, csvLine, csvRow, icsEvent, icsHeader, icsUtc, writeRows, type ExportHeader, type ExportShift } from './formats.ts';
import { SCHEDULE_COLUMNS, scheduleSchema, toSchedule, type ScheduleRow } from './shape.ts';


export const scheduleWriteRoutes = [
  route({
    method: 'post',
    path: '/v1/schedules/:id/publish',
    summary: 'Publish a draft; published schedules of the department whose periods overlap it are archived',
    tag: 'schedules',
    scope: 'schedules:publish',
    params: idsParams,
    responses: {
      200: { description: 'The published schedule (version + 1)', schema: scheduleSchema.extend({ archivedScheduleIds: z.array(z.string()) }) },
      409: { description: 'The schedule is not a draft' },
    },
    handler: async ({ params, principal, deps }) => {
      const out = await deps.db.tx(async (q) => {
        const s = authorizeSchedule(principal, await loadSchedule(q, params.id, true), 'manage');
        if (s.status !== 'draft') {
          throw new AppError('conflict', `only a draft can be published; this schedule is ${s.status}`, { details: [{ field: 'status', message: `is ${s.status}` }] });
        }
        // One published roster per department and day: the new one supersedes every published
        // schedule it overlaps. They are archived (kept for history, their shifts stop counting
        // in analytics), not deleted.
        const archived = await q.query<{ id: string; period_start: string; period_end: string }>(
          `UPDATE schedules SET status = 'archived'
            WHERE department_id = $1 AND status = 'published' AND id <> $2 AND period_start <= $4 AND period_end >= $3
            RETURNING id, period_start::text AS period_start, period_end::text AS period_end`,
          [s.department_id, s.id, s.period_start, s.period_end]);
        const r = await q.query<ScheduleRow>(
          `WITH u AS (
             UPDATE schedules SET status = 'published', published_at = now(), published_by = $2, version = version + 1
              WHERE id = $1 RETURNING *
           ) SELECT ${SCHEDULE_COLUMNS} FROM u s JOIN departments d ON d.id = s.department_id`,
          [s.id, principal.employeeId]);
        const row = r.rows[0]!;
        const archivedIds = archived.rows.map((a) => a.id);
        if (archived.rows.length) {
          const from = archived.rows.reduce((m, a) => (a.period_start < m ? a.period_start : m), s.period_start);
          const to = archived.rows.reduce((m, a) => (a.period_end > m ? a.period_end : m), s.period_end);
          await q.query('SELECT rota_refresh_daily_stats($1, $2, $3)', [s.department_id, from, to]);
        }
        const event = await recordEvent(q, {
          type: 'schedule.published', aggregate: { type: 'schedule', id: s.id }, departmentIds: [s.department_id],
          scheduleIds: [s.id, ...archivedIds],
          payload: { version: row.version, periodStart: s.period_start, periodEnd: s.period_end, archivedScheduleIds: archivedIds },
        });
        return { row, archivedIds, event };
      });
      await deps.cache.invalidate(invalidationsFor(out.event));
      return { json: { ...toSchedule(out.row), archivedScheduleIds: out.archivedIds } };
    },
  }),
  route({
    method: 'get',
    path: '/v1/schedules/:id/export',
    summary: 'Export the shifts of a schedule as CSV or iCalendar, streamed (constant memory)',
    tag: 'schedules',
    scope: 'schedules:read',
    params: idsParams,
    query: z.strictObject({ format: z.enum(['csv', 'ics']).default('csv') }),
    responses: {
      200: { description: 'text/csv (RFC 4180) or text/calendar (RFC 5545), one row/event per shift', schema: z.string(), contentType: 'text/csv' },
      404: { description: 'Not found (or not visible to an employee)' },
    },
    handler: async ({ res, params, query, principal, deps }) => {
      const s = authorizeSchedule(principal, await loadSchedule({ query: deps.db.read }, params.id), 'read');
      const header: ExportHeader = { scheduleId: s.id, departmentName: s.department_name, periodStart: s.period_start, periodEnd: s.period_end, version: s.version };
      // Colleagues' email addresses are for managers; employees see names only.
      const email = principal.role === 'employee' ? 'NULL::text' : 'e.email';
      // Reads go to the replica when there is one (the reader pool is the writer's otherwise).
      const client = await deps.db.reader.connect();
      let broken = false;
      try {
        const sql = `SELECT sh.id, sh.date::text AS date, sh.starts_at, sh.ends_at, sh.employee_id,
                  e.first_name || ' ' || e.last_name AS employee_name, ${email} AS email,
                  t.code AS template_code, t.name AS template_name, sh.status, sh.source
             FROM shifts sh
             JOIN shift_templates t ON t.id = sh.template_id
             LEFT JOIN employees e ON e.id = sh.employee_id
            WHERE sh.schedule_id = $1 AND sh.date BETWEEN $2 AND $3
            ORDER BY sh.date, sh.id`;
        const base = `schedule-${s.id}-v${s.version}`;
        res.status(200);
        res.setHeader('X-Cache', 'BYPASS');
        res.setHeader('Cache-Control', 'private, no-store');
        await withExportCursor<ExportShift>(client, sql, [s.id, s.period_start, s.period_end], async (rows) => {
          if (query.format === 'csv') {
            res.setHeader('Content-Type', 'text/csv; charset=utf-8; header=present');
            res.setHeader('Content-Disposition', `attachment; filename="${base}.csv"`);
            if (await writeRows(res, rows, csvRow, csvLine(CSV_COLUMNS), '')) res.end();
          } else {
            const dtstamp = icsUtc(new Date());
            res.setHeader('Content-Type', 'text/calendar; charset=utf-8');
            res.setHeader('Content-Disposition', `attachment; filename="${base}.ics"`);
            if (await writeRows(res, rows, (r) => icsEvent(r, header, dtstamp, 'rota'), icsHeader(header), ICS_FOOTER)) res.end();
          }
        });
      } catch (e) {
        broken = true;
        throw e;
      } finally {
        // After a failure the connection may be mid-protocol or in a failed transaction: destroy it.
        client.release(broken);
      }
    },
  }),
];
