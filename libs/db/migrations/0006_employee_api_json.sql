-- The API's JSON of an employee (employeeSchema, services/api/src/routes/employees/shape.ts) kept
-- on the row, written by Postgres whenever the row or its department's name changes — so every
-- writer (API, seed, imports, psql) keeps it true without knowing about it.
--
-- Why: building it per read (row_to_json over 14 fields, two to_char, a join for the department's
-- name) was most of the Postgres CPU of an employee-list page — ≈ 1 ms for 100 rows, ≈ 10 µs a
-- row — and the list is the API's most-read resource. Stored, a page is the index (ids), 100 heap
-- fetches and a string_agg: single-client page time 2.0–2.6 → 0.9–1.0 ms (docs/performance.md).
-- The cost moves to writes: one lookup of the department's name per written row, and a rename
-- rewrites the documents of that department's employees (tens of rows).
--
-- Changing the API's representation of an employee means a migration that replaces
-- rota_employee_json and refreshes the column (UPDATE employees SET api_json = NULL).

ALTER TABLE employees ADD COLUMN api_json text;

-- JSON as JSON.stringify writes it (row_to_json: compact, same escaping); timestamps as
-- Date#toISOString writes them (UTC, milliseconds, Z) whatever the session's time zone.
CREATE FUNCTION rota_employee_json(e employees, department_name text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT row_to_json(j)::text FROM (SELECT e.id::text AS "id", e.email AS "email",
    e.first_name AS "firstName", e.last_name AS "lastName", e.role AS "role", e.department_id::text AS "departmentId",
    department_name AS "departmentName", e.contract_id::text AS "contractId", e.hire_date::text AS "hireDate",
    e.hourly_rate::text AS "hourlyRate", e.skills AS "skills", e.active AS "active",
    to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
    to_char(e.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt") j
$$;

-- Replaces employees_updated_at. api_json is derived and never taken from the statement: an UPDATE
-- that sets only api_json (any value) refreshes it and leaves updated_at alone; any other change
-- moves updated_at, as before.
CREATE FUNCTION rota_employee_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    NEW.api_json := OLD.api_json;
    IF NEW::text IS DISTINCT FROM OLD::text THEN NEW.updated_at := now(); END IF;
  END IF;
  NEW.api_json := rota_employee_json(NEW, (SELECT name FROM departments WHERE id = NEW.department_id));
  RETURN NEW;
END $$;

DROP TRIGGER employees_updated_at ON employees;
CREATE TRIGGER employees_write BEFORE INSERT OR UPDATE ON employees
  FOR EACH ROW EXECUTE FUNCTION rota_employee_write();

CREATE FUNCTION rota_department_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE employees SET api_json = NULL WHERE department_id = NEW.id;
  RETURN NULL;
END $$;

CREATE TRIGGER departments_renamed AFTER UPDATE OF name ON departments
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION rota_department_renamed();

UPDATE employees SET api_json = NULL;
ALTER TABLE employees ALTER COLUMN api_json SET NOT NULL;
