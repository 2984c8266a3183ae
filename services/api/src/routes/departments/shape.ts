import { z } from 'zod';

export type DepartmentRow = {
  id: string; name: string; parent_id: string | null; path: string; timezone: string; active: boolean;
  created_at: Date; updated_at: Date;
};

/** Columns selected for a department, aliased `d`. */
export const DEPARTMENT_COLUMNS = 'd.id, d.name, d.parent_id, d.path::text AS path, d.timezone, d.active, d.created_at, d.updated_at';

export const departmentSchema = z.object({
  id: z.string(), name: z.string(), parentId: z.string().nullable(), path: z.array(z.string()),
  timezone: z.string(), active: z.boolean(), createdAt: z.string(), updatedAt: z.string(),
});

export function toDepartment(r: DepartmentRow): z.infer<typeof departmentSchema> {
  return {
    id: r.id, name: r.name, parentId: r.parent_id, path: r.path.split('.'), timezone: r.timezone, active: r.active,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}
