-- Scheduling inputs (templates, rules per type, availability, time off, requests, demand) and
-- outputs (schedules, generation runs, shifts partitioned by month).

CREATE TABLE shift_templates (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  department_id    bigint NOT NULL REFERENCES departments (id),
  code             text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,16}$'),
  name             text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 100),
  -- end_time <= start_time means the shift crosses midnight (end_time = start_time: 24 hours).
  start_time       time NOT NULL,
  end_time         time NOT NULL,
  duration_minutes integer GENERATED ALWAYS AS (
    CASE WHEN end_time > start_time
      THEN (extract(epoch FROM end_time - start_time) / 60)::integer
      ELSE (extract(epoch FROM end_time - start_time) / 60)::integer + 1440 END) STORED,
  required_skills  text[] NOT NULL DEFAULT '{}',
  pay_multiplier   numeric(6,3) NOT NULL DEFAULT 1 CHECK (pay_multiplier > 0 AND pay_multiplier <= 10),
  active           boolean NOT NULL DEFAULT true,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (department_id, code),
  UNIQUE (department_id, id)
);
CREATE TRIGGER shift_templates_updated_at BEFORE UPDATE ON shift_templates
  FOR EACH ROW EXECUTE FUNCTION rota_set_updated_at();

-- Template A may not be followed by template B on the next day (e.g. night -> early).
CREATE TABLE template_successions (
  department_id     bigint NOT NULL,
  from_template_id  bigint NOT NULL,
  to_template_id    bigint NOT NULL,
  PRIMARY KEY (from_template_id, to_template_id),
  FOREIGN KEY (department_id, from_template_id) REFERENCES shift_templates (department_id, id) ON DELETE CASCADE,
  FOREIGN KEY (department_id, to_template_id) REFERENCES shift_templates (department_id, id) ON DELETE CASCADE
);
CREATE INDEX template_successions_department ON template_successions (department_id);

-- Max shifts of one type per planning period (0 = never works that type).
CREATE TABLE employee_shift_limits (
  employee_id  bigint NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
  template_id  bigint NOT NULL REFERENCES shift_templates (id) ON DELETE CASCADE,
  max_shifts   integer NOT NULL CHECK (max_shifts >= 0),
  PRIMARY KEY (employee_id, template_id)
);

-- Recurring weekly windows in which the employee can work (none = always available).
CREATE TABLE availability (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  employee_id  bigint NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
  weekday      smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- ISO: 1 = Monday
  start_time   time NOT NULL,
  end_time     time NOT NULL,                                      -- <= start_time: past midnight
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX availability_employee ON availability (employee_id, weekday);

CREATE TABLE time_off (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  employee_id  bigint NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
  start_date   date NOT NULL,
  end_date     date NOT NULL,
  status       text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'approved', 'rejected')),
  reason       text CHECK (length(reason) <= 500),
  decided_by   bigint REFERENCES employees (id),
  decided_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (end_date >= start_date)
);
CREATE INDEX time_off_employee ON time_off (employee_id, start_date, end_date);

CREATE TABLE shift_requests (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  employee_id  bigint NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
  date         date NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('on', 'off')),
  template_id  bigint REFERENCES shift_templates (id) ON DELETE CASCADE,
  weight       integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shift_requests_employee ON shift_requests (employee_id, date);

CREATE TABLE demand (
  department_id  bigint NOT NULL,
  template_id    bigint NOT NULL,
  date           date NOT NULL,
  required       integer NOT NULL CHECK (required BETWEEN 0 AND 10000),
  weight_under   integer NOT NULL DEFAULT 100 CHECK (weight_under >= 0),
  weight_over    integer NOT NULL DEFAULT 1 CHECK (weight_over >= 0),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (department_id, date, template_id),
  FOREIGN KEY (department_id, template_id) REFERENCES shift_templates (department_id, id) ON DELETE CASCADE
);

CREATE TABLE generation_runs (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  department_id        bigint NOT NULL REFERENCES departments (id),
  period_start         date NOT NULL,
  period_end           date NOT NULL,
  options              jsonb NOT NULL DEFAULT '{}',
  status               text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  progress             real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  best_score           numeric,
  -- Idempotency-Key is scoped to the principal that sent it.
  requested_by         text NOT NULL,
  idempotency_key      text,
  request_hash         text NOT NULL,
  schedule_id          bigint,
  result               jsonb,
  error                text,
  attempts             integer NOT NULL DEFAULT 0,
  cancel_requested_at  timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  started_at           timestamptz,
  finished_at          timestamptz,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CHECK (period_end >= period_start)
);
CREATE TRIGGER generation_runs_updated_at BEFORE UPDATE ON generation_runs
  FOR EACH ROW EXECUTE FUNCTION rota_set_updated_at();
