-- The analytics overview and daily figures sum these columns over (department, date) ranges of a
-- subtree: ~1,200 rows for a region's four weeks, one heap page each. With the columns in the
-- primary key's index, the sums are read from the index alone (index-only scan): Postgres CPU of
-- an overview miss 915 → 560 µs, its p99 at 1,000 req/s 52 → 26–30 ms (docs/performance.md).
-- The rows are only ever deleted and inserted (rota_refresh_daily_stats), never updated in place,
-- so no HOT update is lost. The swap locks the table while the index builds (about a second per
-- million rows); on a large installation build a unique index CONCURRENTLY first and attach it
-- with ADD CONSTRAINT … PRIMARY KEY USING INDEX.
ALTER TABLE department_daily_stats
  DROP CONSTRAINT department_daily_stats_pkey,
  ADD CONSTRAINT department_daily_stats_pkey PRIMARY KEY (department_id, date)
    INCLUDE (scheduled_minutes, labour_cost, head_count, shift_count, open_shifts, demand_slots, covered_slots, overtime_minutes);
