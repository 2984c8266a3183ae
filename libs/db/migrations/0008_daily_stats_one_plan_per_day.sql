-- The daily stats count ONE schedule per department and day — the department's plan for that day:
-- the published schedule covering it, or, where none is published, the newest live draft covering
-- it. Before, every non-archived schedule counted, so a trial draft overlapping the published
-- roster (published 1–31 Jan, a draft for 15 Jan–14 Feb) doubled the hours, labour cost and
-- covered slots of 15–31 Jan in analytics and in the schedules' coverage summaries.
--
-- The seed's bulk statement (libs/db/src/seed/seed.ts REFRESH_ALL_DAILY_STATS) applies the same
-- rule; seed.test.ts proves the two give the same rows. Writers that change which schedule is the
-- plan of a day (a generation writing a draft, a publish) refresh that schedule's period.

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
           t.pay_multiplier, e.hourly_rate
      FROM shifts s
      JOIN plan ON plan.date = s.date AND plan.schedule_id = s.schedule_id
      JOIN shift_templates t ON t.id = s.template_id
      LEFT JOIN employees e ON e.id = s.employee_id
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

-- Recount every day that more than one live schedule covers (the only days whose figures change).
SELECT rota_refresh_daily_stats(a.department_id, greatest(a.period_start, b.period_start), least(a.period_end, b.period_end))
  FROM schedules a JOIN schedules b
    ON b.department_id = a.department_id AND b.id > a.id AND b.status <> 'archived'
   AND b.period_start <= a.period_end AND b.period_end >= a.period_start
 WHERE a.status <> 'archived';
