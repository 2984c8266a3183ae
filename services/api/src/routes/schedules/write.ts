import { Gauge } from 'prom-client';
import type { PoolClient } from 'pg';
import { z } from 'zod';
import { invalidationsFor, recordEvent } from '@rota/events';
import { checkScheduleRules } from '@rota/generation';
import { metric, type Registry } from '@rota/telemetry';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { boolParam, idsParams } from '../../http/validate.ts';
import { authorizeSchedule, loadSchedule } from './access.ts';
import { withExportCursor } from './cursor.ts';
import { CSV_COLUMNS, ICS_FOOTER, csvLine, csvRow, icsEvent, icsHeader, icsUtc, writeRows, type ExportHeader, type ExportShift } from './formats.ts';
import { SCHEDULE_COLUMNS, scheduleSchema, toSchedule, type ScheduleRow } from './shape.ts';

/** One broken hard rule, as checkScheduleRules (@rota/generation) reports it. */
const ruleViolationSchema = z.object({
  rule: z.string(),
  employeeId: z.string(),
  date: z.string().optional(),
  message: z.string(),
  liftedByGeneration: z.literal(true).optional().describe(
    "A minimum the generation of this roster already lifted as out of reach for this employee (the run's relaxedMinimumsEmployeeIds), not one an edit made"),
});

/**
 * Exports running now, per app. Each holds a reader connection (and its cursor) until its client
 * has read the last row — up to the export's 15-minute statement timeout for a client that reads
 * a trickle — so without a bound a few slow downloads would take the whole pool from every other
 * request. Beyond EXPORT_MAX_CONCURRENT an export is refused with 503 and Retry-After.
 */
const runningExports = new WeakMap<Deps, { count: number }>();

function exportsGauge(registry: Registry): Gauge {
  return metric(registry, 'api_exports_in_progress', () => new Gauge({
    name: 'api_exports_in_progress',
    help: 'Schedule exports streaming now (each holds a database connection); refused with 503 beyond EXPORT_MAX_CONCURRENT.',
    registers: [registry],
  }));
}

