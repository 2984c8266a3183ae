-- The best roster of a solve that could not write it (the worker shut down past its grace period,
-- or the write failed transiently), so the run's next attempt goes on from it with the time the
-- run has left instead of starting over (libs/generation/src/checkpoint.ts). Cleared by the trigger
-- below when the run ends, whoever ends it (the worker, a cancel through the API, the reconciler).
ALTER TABLE generation_runs ADD COLUMN checkpoint jsonb;

CREATE FUNCTION rota_generation_runs_drop_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.checkpoint := NULL;
  RETURN NEW;
END $$;

CREATE TRIGGER generation_runs_drop_checkpoint BEFORE UPDATE OF status ON generation_runs
  FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled') AND NEW.checkpoint IS NOT NULL)
  EXECUTE FUNCTION rota_generation_runs_drop_checkpoint();
