-- Transactional outbox (relayed to Kafka) and the pre-aggregated analytics kept by the writers.

CREATE TABLE outbox (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id       uuid NOT NULL UNIQUE,
  type           text NOT NULL,
  -- Kafka message key: the department id, so per-department order is kept.
  partition_key  text NOT NULL,
  envelope       jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  published_at   timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake the relay on commit; NOTIFY is delivered only when the inserting transaction commits.
CREATE FUNCTION rota_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('rota_outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION rota_outbox_notify();

-- One row per department and day. Overtime is the part of each shift beyond 480 minutes.
CREATE TABLE department_daily_stats (
  department_id      bigint NOT NULL REFERENCES departments (id),
  date               date NOT NULL,
  scheduled_minutes  bigint NOT NULL DEFAULT 0,
  labour_cost        numeric(14,2) NOT NULL DEFAULT 0,
  head_count         integer NOT NULL DEFAULT 0,
  shift_count        integer NOT NULL DEFAULT 0,
  open_shifts        integer NOT NULL DEFAULT 0,
  demand_slots       integer NOT NULL DEFAULT 0,
  covered_slots      integer NOT NULL DEFAULT 0,
  overtime_minutes   bigint NOT NULL DEFAULT 0,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (department_id, date)
);
CREATE INDEX department_daily_stats_date ON department_daily_stats (date, department_id);

-- Recomputes the stats of one department over a date range from shifts (non-cancelled, assigned,
-- in non-archived schedules) and demand. Writers call it inside their own transaction.
CREATE FUNCTION rota_refresh_daily_stats(dept bigint, from_date date, to_date date) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM department_daily_stats WHERE department_id = dept AND date BETWEEN from_date AND to_date;
  WITH days AS (
    SELECT d::date AS date FROM generate_series(from_date, to_date, interval '1 day') d
  ), live AS (
    SELECT s.date, s.template_id, s.employee_id,
           (extract(epoch FROM s.ends_at - s.starts_at) / 60)::bigint AS minutes,
           t.pay_multiplier, e.hourly_rate
      FROM shifts s
      JOIN schedules sc ON sc.id = s.schedule_id AND sc.status <> 'archived'
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
