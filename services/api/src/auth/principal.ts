import type { Role } from '@rota/domain';

/** Who is calling: a logged-in employee or a machine client's API key. */
export type Principal = {
  kind: 'user' | 'apiKey';
  /** Employee id for users, key id for API keys. */
  id: string;
  role: Role;
  employeeId: string | null;
  departmentId: string | null;
  /** ltree path of the principal's department ("1.7.9"); managers see this subtree. */
  departmentPath: string | null;
  scopes: readonly string[];
};

/** Is a department (by its ltree path) inside what the principal may read or manage? */
export function coversDepartment(p: Principal, path: string, mode: 'read' | 'manage'): boolean {
  if (p.role === 'admin') return true;
  if (!p.departmentPath) return false;
  if (p.role === 'manager') return path === p.departmentPath || path.startsWith(`${p.departmentPath}.`);
  return mode === 'read' && path === p.departmentPath;
}
