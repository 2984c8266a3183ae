import { z } from 'zod';
import { isoDate } from '../../http/validate.ts';

/** A timestamptz as `Date#toISOString` writes it: UTC, milliseconds (truncated, as a Date holds them), `Z`. */
const isoTimestamp = (col: string): string => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * An employee `e` joined with its department `d` as the JSON text of `employeeSchema`, built by
 * Postgres: row_to_json writes compact JSON as JSON.stringify does (same keys in the same order,
 * same escaping), so a 100-row page (~36 KB) is passed through as text instead of being parsed
 * into 1,400 fields and serialized again — about half the API's CPU per list miss. The one
 * representation of an employee: lists, single reads and write responses all use it.
 */
export const EMPLOYEE_JSON = `(SELECT row_to_json(j)::text FROM (SELECT e.id::text AS "id", e.email AS "email",
  e.first_name AS "firstName", e.last_name AS "lastName", e.role AS "role", e.department_id::text AS "departmentId",
  d.name AS "departmentName", e.contract_id::text AS "contractId", e.hire_date::text AS "hireDate",
  e.hourly_rate::text AS "hourlyRate", e.skills AS "skills", e.active AS "active",
  ${isoTimestamp('e.created_at')} AS "createdAt", ${isoTimestamp('e.updated_at')} AS "updatedAt") j)`;

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