CREATE UNIQUE INDEX generation_runs_idempotency ON generation_runs (requested_by, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- At most one live run per department and period: a second submission is deduplicated onto it.
CREATE UNIQUE INDEX generation_runs_live ON generation_runs (department_id, period_start, period_end)
  WHERE status IN ('queued', 'running');
CREATE INDEX generation_runs_department ON generation_runs (department_id, created_at DESC, id DESC);

CREATE TABLE schedules (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  department_id      bigint NOT NULL REFERENCES departments (id),
  period_start       date NOT NULL,
  period_end         date NOT NULL,
  status             text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
  version            integer NOT NULL DEFAULT 1,
  score              jsonb,
  generation_run_id  bigint REFERENCES generation_runs (id),
  published_at       timestamptz,
  published_by       bigint REFERENCES employees (id),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (period_end >= period_start),
  CHECK (period_end - period_start < 366),
  CHECK ((status = 'published') = (published_at IS NOT NULL) OR status = 'archived')
);
CREATE TRIGGER schedules_updated_at BEFORE UPDATE ON schedules
  FOR EACH ROW EXECUTE FUNCTION rota_set_updated_at();
ALTER TABLE generation_runs ADD FOREIGN KEY (schedule_id) REFERENCES schedules (id);
CREATE INDEX schedules_period ON schedules (period_start, period_end);
CREATE INDEX schedules_department_status ON schedules (department_id, status, period_start DESC, id DESC);
CREATE INDEX schedules_published ON schedules (published_at DESC, id DESC) WHERE status = 'published';
-- A department has at most one live (draft or published) schedule per exact period.
CREATE UNIQUE INDEX schedules_live_period ON schedules (department_id, period_start, period_end)
  WHERE status <> 'archived';

-- Shifts: range-partitioned by month on date. Open shifts have employee_id NULL and open_slot
-- 1..n; assigned shifts have open_slot 0. The natural key makes upserts idempotent.
CREATE TABLE shifts (
  id             bigint GENERATED ALWAYS AS IDENTITY,
  schedule_id    bigint NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  department_id  bigint NOT NULL REFERENCES departments (id),
  employee_id    bigint REFERENCES employees (id),
  template_id    bigint NOT NULL REFERENCES shift_templates (id),
  date           date NOT NULL,
  open_slot      smallint NOT NULL DEFAULT 0 CHECK (open_slot >= 0),
  starts_at      timestamptz NOT NULL,
  ends_at        timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'confirmed', 'cancelled')),
  source         text NOT NULL DEFAULT 'generated' CHECK (source IN ('generated', 'manual')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, date),
  CONSTRAINT shifts_natural_key UNIQUE NULLS NOT DISTINCT (schedule_id, date, template_id, employee_id, open_slot),
  CHECK (ends_at > starts_at),
  CHECK ((employee_id IS NULL) = (open_slot > 0))
) PARTITION BY RANGE (date);
CREATE INDEX shifts_employee_date ON shifts (employee_id, date);
CREATE INDEX shifts_schedule_date ON shifts (schedule_id, date, id);
CREATE INDEX shifts_department_date ON shifts (department_id, date);

-- Creates the monthly partitions covering [from_date, to_date]; writers call it before inserting.
-- Serialised by an advisory lock so two writers never race to create the same month.
CREATE FUNCTION rota_ensure_shift_partitions(from_date date, to_date date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  m date := date_trunc('month', from_date)::date;
  created integer := 0;
  part text;
BEGIN
  IF to_date < from_date THEN
    RAISE EXCEPTION 'to_date % is before from_date %', to_date, from_date USING ERRCODE = '22023';
  END IF;
  WHILE m <= to_date LOOP
    part := format('shifts_%s', to_char(m, 'YYYY_MM'));
    IF to_regclass(part) IS NULL THEN
      PERFORM pg_advisory_xact_lock(hashtext('rota_shift_partitions'));
      IF to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF shifts FOR VALUES FROM (%L) TO (%L)',
                       part, m, (m + interval '1 month')::date);
        created := created + 1;
      END IF;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN created;
END $$;
