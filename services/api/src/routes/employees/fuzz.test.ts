import fc from 'fast-check';
import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

type Ctx = { emp: string; dept: string; timeOff: string; template: string };
/** Each endpoint with a valid request; the property mutates a few of its fields. */
type Endpoint = { method: string; path: string; query?: (c: Ctx) => Record<string, string>; body?: (c: Ctx) => Record<string, unknown> };
const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/v1/employees', query: (c) => ({ departmentId: c.dept, includeSubdepartments: 'true', role: 'employee', skill: 'icu', active: 'true', q: 'ab', sort: 'hireDate', order: 'desc', limit: '5' }) },
  { method: 'GET', path: '/v1/employees/:id' },
  { method: 'POST', path: '/v1/employees', body: (c) => ({ email: `f${Math.random()}@example.com`, firstName: 'A', lastName: 'B', departmentId: c.dept, role: 'employee', hireDate: '2024-01-01', hourlyRate: '12.50', skills: ['icu'], active: true }) },
  { method: 'PATCH', path: '/v1/employees/:id', body: (c) => ({ firstName: 'A', departmentId: c.dept, hourlyRate: 10, skills: ['x'], reason: 'r' }) },
  { method: 'GET', path: '/v1/employees/:id/department-history', query: () => ({ limit: '2' }) },
  { method: 'GET', path: '/v1/employees/:id/shifts', query: () => ({ from: '2026-01-01', to: '2026-02-01' }) },
  { method: 'PUT', path: '/v1/employees/:id/work-rules', body: (c) => ({ maxMinutesPerPeriod: 5000, minMinutesPerPeriod: 100, minConsecutiveDays: 1, maxConsecutiveDays: 5, shiftLimits: [{ templateId: c.template, maxShifts: 2 }] }) },
  { method: 'POST', path: '/v1/employees/:id/availability', body: () => ({ weekday: 2, startTime: '08:00', endTime: '12:00' }) },
  { method: 'GET', path: '/v1/employees/:id/availability', query: () => ({ limit: '3' }) },
  { method: 'GET', path: '/v1/employees/:id/time-off', query: () => ({ status: 'requested', from: '2026-01-01', to: '2026-12-31', limit: '3' }) },
  { method: 'POST', path: '/v1/employees/:id/time-off', body: () => ({ startDate: '2026-03-01', endDate: '2026-03-05', reason: 'x' }) },
  { method: 'PATCH', path: '/v1/employees/:id/time-off/:timeOff', body: () => ({ status: 'approved', startDate: '2026-01-01', endDate: '2026-01-03', reason: 'y' }) },
  { method: 'GET', path: '/v1/employees/:id/work-rules' },
  { method: 'POST', path: '/v1/employees/:id/shift-requests', body: (c) => ({ date: '2026-04-01', kind: 'on', templateId: c.template, weight: 3 }) },
  { method: 'GET', path: '/v1/employees/:id/shift-requests', query: () => ({ from: '2026-01-01', limit: '2' }) },
  { method: 'DELETE', path: '/v1/employees/:id/shift-requests/:timeOff' },
];

const nasty = fc.constantFrom('', ' ', '0', '-1', '1.5', 'true', 'null', '\u0000', 'a\u0000b', '%', '_', '\\', '9999999999999999999', '99999999999999999999',
  '2026-02-30', '0000-01-01', '0001-01-01', '9999-12-31', '24:00', '23:59', 'x'.repeat(600), '{}', '[]', 'rk_x', 'é漢🙂', 'a@b', 'A@EXAMPLE.COM');
const scalar = fc.oneof(nasty, fc.string({ maxLength: 40 }), fc.integer().map(String));
const value = fc.oneof(nasty, fc.jsonValue({ maxDepth: 2 }), fc.integer(), fc.constantFrom(-1, 0, 1e20, 2 ** 31, 1.5, null, true), fc.array(nasty, { maxLength: 3 }));

describe('employee endpoints under random input', () => {
  test('valid requests with fields replaced by hostile values never answer 5xx', async ({ api }) => {
    const { token, departmentId } = await api.login('admin');
    const emp = await api.makeEmployee({ departmentId });
    const template = await api.makeTemplate({ departmentId });
    const timeOff = (await api.tdb.db.query<{ id: string }>(`INSERT INTO time_off (employee_id, start_date, end_date) VALUES ($1, '2026-01-01', '2026-01-02') RETURNING id`, [emp])).rows[0]!.id;
    const ctx: Ctx = { emp, dept: departmentId, timeOff, template };
    const statuses = new Map<number, number>();
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...ENDPOINTS),
      fc.oneof({ weight: 4, arbitrary: fc.constant(emp) }, { weight: 1, arbitrary: scalar }),
      fc.array(fc.tuple(fc.oneof(fc.nat(20), fc.string({ maxLength: 6 })), value), { maxLength: 3 }),
      async (ep, id, mutations) => {
        const query = ep.query?.(ctx) ?? {};
        const body = ep.body?.(ctx);
        const target: Record<string, unknown> = body ?? query;
        const keys = Object.keys(target);
        for (const [k, v] of mutations) {
          const key = typeof k === 'number' ? (keys[k % Math.max(keys.length, 1)] ?? 'extra') : k;
          if (body) body[key] = v;
          else query[key] = typeof v === 'string' ? v : JSON.stringify(v);
        }
        const qs = new URLSearchParams(query).toString();
        const path = ep.path.replace(':id', encodeURIComponent(id)).replace(':timeOff', timeOff) + (qs ? `?${qs}` : '');
        const r = await api.request(ep.method, path, { token, ...(body ? { body } : {}) });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        expect(r.status, `${ep.method} ${path} ${JSON.stringify(body)} → ${r.text}`).toBeLessThan(500);
      },
    ), { numRuns: 500, seed: Number(process.env['FUZZ_SEED'] ?? 4242) });
    // The mutations must not only ever hit validation: a good share reaches the database.
    expect([...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0)).toBeGreaterThan(50);
  });
});
