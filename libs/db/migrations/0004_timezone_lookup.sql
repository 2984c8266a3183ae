-- rota_is_timezone() scanned pg_timezone_names, which reads the whole time-zone database on every
-- call: ~45 ms per department insert or time-zone change (22 s of the 20,000-employee seed's 500
-- departments). Known names now come from a table filled once here; names not in it (a zone added
-- by a later tzdata update, or an invalid name) still fall back to the exact, slow check.
CREATE TABLE rota_time_zones (name text PRIMARY KEY);
INSERT INTO rota_time_zones (name) SELECT DISTINCT name FROM pg_timezone_names;

CREATE OR REPLACE FUNCTION rota_is_timezone(tz text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM rota_time_zones WHERE name = tz)
      OR EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz)
$$;
