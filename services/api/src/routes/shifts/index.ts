import { z } from 'zod';
import { invalidationsFor, recordEvent } from '@rota/events';
import { pgErrorInfo, type Queryable } from '@rota/db';
import type { Principal } from '../../auth/principal.ts';
import { AppError, notFound } from '../../http/errors.ts';
import { route } from '../../http/route.ts';
import { idParam, idsParams, isoDate } from '../../http/validate.ts';
import { lockEmployeeForRules, loadRuleContext, type RuleEmployee } from '../../rules/load.ts';
import { introducedViolations, type RuleShift } from '../../rules/rules.ts';
import { authorizeSchedule, loadSchedule, type ScheduleRef } from '../schedules/access.ts';

const status = z.enum(['scheduled', 'confirmed', 'cancelled']);
type ShiftStatus = z.infer<typeof status>;

const createBody = z.strictObject({
  scheduleId: idParam,
  employeeId: idParam.nullable().describe('null = an open shift'),
  templateId: idParam,
  date: isoDate,
  status: status.optional(),
});
const patchBody = z.strictObject({
  employeeId: idParam.nullable().optional(), templateId: idParam.optional(), date: isoDate.optional(), status: status.optional(),
}).refine((b) => Object.keys(b).length > 0, 'send at least one field');

const shiftSchema = z.object({
  id: z.string(), scheduleId: z.string(), departmentId: z.string(), employeeId: z.string().nullable(), employeeName: z.string().nullable(),
  templateId: z.string(), templateCode: z.string(), date: z.string(), startsAt: z.string(), endsAt: z.string(), openSlot: z.number(),
  status, source: z.enum(['generated', 'manual']), createdAt: z.string(), updatedAt: z.string(),
});

type ShiftRow = {
  id: string; schedule_id: string; department_id: string; employee_id: string | null; employee_name: string | null;
  template_id: string; code: string; date: string; starts_at: Date; ends_at: Date; open_slot: number;
  status: ShiftStatus; source: 'generated' | 'manual'; created_at: Date; updated_at: Date;
};

const toShift = (r: ShiftRow): z.infer<typeof shiftSchema> => ({
  id: r.id, scheduleId: r.schedule_id, departmentId: r.department_id, employeeId: r.employee_id, employeeName: r.employee_name,
  templateId: r.template_id, templateCode: r.code, date: r.date, startsAt: r.starts_at.toISOString(), endsAt: r.ends_at.toISOString(),
  openSlot: r.open_slot, status: r.status, source: r.source, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
});

async function selectShift(q: Queryable, id: string, lock = false): Promise<ShiftRow | undefined> {
  const r = await q.query<ShiftRow>(
    `SELECT sh.id, sh.schedule_id, sh.department_id, sh.employee_id, e.first_name || ' ' || e.last_name AS employee_name,
            sh.template_id, t.code, sh.date::text AS date, sh.starts_at, sh.ends_at, sh.open_slot, sh.status, sh.source,
            sh.created_at, sh.updated_at
       FROM shifts sh JOIN shift_templates t ON t.id = sh.template_id LEFT JOIN employees e ON e.id = sh.employee_id
      WHERE sh.id = $1 ${lock ? 'FOR UPDATE OF sh' : ''}`, [id]);
  return r.rows[0];
}

const invalid = (field: string, message: string): AppError => new AppError('validation_failed', `${field}: ${message}`, { details: [{ field, message }] });

/** Loads and authorizes the schedule for a manual edit (locked: edits of one schedule are serialised). */
async function editableSchedule(q: Queryable, p: Principal, scheduleId: string): Promise<ScheduleRef> {
  const s = authorizeSchedule(p, await loadSchedule(q, scheduleId, true), 'manage');
  if (s.status === 'archived') throw new AppError('conflict', 'an archived schedule cannot be edited', { details: [{ field: 'scheduleId', message: 'schedule is archived' }] });
  return s;
}

/**
 * Checks the parts of a shift that must fit its schedule: date in period, template of the
 * department (active), an active employee of the department. A PATCH that keeps the employee or
 * the template skips their activity/membership checks, so a shift of someone who has since moved
 * or left, or of a retired template, can still be confirmed or cancelled.
 */
