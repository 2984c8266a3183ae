#!/usr/bin/env bash
# `pnpm test`: the whole suite. Starts what the tests need and is missing (Kafka, Prometheus
# binaries; Postgres/Redis only when unreachable), then typecheck, lint and every test file.
# Infrastructure this script started is stopped again at the end (KEEP_INFRA=1 keeps it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
run_dir=.run
mkdir -p "$run_dir"
kafka_was_running=0
[[ -s "$run_dir/kafka.pid" ]] && kill -0 "$(cat "$run_dir/kafka.pid")" 2>/dev/null && kafka_was_running=1

cleanup() {
  if [[ "${KEEP_INFRA:-0}" != 1 && "$kafka_was_running" == 0 ]]; then
    bash infra/scripts/infra-down.sh >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

bash infra/scripts/infra-up.sh
echo "== typecheck"
pnpm run -s typecheck
echo "== lint"
pnpm run -s lint
if [[ $# -gt 0 ]]; then
  echo "== tests: $*"
  pnpm exec vitest run "$@"
  exit 0
fi
# Unit and integration tests run in parallel; the cross-service suites (real service processes,
# their own Kafka brokers, Prometheus) run after them one file at a time, so their timing is not
# at the mercy of everything else competing for two cores.
echo "== tests: unit and integration"
pnpm exec vitest run --exclude 'tests/e2e/**' --exclude 'tests/ops/**'
echo "== tests: end-to-end and operations"
pnpm exec vitest run tests/e2e tests/ops --maxWorkers=1
