import { randomUUID } from 'node:crypto';
import type { Queryable } from '@rota/db';
import type { ChangeEvent, EventType } from './envelope.ts';
import { envelopeSchema } from './envelope.ts';

export type NewEvent = {
  type: EventType;
  aggregate: { type: string; id: string };
  /** Department ids touched; recordEvent looks up their ancestors (unless given). */
  departmentIds: readonly string[];
  /** Ancestors, when the caller already knows them (e.g. of a department that is being deleted). */
  ancestorDepartmentIds?: readonly string[];
  employeeIds?: readonly string[];
  scheduleIds?: readonly string[];
  payload?: Record<string, unknown>;
};

/**
 * The strict ancestors of the given departments, from their ltree paths, in one query.
 * A change in department 9 (path 1.7.9) also changes what "department 7 and below" shows.
 */
export async function ancestorsOf(q: Queryable, departmentIds: readonly string[]): Promise<string[]> {
  if (departmentIds.length === 0) return [];
  const r = await q.query<{ id: string }>(
    `SELECT DISTINCT unnest(string_to_array(path::text, '.')) AS id FROM departments WHERE id = ANY($1::bigint[])`,
    [departmentIds],
  );
  const direct = new Set(departmentIds);
  return [...new Set(r.rows.map((x) => x.id))].filter((x) => !direct.has(x)).sort((a, b) => Number(a) - Number(b));
}

/**
 * Inserts the change event into the outbox. Call it with the transaction's client so the event
 * commits (or rolls back) together with the change it describes.
 */
export async function recordEvent(q: Queryable, e: NewEvent): Promise<ChangeEvent> {
  const event: ChangeEvent = envelopeSchema.parse({
    id: randomUUID(),
    type: e.type,
    occurredAt: new Date().toISOString(),
    aggregate: e.aggregate,
    scopes: {
      departmentIds: [...new Set(e.departmentIds)],
      ancestorDepartmentIds: e.ancestorDepartmentIds ? [...e.ancestorDepartmentIds] : await ancestorsOf(q, e.departmentIds),
      employeeIds: [...new Set(e.employeeIds ?? [])],
      scheduleIds: [...new Set(e.scheduleIds ?? [])],
    },
    payload: e.payload ?? {},
  });
  // Kafka key: the primary department keeps per-department order; 'global' when none.
  const key = e.departmentIds[0] ?? 'global';
  await q.query(
    'INSERT INTO outbox (event_id, type, partition_key, envelope) VALUES ($1, $2, $3, $4)',
    [event.id, event.type, key, JSON.stringify(event)],
  );
  return event;
}
