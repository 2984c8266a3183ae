-- Core reference data: departments (ltree hierarchy), contracts and employees.
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION rota_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE FUNCTION rota_is_timezone(tz text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz)
$$;

CREATE TABLE departments (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
  parent_id   bigint REFERENCES departments (id),
  -- Materialised path of ids ("1.7.42"), maintained by trigger: subtree queries are one GiST lookup.
  path        ltree NOT NULL,
  timezone    text NOT NULL DEFAULT 'UTC',
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (parent_id IS NULL OR parent_id <> id)
);

-- Keeps path in step with parent_id, rejects cycles and unknown time zones, re-roots subtrees.
CREATE FUNCTION rota_department_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  parent_path ltree;
BEGIN
  IF NOT rota_is_timezone(NEW.timezone) THEN
    RAISE EXCEPTION 'unknown time zone "%"', NEW.timezone USING ERRCODE = '23514', CONSTRAINT = 'departments_timezone_check';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id THEN
    NEW.path := OLD.path;
    RETURN NEW;
  END IF;
  IF NEW.parent_id IS NULL THEN
    NEW.path := text2ltree(NEW.id::text);
  ELSE
    SELECT path INTO parent_path FROM departments WHERE id = NEW.parent_id;
    IF parent_path IS NULL THEN
      RAISE EXCEPTION 'parent department % does not exist', NEW.parent_id USING ERRCODE = '23503', CONSTRAINT = 'departments_parent_id_fkey';
    END IF;
    IF TG_OP = 'UPDATE' AND parent_path <@ OLD.path THEN
      RAISE EXCEPTION 'department % cannot move below its own subtree', NEW.id USING ERRCODE = '23514', CONSTRAINT = 'departments_no_cycle';
    END IF;
    NEW.path := parent_path || text2ltree(NEW.id::text);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    UPDATE departments SET path = NEW.path || subpath(path, nlevel(OLD.path))
     WHERE path <@ OLD.path AND id <> NEW.id;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER departments_path BEFORE INSERT OR UPDATE OF parent_id, timezone ON departments
  FOR EACH ROW EXECUTE FUNCTION rota_department_path();
CREATE TRIGGER departments_updated_at BEFORE UPDATE ON departments
  FOR EACH ROW EXECUTE FUNCTION rota_set_updated_at();

CREATE INDEX departments_path_gist ON departments USING gist (path);
CREATE INDEX departments_parent_active ON departments (parent_id, active, id);
CREATE INDEX departments_active ON departments (active, id);

-- Work-rule defaults shared by many employees; per-employee overrides live in employee_rules.
CREATE TABLE contracts (
  id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                        text NOT NULL UNIQUE CHECK (btrim(name) <> ''),
  max_minutes_per_period      integer NOT NULL DEFAULT 10560 CHECK (max_minutes_per_period >= 0),
  min_minutes_per_period      integer NOT NULL DEFAULT 0 CHECK (min_minutes_per_period >= 0),
  max_minutes_per_week        integer CHECK (max_minutes_per_week >= 0),
  min_minutes_per_week        integer CHECK (min_minutes_per_week >= 0),
  max_consecutive_days        integer NOT NULL DEFAULT 6 CHECK (max_consecutive_days >= 1),
  min_consecutive_days        integer NOT NULL DEFAULT 1 CHECK (min_consecutive_days >= 1),
  min_consecutive_days_off    integer NOT NULL DEFAULT 1 CHECK (min_consecutive_days_off >= 1),
  max_weekends_per_period     integer NOT NULL DEFAULT 4 CHECK (max_weekends_per_period >= 0),
  min_rest_minutes            integer NOT NULL DEFAULT 660 CHECK (min_rest_minutes >= 0),
  created_at                  timestamptz NOT NULL DEFAULT now(),
  CHECK (min_minutes_per_period <= max_minutes_per_period),
  CHECK (min_minutes_per_week IS NULL OR max_minutes_per_week IS NULL OR min_minutes_per_week <= max_minutes_per_week),
  CHECK (min_consecutive_days <= max_consecutive_days)
);

