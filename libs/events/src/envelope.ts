import { z } from 'zod';

/** Every change event type. Consumers switch on these exhaustively; add, never rename. */
export const EVENT_TYPES = [
  'department.created', 'department.updated', 'department.deleted',
  'employee.created', 'employee.updated', 'employee.deactivated', 'employee.department_changed',
  'employee.rules_changed', 'employee.availability_changed', 'employee.time_off_changed',
  'employee.requests_changed', 'employee.reactivated',
  'shift_template.created', 'shift_template.updated', 'shift_template.deleted',
  'demand.changed',
  'schedule.generated', 'schedule.published', 'schedule.archived',
  'shifts.changed',
  'generation.updated',
  'api_key.created', 'api_key.revoked',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const id = z.string().regex(/^\d{1,19}$/, 'must be a bigint id as a string');

export const scopesSchema = z.strictObject({
  /** Departments the change happened in. */
  departmentIds: z.array(id),
  /** Their ancestors: "department 7 and below" reads change when department 9 (7.9) does. */
  ancestorDepartmentIds: z.array(id).default([]),
  employeeIds: z.array(id),
  scheduleIds: z.array(id),
});
export type EventScopes = z.infer<typeof scopesSchema>;

export const envelopeSchema = z.strictObject({
  id: z.uuid(),
  type: z.enum(EVENT_TYPES),
  occurredAt: z.iso.datetime({ offset: true }),
  aggregate: z.strictObject({ type: z.string().min(1), id }),
  scopes: scopesSchema,
  payload: z.record(z.string(), z.unknown()),
});
export type ChangeEvent = z.infer<typeof envelopeSchema>;

/**
 * The envelope with a type this build does not know: a newer writer's, during a rolling deploy.
 * Its scopes are valid, so a consumer can still act on them (see invalidationsForUnknownType).
 */
const unknownTypeSchema = envelopeSchema.extend({
  type: z.string().max(100).regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be a dotted lower-case event type'),
});
export type UnknownTypeEvent = z.infer<typeof unknownTypeSchema>;

/**
 * Not a ChangeEvent of this build: `reason` says why; `unknownType` is set when the only problem
 * is a well-formed type this build does not know (everything else, scopes included, is valid).
 */
export type ParseResult = { ok: true; event: ChangeEvent } | { ok: false; reason: string; unknownType?: UnknownTypeEvent };

/** Parses a Kafka message value; never throws (poison messages become a reason for the DLQ). */
export function parseEvent(value: Buffer | string | null | undefined): ParseResult {
  if (value === null || value === undefined) return { ok: false, reason: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const r = envelopeSchema.safeParse(json);
  if (r.success) return { ok: true, event: r.data };
  const reason = `invalid envelope: ${z.prettifyError(r.error)}`;
  const u = unknownTypeSchema.safeParse(json);
  return u.success ? { ok: false, reason: `unknown event type ${u.data.type}`, unknownType: u.data } : { ok: false, reason };
}
