-- Every Idempotency-Key a principal sent with a generation submission, and the run it was answered
-- with: the run it created, or the live run it was deduplicated onto (SPEC §5: the same key with
-- the same body returns the same run, with another body 409 — also after that run finished).
-- generation_runs.idempotency_key only knew the keys of submissions that created a run, so a
-- deduplicated key could later start a second run or be reused with another body.
-- request_hash is the hash of the body sent with this key (a deduplicated body may differ from the
-- run's own, e.g. in options).
CREATE TABLE generation_idempotency_keys (
  requested_by     text NOT NULL,
  idempotency_key  text NOT NULL,
  request_hash     text NOT NULL,
  run_id           bigint NOT NULL REFERENCES generation_runs (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (requested_by, idempotency_key)
);

INSERT INTO generation_idempotency_keys (requested_by, idempotency_key, request_hash, run_id, created_at)
  SELECT requested_by, idempotency_key, request_hash, id, created_at FROM generation_runs WHERE idempotency_key IS NOT NULL;

-- The primary key above settles races between submissions with the same key now.
DROP INDEX generation_runs_idempotency;