async function checkShiftInputs(
  q: Queryable, s: ScheduleRef, v: { templateId: string; date: string; employeeId: string | null }, prefix: string,
  changed: { employee: boolean; template: boolean } = { employee: true, template: true },
): Promise<RuleEmployee | undefined> {
  if (v.date < s.period_start || v.date > s.period_end) throw invalid(`${prefix}date`, `must lie in the schedule period ${s.period_start}..${s.period_end}`);
  const t = await q.query<{ active: boolean }>('SELECT active FROM shift_templates WHERE id = $1 AND department_id = $2', [v.templateId, s.department_id]);
  if (!t.rows[0]) throw invalid(`${prefix}templateId`, `is not a template of department ${s.department_id}`);
  if (!t.rows[0].active && changed.template) throw invalid(`${prefix}templateId`, 'the template is deactivated');
  if (v.employeeId === null) return undefined;
  const e = await lockEmployeeForRules(q, v.employeeId);
  if (!e) throw invalid(`${prefix}employeeId`, 'employee does not exist');
  if (!changed.employee) return e;
  if (!e.active) throw invalid(`${prefix}employeeId`, 'employee is deactivated');
  if (e.department_id !== s.department_id) throw invalid(`${prefix}employeeId`, `employee does not belong to department ${s.department_id}`);
  return e;
}

/**
 * Refuses the edit (409 rule_violation, every broken rule listed) when the written shift makes
 * the employee break a hard rule that was not broken before. `old` is the shift's previous
 * version when the same employee held it.
 */
async function enforceRules(q: Queryable, e: RuleEmployee, s: ScheduleRef, writtenId: string, old: RuleShift | undefined): Promise<void> {
  const { ctx, shifts } = await loadRuleContext(q, e, s);
  const before = [...shifts.filter((x) => x.id !== writtenId), ...(old ? [old] : [])];
  const found = introducedViolations(ctx, before, shifts);
  if (found.length) {
    throw new AppError('rule_violation', `the shift breaks ${found.length} hard rule${found.length > 1 ? 's' : ''}: ${[...new Set(found.map((v) => v.rule))].join(', ')}`, {
      details: found.map((v) => ({ rule: v.rule, message: v.message, employeeId: e.id, ...(v.date ? { date: v.date } : {}), ...(v.shiftIds ? { shiftIds: v.shiftIds } : {}) })),
    });
  }
}

/** starts_at / ends_at from the template's local times in the department's zone; end ≤ start ends the next day. */
const TIMES_SQL = (date: string, tz: string): string =>
  `(${date}::date + t.start_time) AT TIME ZONE ${tz}, (${date}::date + CASE WHEN t.end_time <= t.start_time THEN 1 ELSE 0 END + t.end_time) AT TIME ZONE ${tz}`;

/** Next free open-slot number for an open shift of (schedule, date, template). */
const OPEN_SLOT_SQL = (schedule: string, date: string, template: string, except: string): string =>
  `(SELECT coalesce(max(o.open_slot), 0) + 1 FROM shifts o WHERE o.schedule_id = ${schedule} AND o.date = ${date}::date
     AND o.template_id = ${template} AND o.employee_id IS NULL AND o.id IS DISTINCT FROM ${except})`;

function naturalKeyConflict(e: unknown): AppError | undefined {
  const info = pgErrorInfo(e);
  if (info?.code === '23505' && info.constraint?.startsWith('shifts')) {
    return new AppError('conflict', 'the employee already has this shift (same schedule, date and template; possibly cancelled)', { details: [{ field: 'templateId', message: 'duplicate shift' }] });
  }
  return undefined;
}

async function afterWrite(q: Queryable, s: ScheduleRef, shiftId: string, dates: string[], employeeIds: (string | null)[], action: string) {
  for (const d of [...new Set(dates)]) await q.query('SELECT rota_refresh_daily_stats($1, $2, $2)', [s.department_id, d]);
  return recordEvent(q, {
    type: 'shifts.changed', aggregate: { type: 'shift', id: shiftId }, departmentIds: [s.department_id], scheduleIds: [s.id],
    employeeIds: employeeIds.filter((x): x is string => x !== null), payload: { action, shiftId, dates: [...new Set(dates)], source: 'manual' },
  });
}

