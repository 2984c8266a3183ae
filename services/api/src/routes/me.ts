import { z } from 'zod';
import { notFound } from '../http/errors.ts';
import { route } from '../http/route.ts';

export const meRoutes = [
  route({
    method: 'get',
    path: '/v1/me',
    summary: 'The calling principal',
    tag: 'auth',
    scope: null,
    responses: { 200: { description: 'Who you are', schema: z.object({ kind: z.string(), id: z.string(), role: z.string() }).loose() } },
    handler: async ({ principal, deps }) => {
      if (principal.kind === 'apiKey') {
        return { json: { kind: 'apiKey', id: principal.id, role: principal.role, departmentId: principal.departmentId, scopes: principal.scopes } };
      }
      const r = await deps.db.read<{ id: string; email: string; first_name: string; last_name: string; role: string; department_id: string; department_name: string }>(
        `SELECT e.id, e.email, e.first_name, e.last_name, e.role, e.department_id, d.name AS department_name
           FROM employees e JOIN departments d ON d.id = e.department_id WHERE e.id = $1`, [principal.id]);
      const me = r.rows[0];
      if (!me) throw notFound('employee');
      return { json: { kind: 'user', id: me.id, email: me.email, firstName: me.first_name, lastName: me.last_name, role: me.role, department: { id: me.department_id, name: me.department_name } } };
    },
  }),
];
