-- Hourly rates and pay multipliers over time, so a day's labour cost is priced at what applied on
-- that day however late the day is recomputed. Before, the daily stats priced every shift at the
-- employee's and template's CURRENT rate: a raise was applied from today on (the writer refreshed
-- today and later), but any later refresh of an earlier day — a corrected past shift, a template
-- deleted, a schedule published over it — re-priced that day at the new rate, rewriting history.
--
-- A change of rate records the rate in force before it (valid from -infinity, the first time) and
-- the new one valid from today in the department's time zone (services/api/src/routes/analytics/
-- reprice.ts). A day with no recorded rate at or before it uses the current one (no change yet).
-- The seed's bulk statement (libs/db/src/seed/seed.ts) prices through the same joins.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE employee_rate_history (
  employee_id  bigint NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
  valid_from   date NOT NULL,
  valid_until  date NOT NULL DEFAULT 'infinity',
  hourly_rate  numeric(12,2) NOT NULL CHECK (hourly_rate >= 0),
  PRIMARY KEY (employee_id, valid_from),
  CHECK (valid_from < valid_until),
  -- A shift joins at most one row: two rates in force on one day would cost it twice.
  EXCLUDE USING gist (employee_id WITH =, daterange(valid_from, valid_until) WITH &&)
);

CREATE TABLE template_pay_multiplier_history (
  template_id     bigint NOT NULL REFERENCES shift_templates (id) ON DELETE CASCADE,
  valid_from      date NOT NULL,
  valid_until     date NOT NULL DEFAULT 'infinity',
  pay_multiplier  numeric(6,3) NOT NULL CHECK (pay_multiplier > 0 AND pay_multiplier <= 10),
  PRIMARY KEY (template_id, valid_from),
  CHECK (valid_from < valid_until),
  EXCLUDE USING gist (template_id WITH =, daterange(valid_from, valid_until) WITH &&)
);

-- Each row holds for [valid_from, valid_until); an owner's rows do not overlap (the writer closes
-- the open row when it adds one), so a shift joins at most one row per table — a plain join, which
-- prices the seed's 786,000 shifts in about a second (a per-row lookup took 3–15 s).

CREATE OR REPLACE FUNCTION rota_refresh_daily_stats(dept bigint, from_date date, to_date date) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM department_daily_stats WHERE department_id = dept AND date BETWEEN from_date AND to_date;
  WITH days AS (
    SELECT d::date AS date FROM generate_series(from_date, to_date, interval '1 day') d
  ), plan AS (
    SELECT DISTINCT ON (d.date) d.date::date AS date, sc.id AS schedule_id
      FROM schedules sc
      CROSS JOIN LATERAL generate_series(greatest(sc.period_start, from_date), least(sc.period_end, to_date), interval '1 day') d
     WHERE sc.department_id = dept AND sc.status <> 'archived' AND sc.period_start <= to_date AND sc.period_end >= from_date
     ORDER BY d.date, (sc.status = 'published') DESC, sc.id DESC
  ), live AS (
    SELECT s.date, s.template_id, s.employee_id,
           (extract(epoch FROM s.ends_at - s.starts_at) / 60)::bigint AS minutes,
           coalesce(m.pay_multiplier, t.pay_multiplier) AS pay_multiplier, coalesce(r.hourly_rate, e.hourly_rate) AS hourly_rate
      FROM shifts s
      JOIN plan ON plan.date = s.date AND plan.schedule_id = s.schedule_id
      JOIN shift_templates t ON t.id = s.template_id
      LEFT JOIN employees e ON e.id = s.employee_id
      -- The rates in force on the shift's day, where a change was recorded; else the current ones.
      LEFT JOIN employee_rate_history r ON r.employee_id = s.employee_id AND daterange(r.valid_from, r.valid_until) @> s.date
      LEFT JOIN template_pay_multiplier_history m ON m.template_id = s.template_id AND daterange(m.valid_from, m.valid_until) @> s.date
     WHERE s.department_id = dept AND s.date BETWEEN from_date AND to_date AND s.status <> 'cancelled'
  ), per_day AS (
    SELECT date,
           coalesce(sum(minutes) FILTER (WHERE employee_id IS NOT NULL), 0) AS scheduled_minutes,
           coalesce(sum(round(minutes * hourly_rate * pay_multiplier / 60.0, 2)) FILTER (WHERE employee_id IS NOT NULL), 0) AS labour_cost,
           count(DISTINCT employee_id) AS head_count,
           count(*) FILTER (WHERE employee_id IS NOT NULL) AS shift_count,
           count(*) FILTER (WHERE employee_id IS NULL) AS open_shifts,
           coalesce(sum(greatest(minutes - 480, 0)) FILTER (WHERE employee_id IS NOT NULL), 0) AS overtime_minutes
      FROM live GROUP BY date
  ), cover AS (
    SELECT d.date, sum(d.required) AS demand_slots,
           sum(least(d.required, coalesce(a.assigned, 0))) AS covered_slots
      FROM demand d
      LEFT JOIN (SELECT date, template_id, count(*) FILTER (WHERE employee_id IS NOT NULL) AS assigned
                   FROM live GROUP BY date, template_id) a
        ON a.date = d.date AND a.template_id = d.template_id
     WHERE d.department_id = dept AND d.date BETWEEN from_date AND to_date
     GROUP BY d.date
  )
  INSERT INTO department_daily_stats (department_id, date, scheduled_minutes, labour_cost, head_count,
                                      shift_count, open_shifts, demand_slots, covered_slots, overtime_minutes)
  SELECT dept, days.date, coalesce(p.scheduled_minutes, 0), coalesce(p.labour_cost, 0),
         coalesce(p.head_count, 0), coalesce(p.shift_count, 0), coalesce(p.open_shifts, 0),
         coalesce(c.demand_slots, 0), coalesce(c.covered_slots, 0), coalesce(p.overtime_minutes, 0)
    FROM days
    LEFT JOIN per_day p ON p.date = days.date
    LEFT JOIN cover c ON c.date = days.date
   WHERE p.date IS NOT NULL OR c.date IS NOT NULL;
$$;
