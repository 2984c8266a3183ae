-- Department moves and inserts below a parent are serialised (one transaction-level advisory lock),
-- so concurrent ones cannot corrupt the hierarchy. Before, two transactions each read the paths
-- as they were before the other committed:
--   * moving X below B while B's ancestor P moved elsewhere left X with B's old path, so subtree
--     queries and department scoping missed X for good;
--   * moving A below B while B moved below A passed both cycle checks and made a cycle.
-- With the lock taken first, the parent's path is read by a statement that starts after the
-- other move committed (READ COMMITTED: each statement of a volatile function takes a new
-- snapshot), so it sees the moved path and the cycle. Moves are rare admin writes; a single lock
-- costs nothing measurable. (A REPEATABLE READ or SERIALIZABLE writer would still read its own
-- older snapshot: the API and the seed write departments in READ COMMITTED.)

CREATE OR REPLACE FUNCTION rota_department_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  parent_path ltree;
  old_path ltree;
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
    PERFORM pg_advisory_xact_lock(hashtext('rota_department_paths'));
    SELECT path INTO parent_path FROM departments WHERE id = NEW.parent_id;
    IF parent_path IS NULL THEN
      RAISE EXCEPTION 'parent department % does not exist', NEW.parent_id USING ERRCODE = '23503', CONSTRAINT = 'departments_parent_id_fkey';
    END IF;
    IF TG_OP = 'UPDATE' THEN
      -- OLD.path is this statement's view of the row; after waiting, read it as committed.
      SELECT path INTO old_path FROM departments WHERE id = NEW.id;
      IF parent_path <@ old_path THEN
        RAISE EXCEPTION 'department % cannot move below its own subtree', NEW.id USING ERRCODE = '23514', CONSTRAINT = 'departments_no_cycle';
      END IF;
    END IF;
    NEW.path := parent_path || text2ltree(NEW.id::text);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    old_path := coalesce(old_path, OLD.path);
    UPDATE departments SET path = NEW.path || subpath(path, nlevel(old_path))
     WHERE path <@ old_path AND id <> NEW.id;
  END IF;
  RETURN NEW;
END $$;