CREATE TABLE employees (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email          text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
  first_name     text NOT NULL CHECK (btrim(first_name) <> '' AND length(first_name) <= 100),
  last_name      text NOT NULL CHECK (btrim(last_name) <> '' AND length(last_name) <= 100),
  role           text NOT NULL DEFAULT 'employee' CHECK (role IN ('admin', 'manager', 'employee')),
  department_id  bigint NOT NULL REFERENCES departments (id),
  contract_id    bigint REFERENCES contracts (id),
  hire_date      date NOT NULL DEFAULT current_date,
  hourly_rate    numeric(12,2) NOT NULL DEFAULT 0 CHECK (hourly_rate >= 0),
  skills         text[] NOT NULL DEFAULT '{}',
  active         boolean NOT NULL DEFAULT true,
  password_hash  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER employees_updated_at BEFORE UPDATE ON employees
  FOR EACH ROW EXECUTE FUNCTION rota_set_updated_at();

CREATE UNIQUE INDEX employees_email_lower ON employees (lower(email));
CREATE INDEX employees_department_active ON employees (department_id, active, last_name, id);
CREATE INDEX employees_role_active ON employees (role, active, id);
CREATE INDEX employees_created_at ON employees (created_at, id);
CREATE INDEX employees_last_name ON employees (last_name, id);
CREATE INDEX employees_hire_date ON employees (hire_date, id);
CREATE INDEX employees_skills ON employees USING gin (skills);
CREATE INDEX employees_search ON employees USING gin ((first_name || ' ' || last_name || ' ' || email) gin_trgm_ops);

-- Per-employee overrides of the contract's rules (NULL = use the contract's value).
CREATE TABLE employee_rules (
  employee_id                 bigint PRIMARY KEY REFERENCES employees (id) ON DELETE CASCADE,
  max_minutes_per_period      integer CHECK (max_minutes_per_period >= 0),
  min_minutes_per_period      integer CHECK (min_minutes_per_period >= 0),
  max_minutes_per_week        integer CHECK (max_minutes_per_week >= 0),
  min_minutes_per_week        integer CHECK (min_minutes_per_week >= 0),
  max_consecutive_days        integer CHECK (max_consecutive_days >= 1),
  min_consecutive_days        integer CHECK (min_consecutive_days >= 1),
  min_consecutive_days_off    integer CHECK (min_consecutive_days_off >= 1),
  max_weekends_per_period     integer CHECK (max_weekends_per_period >= 0),
  min_rest_minutes            integer CHECK (min_rest_minutes >= 0),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  CHECK (min_minutes_per_period IS NULL OR max_minutes_per_period IS NULL OR min_minutes_per_period <= max_minutes_per_period),
  CHECK (min_consecutive_days IS NULL OR max_consecutive_days IS NULL OR min_consecutive_days <= max_consecutive_days)
);

CREATE TABLE department_assignment_history (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  employee_id         bigint NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
  from_department_id  bigint REFERENCES departments (id),
  to_department_id    bigint NOT NULL REFERENCES departments (id),
  changed_by          bigint REFERENCES employees (id),
  changed_at          timestamptz NOT NULL DEFAULT now(),
  reason              text CHECK (length(reason) <= 500),
  CHECK (from_department_id IS DISTINCT FROM to_department_id)
);
CREATE INDEX dept_history_employee ON department_assignment_history (employee_id, changed_at DESC, id DESC);
CREATE INDEX dept_history_to_department ON department_assignment_history (to_department_id, changed_at DESC);
CREATE INDEX dept_history_from_department ON department_assignment_history (from_department_id, changed_at DESC);

CREATE TABLE api_keys (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name           text NOT NULL CHECK (btrim(name) <> ''),
  -- The first characters after "rk_", shown in listings and used to find the row; the rest is secret.
  prefix         text NOT NULL UNIQUE,
  key_hash       text NOT NULL,
  role           text NOT NULL CHECK (role IN ('admin', 'manager', 'employee')),
  department_id  bigint REFERENCES departments (id),
  scopes         text[] NOT NULL DEFAULT '{}',
  created_by     bigint REFERENCES employees (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz,
  revoked_at     timestamptz,
  CHECK (role = 'admin' OR department_id IS NOT NULL)
);
