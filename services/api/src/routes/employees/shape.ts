import { z } from 'zod';
import { isoDate } from '../../http/validate.ts';

/**
 * An employee as the API sends it. Postgres writes this JSON and keeps it on the row
 * (employees.api_json, built by rota_employee_json in libs/db/migrations/0006_employee_api_json.sql
 * whenever the row or its department's name changes): lists, single reads and write responses pass
 * it through as text. Changing a field here means a migration that changes that function too;
 * list.test.ts fails when the two disagree.
 */
export const employeeSchema = z.object({
  id: z.string(), email: z.string(), firstName: z.string(), lastName: z.string(),
  role: z.enum(['admin', 'manager', 'employee']), departmentId: z.string(), departmentName: z.string(),
  contractId: z.string().nullable(), hireDate: z.string(), hourlyRate: z.string().describe('exact decimal, e.g. "21.50"'),
  skills: z.array(z.string()), active: z.boolean(), createdAt: z.string(), updatedAt: z.string(),
});
export type Employee = z.infer<typeof employeeSchema>;

/** Postgres text cannot hold NUL: refuse it as a 400 instead of letting the insert fail. */
export const noNul = (s: string): boolean => !s.includes('\u0000');
export const NO_NUL = 'must not contain NUL characters';

/** An ISO date Postgres accepts (there is no year 0). */
export const calendarDate = isoDate.refine((d) => d >= '0001-01-01', 'must be in year 1 or later');

export const pageSchema = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });
