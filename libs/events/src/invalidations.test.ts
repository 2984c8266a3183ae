import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NAMESPACES } from '@rota/cache';
import { EVENT_TYPES, parseEvent, type ChangeEvent, type EventScopes } from './envelope.ts';
import { invalidationsFor, invalidationsForUnknownType } from './invalidations.ts';

const scopeSets: EventScopes[] = [
  { departmentIds: ['7'], ancestorDepartmentIds: ['1', '3'], employeeIds: ['42'], scheduleIds: [] },
  { departmentIds: ['7', '9'], ancestorDepartmentIds: ['1'], employeeIds: ['42', '43'], scheduleIds: ['5', '6'] },
  { departmentIds: [], ancestorDepartmentIds: [], employeeIds: [], scheduleIds: ['5'] },
  { departmentIds: [], ancestorDepartmentIds: [], employeeIds: [], scheduleIds: [] },
];

function envelope(type: string, scopes: EventScopes = scopeSets[0]!): Record<string, unknown> {
  return { id: randomUUID(), type, occurredAt: new Date().toISOString(), aggregate: { type: 'employee', id: '42' }, scopes, payload: {} };
}

describe('parseEvent', () => {
  it('parses a known event', () => {
    const r = parseEvent(JSON.stringify(envelope('employee.updated')));
    expect(r.ok).toBe(true);
  });

  it('names a well-formed type it does not know and keeps the rest of the event', () => {
    const r = parseEvent(Buffer.from(JSON.stringify(envelope('employee.promoted', scopeSets[1]))));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('unknown event type employee.promoted');
    expect(r.unknownType?.scopes).toEqual(scopeSets[1]);
  });

  it.each([
    ['an unknown type with an invalid id', { ...envelope('employee.promoted'), id: 'not-a-uuid' }],
    ['an unknown type with an unknown field', { ...envelope('employee.promoted'), extra: 1 }],
    ['an unknown type with invalid scopes', { ...envelope('employee.promoted'), scopes: { departmentIds: ['x'], employeeIds: [], scheduleIds: [] } }],
    ['a type that is not a dotted name', envelope('DROP TABLE')],
    ['a type of one word', envelope('employee')],
    ['an empty type', envelope('')],
    ['a type that is not a string', envelope(7 as unknown as string)],
  ])('treats %s as poison', (_name, value) => {
    const r = parseEvent(JSON.stringify(value));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.unknownType).toBeUndefined();
    expect(r.reason).toMatch(/^invalid envelope/);
  });
});

describe('invalidationsForUnknownType', () => {
  const pairs = (targets: { ns: string; scopes: readonly string[] }[]): Set<string> =>
    new Set(targets.flatMap((t) => t.scopes.map((s) => `${t.ns} ${s}`)));

  it.each(scopeSets.map((s, i) => [i, s] as const))('covers what every known type invalidates over the same scopes (set %i)', (_i, scopes) => {
    const fallback = pairs(invalidationsForUnknownType(scopes));
    for (const type of EVENT_TYPES) {
      const event = parseEvent(JSON.stringify(envelope(type, scopes)));
      expect(event.ok).toBe(true);
      const missing = [...pairs(invalidationsFor((event as { event: ChangeEvent }).event))].filter((p) => !fallback.has(p));
      expect(missing, type).toEqual([]);
    }
  });

  it('touches every namespace, each scope once', () => {
    const targets = invalidationsForUnknownType(scopeSets[1]!);
    expect(targets.map((t) => t.ns).sort()).toEqual([...NAMESPACES].sort());
    for (const t of targets) expect(new Set(t.scopes).size).toBe(t.scopes.length);
    expect(targets[0]!.scopes).toEqual(expect.arrayContaining(['emp:43', 'sched:6', 'tree:1', 'dept:9', 'all']));
  });
});

describe('invalidationsFor', () => {
  const event = (payload: Record<string, unknown>): ChangeEvent => {
    const r = parseEvent(JSON.stringify({ ...envelope('department.updated'), aggregate: { type: 'department', id: '7' }, payload }));
    if (!r.ok) throw new Error(r.reason);
    return r.event;
  };

  it('a department move empties every namespace: reads below it declared scopes the event does not name', () => {
    expect(invalidationsFor(event({ changed: ['parentId'], moved: true }))).toEqual(NAMESPACES.map((ns) => ({ ns, scopes: ['*'] })));
  });

  it('a rename bumps the hierarchy and the area, not whole namespaces', () => {
    const targets = invalidationsFor(event({ changed: ['name'], moved: false }));
    expect(targets.find((t) => t.ns === 'departments')?.scopes).toEqual(['all']);
    expect(targets.flatMap((t) => t.scopes)).not.toContain('*');
    expect(targets.find((t) => t.ns === 'schedules')?.scopes).toEqual(expect.arrayContaining(['dept:7', 'tree:7', 'tree:1', 'tree:3', 'all']));
  });
});
