import { z } from 'zod';

export type ScheduleRow = {
  id: string; department_id: string; department_name: string; period_start: string; period_end: string;
  status: 'draft' | 'published' | 'archived'; version: number; score: unknown; generation_run_id: string | null;
  published_at: Date | null; published_by: string | null; created_at: Date; updated_at: Date;
};

/** Columns of a schedule `s` joined with its department `d`. */
export const SCHEDULE_COLUMNS = `s.id, s.department_id, d.name AS department_name, s.period_start::text AS period_start,
  s.period_end::text AS period_end, s.status, s.version, s.score, s.generation_run_id, s.published_at, s.published_by,
  s.created_at, s.updated_at`;

export const scheduleSchema = z.object({
  id: z.string(), departmentId: z.string(), departmentName: z.string(), periodStart: z.string(), periodEnd: z.string(),
  status: z.enum(['draft', 'published', 'archived']), version: z.number(), score: z.unknown().nullable(),
  generationRunId: z.string().nullable(), publishedAt: z.string().nullable(), publishedBy: z.string().nullable(),
  createdAt: z.string(), updatedAt: z.string(),
});
export type Schedule = z.infer<typeof scheduleSchema>;

export function toSchedule(r: ScheduleRow): Schedule {
  return {
    id: r.id, departmentId: r.department_id, departmentName: r.department_name, periodStart: r.period_start, periodEnd: r.period_end,
    status: r.status, version: r.version, score: r.score ?? null, generationRunId: r.generation_run_id,
    publishedAt: r.published_at?.toISOString() ?? null, publishedBy: r.published_by,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}

export const coverageSchema = z.object({
  demandSlots: z.number(), coveredSlots: z.number(), understaffedSlots: z.number(),
  coveragePercent: z.number().nullable().describe('covered / demand × 100; null without demand'),
  scheduledHours: z.number(), labourCost: z.string(), overtimeHours: z.number(), shiftCount: z.number(), openShifts: z.number(),
});

export type CoverageRow = {
  demand_slots: string; covered_slots: string; scheduled_minutes: string; labour_cost: string; overtime_minutes: string;
  shift_count: string; open_shifts: string;
};

const hours = (minutes: number): number => Math.round((minutes / 60) * 100) / 100;

export function toCoverage(r: CoverageRow): z.infer<typeof coverageSchema> {
  const demand = Number(r.demand_slots);
  const covered = Number(r.covered_slots);
  return {
    demandSlots: demand, coveredSlots: covered, understaffedSlots: demand - covered,
    coveragePercent: demand > 0 ? Math.round((covered / demand) * 10_000) / 100 : null,
    scheduledHours: hours(Number(r.scheduled_minutes)), labourCost: r.labour_cost, overtimeHours: hours(Number(r.overtime_minutes)),
    shiftCount: Number(r.shift_count), openShifts: Number(r.open_shifts),
  };
}

/** Aggregate of department_daily_stats rows `ds` (coalesced, exact money as text). */
export const COVERAGE_AGGREGATE = `coalesce(sum(ds.demand_slots), 0)::text AS demand_slots, coalesce(sum(ds.covered_slots), 0)::text AS covered_slots,
  coalesce(sum(ds.scheduled_minutes), 0)::text AS scheduled_minutes, coalesce(sum(ds.labour_cost), 0)::numeric(14,2)::text AS labour_cost,
  coalesce(sum(ds.overtime_minutes), 0)::text AS overtime_minutes, coalesce(sum(ds.shift_count), 0)::text AS shift_count,
  coalesce(sum(ds.open_shifts), 0)::text AS open_shifts`;
