import { z } from 'zod';

export type TemplateRow = {
  id: string; department_id: string; code: string; name: string; start_time: string; end_time: string;
  duration_minutes: number; required_skills: string[]; pay_multiplier: string; active: boolean;
  cannot_be_followed_by: string[]; created_at: Date; updated_at: Date;
};

/** Columns of a template `t`, with its forbidden successors aggregated (no second query). */
export const TEMPLATE_COLUMNS = `t.id, t.department_id, t.code, t.name, to_char(t.start_time, 'HH24:MI') AS start_time,
  to_char(t.end_time, 'HH24:MI') AS end_time, t.duration_minutes, t.required_skills, t.pay_multiplier::text AS pay_multiplier,
  t.active, t.created_at, t.updated_at,
  ARRAY(SELECT ts.to_template_id::text FROM template_successions ts WHERE ts.from_template_id = t.id ORDER BY ts.to_template_id) AS cannot_be_followed_by`;

export const templateSchema = z.object({
  id: z.string(), departmentId: z.string(), code: z.string(), name: z.string(),
  startTime: z.string().describe('local time HH:MM'), endTime: z.string().describe('local time HH:MM; ≤ startTime crosses midnight'),
  durationMinutes: z.number(), crossesMidnight: z.boolean(), requiredSkills: z.array(z.string()),
  payMultiplier: z.number(), active: z.boolean(), cannotBeFollowedBy: z.array(z.string()),
  createdAt: z.string(), updatedAt: z.string(),
});
export type Template = z.infer<typeof templateSchema>;

export function toTemplate(r: TemplateRow): Template {
  return {
    id: r.id, departmentId: r.department_id, code: r.code, name: r.name, startTime: r.start_time, endTime: r.end_time,
    durationMinutes: r.duration_minutes, crossesMidnight: r.end_time <= r.start_time, requiredSkills: r.required_skills,
    payMultiplier: Number(r.pay_multiplier), active: r.active, cannotBeFollowedBy: r.cannot_be_followed_by,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}