export const scheduleWriteRoutes = [
  route({
    method: 'post',
    path: '/v1/schedules/:id/publish',
    summary: 'Publish a draft; published schedules of the department whose periods overlap it are archived',
    tag: 'schedules',
    scope: 'schedules:publish',
    params: idsParams,
    query: z.strictObject({
      acceptRuleViolations: boolParam.optional().describe(
        'Publish even though the roster breaks hard rules (they are listed in the response and recorded in the event); default false: refused with 409'),
    }),
    responses: {
      200: {
        description: 'The published schedule (version + 1), the schedules it archived, and the hard rules it breaks (empty unless acceptRuleViolations)',
        schema: scheduleSchema.extend({ archivedScheduleIds: z.array(z.string()), ruleViolations: z.array(ruleViolationSchema) }),
      },
      409: { description: 'The schedule is not a draft (conflict), or its roster breaks hard rules (rule_violation, each listed in details)' },
    },
    handler: async ({ params, query, principal, deps }) => {
      const out = await deps.db.tx(async (q) => {
        const s = authorizeSchedule(principal, await loadSchedule(q, params.id, true), 'manage');
        if (s.status !== 'draft') {
          throw new AppError('conflict', `only a draft can be published; this schedule is ${s.status}`, { details: [{ field: 'status', message: `is ${s.status}` }] });
        }
        // The whole roster against every hard rule, minimums included (a single manual edit is not
        // refused for those, rules.ts), with the data as it is now. The schedule row is locked
        // (loadSchedule … FOR UPDATE), and so is every manual edit's, so the roster checked is
        // the roster published.
        const { violations } = await checkScheduleRules(q, s);
        const rules = [...new Set(violations.map((v) => v.rule))];
        if (violations.length > 0 && query.acceptRuleViolations !== true) {
          const lifted = violations.filter((v) => v.liftedByGeneration).length;
          throw new AppError('rule_violation',
            `the roster breaks ${violations.length} hard rule${violations.length > 1 ? 's' : ''} (${rules.join(', ')})`
            + (lifted > 0 ? `, ${lifted} of them minimums its generation already lifted as out of reach` : '')
            + '; fix them, or publish with acceptRuleViolations=true',
            { details: violations });
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
        // The published schedule is now the plan of its days (it was counted there only if it was
        // the newest draft), and the archived ones stop counting on theirs.
        const from = archived.rows.reduce((m, a) => (a.period_start < m ? a.period_start : m), s.period_start);
        const to = archived.rows.reduce((m, a) => (a.period_end > m ? a.period_end : m), s.period_end);
        await q.query('SELECT rota_refresh_daily_stats($1, $2, $3)', [s.department_id, from, to]);
        const event = await recordEvent(q, {
          type: 'schedule.published', aggregate: { type: 'schedule', id: s.id }, departmentIds: [s.department_id],
          scheduleIds: [s.id, ...archivedIds],
          payload: { version: row.version, periodStart: s.period_start, periodEnd: s.period_end, archivedScheduleIds: archivedIds, ruleViolations: violations.length },
        });
        if (violations.length > 0) {
          deps.logger.warn({ scheduleId: s.id, violations: violations.length, rules, by: principal.employeeId },
            'schedule published with hard-rule violations accepted');
        }
        return { row, archivedIds, event, violations };
      });
      await deps.cache.invalidate(invalidationsFor(out.event));
      return { json: { ...toSchedule(out.row), archivedScheduleIds: out.archivedIds, ruleViolations: out.violations } };
    },
  }),
  route({
    method: 'get',
    path: '/v1/schedules/:id/rule-violations',
    summary: 'The hard rules the roster breaks now, as publishing would check them (minimums included); not cached',
    tag: 'schedules',
    scope: 'schedules:read',
    params: idsParams,
    responses: {
      200: {
        description: 'Every violation (empty when the roster keeps every rule), and how many generated shifts could not be checked (their employee or template is no longer active in the department)',
        schema: z.object({ scheduleId: z.string(), status: z.enum(['draft', 'published']), violations: z.array(ruleViolationSchema), unchecked: z.number().int() }),
      },
      404: { description: 'Not found (or not visible to an employee)' },
      409: { description: 'The schedule is archived' },
    },
    handler: async ({ res, params, principal, deps }) => {
      const s = authorizeSchedule(principal, await loadSchedule({ query: deps.db.read }, params.id), 'manage');
      if (s.status === 'archived') {
        throw new AppError('conflict', 'an archived schedule is not checked; it is no longer anybody\'s plan', { details: [{ field: 'status', message: 'is archived' }] });
      }
      const check = await checkScheduleRules({ query: deps.db.read }, s);
      // Depends on far more than the schedule (rules, time off, other rosters): never cached.
      res.setHeader('Cache-Control', 'private, no-store');
      return { json: { scheduleId: s.id, status: s.status, violations: check.violations, unchecked: check.unchecked } };
    },
  }),
  route({
    method: 'post',
    path: '/v1/schedules/:id/archive',
    scope: 'schedules:publish',
    summary: 'Archive a draft or published schedule: it stops counting in analytics and coverage, employees no longer see it, and its period may be generated again. Idempotent.',
    tag: 'schedules',
    params: idsParams,
    responses: {
      200: { description: 'The archived schedule (version + 1; unchanged when it already was archived)', schema: scheduleSchema },
      404: { description: 'Not found (or not visible to an employee)' },
    },
    handler: async ({ params, principal, deps }) => {
      const out = await deps.db.tx(async (q) => {
        const s = authorizeSchedule(principal, await loadSchedule(q, params.id, true), 'manage');
        const r = await q.query<ScheduleRow>(
          `WITH u AS (
             UPDATE schedules SET status = 'archived', version = version + 1 WHERE id = $1 AND status <> 'archived' RETURNING *
           ) SELECT ${SCHEDULE_COLUMNS} FROM u s JOIN departments d ON d.id = s.department_id`, [s.id]);
        const row = r.rows[0];
        if (row === undefined) {
          const same = await q.query<ScheduleRow>(`SELECT ${SCHEDULE_COLUMNS} FROM schedules s JOIN departments d ON d.id = s.department_id WHERE s.id = $1`, [s.id]);
          return { row: same.rows[0]!, event: undefined };
        }
        // Another live schedule (or none) is now the plan of these days.
        await q.query('SELECT rota_refresh_daily_stats($1, $2, $3)', [s.department_id, s.period_start, s.period_end]);
        const event = await recordEvent(q, {
          type: 'schedule.archived', aggregate: { type: 'schedule', id: s.id }, departmentIds: [s.department_id], scheduleIds: [s.id],
          payload: { version: row.version, previousStatus: s.status, periodStart: s.period_start, periodEnd: s.period_end },
        });
        return { row, event };
      });
      if (out.event) await deps.cache.invalidate(invalidationsFor(out.event));
      return { json: toSchedule(out.row) };
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
      503: { description: 'EXPORT_MAX_CONCURRENT exports are already streaming from this instance; retry after Retry-After seconds' },
    },
    handler: async ({ res, params, query, principal, deps }) => {
      const s = authorizeSchedule(principal, await loadSchedule({ query: deps.db.read }, params.id), 'read');
      const header: ExportHeader = { scheduleId: s.id, departmentName: s.department_name, periodStart: s.period_start, periodEnd: s.period_end, version: s.version };
      // Colleagues' email addresses are for managers; employees see names only.
      const email = principal.role === 'employee' ? 'NULL::text' : 'e.email';
      let running = runningExports.get(deps);
      if (running === undefined) runningExports.set(deps, (running = { count: 0 }));
      if (running.count >= deps.config.EXPORT_MAX_CONCURRENT) {
        throw new AppError('unavailable', `${running.count} exports are already running; try again shortly`, { retryAfterSeconds: 5 });
      }
      const gauge = exportsGauge(deps.registry);
      running.count++;
      gauge.inc();
      let broken = false;
      let client: PoolClient | undefined;
      try {
        // Reads go to the replica when there is one (the reader pool is the writer's otherwise).
        client = await deps.db.reader.connect();
        const sql = `SELECT sh.id, sh.date::text AS date, sh.starts_at, sh.ends_at, sh.employee_id,
                  e.first_name || ' ' || e.last_name AS employee_name, ${email} AS email,
                  t.code AS template_code, t.name AS template_name, sh.status, sh.source,
                  ceil(extract(epoch FROM sh.updated_at - sh.created_at))::int AS edited_seconds
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
        client?.release(broken);
        running.count--;
        gauge.dec();
      }
    },
  }),
];