export const shiftRoutes = [
  route({
    method: 'post',
    path: '/v1/shifts',
    summary: 'Add a shift by hand (checked against the hard rules)',
    tag: 'shifts',
    scope: 'schedules:write',
    body: createBody,
    responses: {
      201: { description: 'Created', schema: shiftSchema },
      409: { description: 'rule_violation with details[{ rule, message }], or an archived schedule / duplicate shift' },
    },
    handler: async ({ body, principal, deps }) => {
      const out = await deps.db.tx(async (q) => {
        const s = await editableSchedule(q, principal, body.scheduleId);
        const emp = await checkShiftInputs(q, s, body, 'body.');
        await q.query('SELECT rota_ensure_shift_partitions($1, $1)', [body.date]);
        const st = body.status ?? 'scheduled';
        let id: string;
        try {
          const r = await q.query<{ id: string }>(
            `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at, status, source)
             SELECT $1, $2, $3::bigint, t.id, $5::date,
                    CASE WHEN $3::bigint IS NULL THEN ${OPEN_SLOT_SQL('$1', '$5', 't.id', 'NULL::bigint')} ELSE 0 END,
                    ${TIMES_SQL('$5', '$6')}, $7, 'manual'
               FROM shift_templates t WHERE t.id = $4
             RETURNING id`,
            [s.id, s.department_id, body.employeeId, body.templateId, body.date, s.timezone, st]);
          id = r.rows[0]!.id;
        } catch (e) {
          throw naturalKeyConflict(e) ?? e;
        }
        if (emp && st !== 'cancelled') await enforceRules(q, emp, s, id, undefined);
        const event = await afterWrite(q, s, id, [body.date], [body.employeeId], 'created');
        return { row: (await selectShift(q, id))!, event };
      });
      await deps.cache.invalidate(invalidationsFor(out.event));
      return { status: 201, json: toShift(out.row) };
    },
  }),
  route({
    method: 'patch',
    path: '/v1/shifts/:id',
    summary: 'Change the employee, template, date or status of a shift (checked against the hard rules)',
    tag: 'shifts',
    scope: 'schedules:write',
    params: idsParams,
    body: patchBody,
    responses: { 200: { description: 'Updated', schema: shiftSchema }, 409: { description: 'rule_violation, archived schedule or duplicate shift' } },
    handler: async ({ params, body, principal, deps }) => {
      const out = await deps.db.tx(async (q) => {
        const first = await selectShift(q, params.id);
        if (!first) throw notFound('shift');
        const s = await editableSchedule(q, principal, first.schedule_id);
        const cur = (await selectShift(q, params.id, true))!;
        const next = {
          employeeId: body.employeeId !== undefined ? body.employeeId : cur.employee_id,
          templateId: body.templateId ?? cur.template_id,
          date: body.date ?? cur.date,
          status: body.status ?? cur.status,
        };
        const emp = await checkShiftInputs(q, s, next, 'body.', { employee: next.employeeId !== cur.employee_id, template: next.templateId !== cur.template_id });
        if (next.date !== cur.date) await q.query('SELECT rota_ensure_shift_partitions($1, $1)', [next.date]);
        // An open shift that stays open in the same slot keeps its number; otherwise take the next free one.
        const keepsSlot = cur.employee_id === null && next.employeeId === null && next.date === cur.date && next.templateId === cur.template_id;
        try {
          await q.query(
            `UPDATE shifts sh SET employee_id = $3::bigint, template_id = t.id, date = $5::date,
                    open_slot = CASE WHEN $3::bigint IS NOT NULL THEN 0 WHEN $8 THEN sh.open_slot ELSE ${OPEN_SLOT_SQL('sh.schedule_id', '$5', 't.id', 'sh.id')} END,
                    (starts_at, ends_at) = (SELECT ${TIMES_SQL('$5', '$6')}),
                    status = $7, source = 'manual', updated_at = now()
               FROM shift_templates t
              WHERE sh.id = $1 AND sh.date = $2::date AND t.id = $4`,
            [cur.id, cur.date, next.employeeId, next.templateId, next.date, s.timezone, next.status, keepsSlot]);
        } catch (e) {
          throw naturalKeyConflict(e) ?? e;
        }
        if (emp && next.status !== 'cancelled') {
          const old = cur.employee_id === emp.id && cur.status !== 'cancelled'
            ? { id: cur.id, date: cur.date, templateId: cur.template_id, startsAt: cur.starts_at, endsAt: cur.ends_at }
            : undefined;
          await enforceRules(q, emp, s, cur.id, old);
        }
        const event = await afterWrite(q, s, cur.id, [cur.date, next.date], [cur.employee_id, next.employeeId], 'updated');
        return { row: (await selectShift(q, cur.id))!, event };
      });
      await deps.cache.invalidate(invalidationsFor(out.event));
      return { json: toShift(out.row) };
    },
  }),
  route({
    method: 'delete',
    path: '/v1/shifts/:id',
    summary: 'Remove a shift (no rule can be broken by removing one: minimum rules are not checked for edits)',
    tag: 'shifts',
    scope: 'schedules:write',
    params: idsParams,
    responses: { 204: { description: 'Deleted' }, 409: { description: 'Archived schedule' } },
    handler: async ({ params, principal, deps }) => {
      const event = await deps.db.tx(async (q) => {
        const first = await selectShift(q, params.id);
        if (!first) throw notFound('shift');
        const s = await editableSchedule(q, principal, first.schedule_id);
        const r = await q.query<{ date: string; employee_id: string | null }>(
          'DELETE FROM shifts WHERE id = $1 AND schedule_id = $2 RETURNING date::text AS date, employee_id', [params.id, s.id]);
        const gone = r.rows[0];
        if (!gone) throw notFound('shift');
        return afterWrite(q, s, params.id, [gone.date], [gone.employee_id], 'deleted');
      });
      await deps.cache.invalidate(invalidationsFor(event));
      return { status: 204 };
    },
  }),
];
