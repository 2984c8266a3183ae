-- The best roster of a solve that could not write it (the worker shut down past its grace period,
-- or the write failed transiently), so the run's next attempt goes on from it with the time the
-- run has left instead of starting over (libs/generation/src/checkpoint.ts). Cleared when the run
-- ends.
ALTER TABLE generation_runs ADD COLUMN checkpoint jsonb;
